// POST /api/flows/:id/token: the bound user asks for valid tokens.
import { Instant, userId, z } from "./common.ts";

export const TokenBody = z.object({ user: userId("user") }).openapi("TokenRequest", { description: "Who asks: only the bound user gets the tokens." });

export const TokenAnswerSchema = z
  .object({
    altinnToken: z.string().openapi({ description: "The Altinn token, for submission through the Altinn app." }),
    expiresAt: Instant.openapi({ description: "When the Altinn token expires (at least the margin away)." }),
    idportenAccessToken: z.string().openapi({ description: "The ID-porten access token, for Skatteetaten's validation API." }),
    idportenAccessTokenExpiresAt: Instant.openapi({ description: "When the ID-porten access token expires (at least the margin away)." }),
  })
  .openapi("Tokens", {
    description:
      "Both tokens valid for at least the margin (a minute, or a quarter of the token's lifetime when that is shorter), renewed together first when needed — one renewal however many callers ask.",
  });
