// POST /api/flows/:id/events: AUTHORIZE {user, uiLocale?, acr?}, or one of the others with {user}.
import { PUBLIC_EVENTS } from "../../machines/authorization-types.ts";
import { ACR_VALUES, UI_LOCALES, got, oneOf, userId, z } from "./common.ts";

const OTHER_EVENTS = PUBLIC_EVENTS.filter((type) => type !== "AUTHORIZE") as unknown as readonly ["EXCHANGE_CODE", "EXCHANGE_ALTINN", "RENEW", "REVOKE"];

export const AuthorizeEvent = z
  .object({
    type: z.literal("AUTHORIZE"),
    user: userId("user"),
    uiLocale: oneOf("uiLocale", UI_LOCALES)
      .nullish()
      .openapi({ description: "The language of the ID-porten login and the callback page (se is shown in bokmål for now)." }),
    acr: oneOf("acr", ACR_VALUES).nullish().openapi({ description: "The level of assurance asked of ID-porten." }),
  })
  .openapi("AuthorizeEvent", {
    description:
      "Starts a login (from any state but while a code is being exchanged) and answers with authorizationUrl, the link the person opens. It runs beside the current authorization, which keeps serving its user until the new login succeeds.",
  });

export const UserEvent = z
  .object({
    type: z.enum(OTHER_EVENTS).openapi({
      description:
        "EXCHANGE_CODE exchanges a kept code (EXCHANGE_MODE=manual); EXCHANGE_ALTINN gets the Altinn token; RENEW renews now; REVOKE ends the authorization and revokes its refresh token at ID-porten.",
    }),
    user: userId("user"),
  })
  .openapi("UserEvent", { description: "An event sent by (or for) the bound user." });

export const EventBody = z
  .discriminatedUnion("type", [AuthorizeEvent, UserEvent], {
    error: (iss) =>
      (iss as { code: string }).code === "invalid_type"
        ? "The request body must be a JSON object."
        : `"type" must be one of ${PUBLIC_EVENTS.join(", ")}; ${got((iss.input as { type?: unknown } | undefined)?.type)}.`,
  })
  .openapi("FlowEvent", { description: "An event for the flow's machine: `type` says which." });
