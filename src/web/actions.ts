// Which buttons a flow's card shows to the signed-in person: only those its state takes from them.
// Worked out from the public view (the machine's guards, as the view shows them); the server asks the
// machine again on every click, so a button shown a moment too long gets a refusal in words, never a
// wrong transition. test/web/actions.test.ts holds this against the machine itself.
import type { FlowView } from "../flows/authorization-service.ts";

export type PageAction = "authorize" | "exchangeCode" | "exchangeAltinn" | "renew" | "revoke";

export const ACTION_EVENTS: Record<PageAction, "AUTHORIZE" | "EXCHANGE_CODE" | "EXCHANGE_ALTINN" | "RENEW" | "REVOKE"> = {
  authorize: "AUTHORIZE",
  exchangeCode: "EXCHANGE_CODE",
  exchangeAltinn: "EXCHANGE_ALTINN",
  renew: "RENEW",
  revoke: "REVOKE",
};

export function pageActions(view: FlowView, user: string): PageAction[] {
  const v = view as FlowView & {
    authorizationState: string;
    substate: string | null;
    boundUser: string | null;
    pendingUser: string | null;
    codeReceived: boolean;
  };
  const login = v.state === "awaitingCode" || v.state === "exchanging" ? v.state : "inactive";
  const authorized = v.authorizationState === "idportenAuthorized" || v.authorizationState === "altinnAuthorized";
  const mine = v.boundUser === user;
  const actions: PageAction[] = [];
  if (login !== "exchanging") actions.push("authorize");
  if (login === "awaitingCode" && v.codeReceived && v.pendingUser === user) actions.push("exchangeCode");
  if (authorized && mine && v.substate === "ready") {
    if (v.authorizationState === "idportenAuthorized") actions.push("exchangeAltinn");
    actions.push("renew");
  }
  // REVOKE waits out a refresh or a code exchange in flight (its answer lands first).
  if (v.boundUser !== null && mine && v.substate !== "renewing" && login !== "exchanging") actions.push("revoke");
  return actions;
}
