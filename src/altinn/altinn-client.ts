// Altinn's token exchange: GET …/authentication/api/v1/exchange/id-porten with the ID-porten access
// token as bearer; 200 is the Altinn JWT as plain text with the same expiry as the token it came
// from. 401/403/429 get names and hints of their own (see machines/flow-error.ts).
import type { AltinnExchangeInput, AltinnToken } from "../machines/authorization-types.ts";
import { decodeJwtPayload } from "../idporten/idporten-client.ts";
import { UpstreamError } from "../idporten/upstream-error.ts";

export interface AltinnSettings {
  exchangeUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

const REFUSALS: Record<number, string> = {
  401: "altinn_unauthorized",
  403: "altinn_forbidden",
  429: "altinn_locked_out",
};

export function createAltinnClient(settings: AltinnSettings) {
  const doFetch = settings.fetch ?? fetch;
  return {
    async exchange(input: AltinnExchangeInput): Promise<AltinnToken> {
      let response: Response;
      try {
        response = await doFetch(settings.exchangeUrl, {
          headers: { authorization: `Bearer ${input.accessToken}`, accept: "text/plain, application/json" },
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
      } catch (error) {
        const timedOut = (error as Error)?.name === "TimeoutError";
        throw new UpstreamError(
          {
            error: "temporarily_unavailable",
            error_description: timedOut
              ? `Altinn did not answer the token exchange within ${settings.timeoutMs / 1000} s.`
              : `Could not reach Altinn for the token exchange: ${(error as Error)?.message ?? error}`,
          },
          error,
        );
      }
      const body = (await response.text().catch(() => "")).trim();
      if (response.status !== 200) {
        const error = REFUSALS[response.status] ?? "temporarily_unavailable";
        throw new UpstreamError({ error, error_description: `Altinn answered ${response.status} to the token exchange${body ? `: ${body.slice(0, 200)}` : ""}` });
      }
      // The body is the JWT itself (some deployments quote it as a JSON string).
      const token = body.startsWith('"') ? (JSON.parse(body) as string) : body;
      const exp = decodeJwtPayload(token)?.exp;
      if (typeof exp !== "number") {
        throw new UpstreamError({ error: "invalid_response", error_description: "Altinn answered 200 without a JWT." });
      }
      // Altinn's token lives as long as the access token it came from. Expiry is kept on the
      // engine's clock (which testers can move), not on the peer's wall clock.
      return { token, expiresAt: input.accessTokenExpiresAt };
    },
  };
}
