// Turns whatever an actor threw into the plain JSON the machine keeps in `lastError`.
// Provider errors keep `error` and `error_description` verbatim ("invalid_grant (correlation id: …)").
import type { FlowError } from "./authorization-types.ts";

const CLIENT_REFUSED =
  "The client secret (or key) was refused: renew it at Digdir's self-service and set IDPORTEN_CLIENT_SECRET (or IDPORTEN_CLIENT_KEY), then restart; the authorization itself is still good.";

const HINTS: Record<string, string> = {
  invalid_grant:
    "The authorization code or refresh token was refused: a code must be exchanged at once and only once. Get a new code (AUTHORIZE) and exchange it immediately.",
  access_denied: "The person cancelled the login or was refused at ID-porten. Send AUTHORIZE to try again.",
  login_timeout: "Nobody completed the ID-porten login in time. Send AUTHORIZE to start a new login.",
  // Needs a person, not a retry: the machine marks the flow for attention on these two.
  invalid_client: CLIENT_REFUSED,
  unauthorized_client: `${CLIENT_REFUSED} If the secret is new, check at Digdir's self-service that the client is allowed the authorization_code and refresh_token grants and the IDPORTEN_CLIENT_AUTH method.`,
  insufficient_acr:
    "The person logged in at a lower security level than was asked for, so the login was refused (and its grant revoked). Send AUTHORIZE again and log in with an eID at the level asked for (idporten-loa-high: BankID, Buypass, Commfides).",
  invalid_scope:
    "ID-porten refused a scope in IDPORTEN_SCOPE that the client is not registered for (the description above names it when ID-porten does). Skatteetaten grants the skatteetaten: scopes and Altinn the altinn: scopes to your client at Digdir's self-service; until then remove that scope from IDPORTEN_SCOPE.",
  altinn_unauthorized:
    "Altinn refused the ID-porten token (401). In TT02 the commonest cause is a test person Altinn does not know: use a test person registered in Altinn (Tenor). It is also the answer for an expired token or one without pid/acr; then authorize again.",
  altinn_forbidden: "Altinn refused the ID-porten token (403): it has no scope Altinn accepts. Check IDPORTEN_SCOPE (altinn:instances.read altinn:instances.write).",
  altinn_locked_out: "Altinn locked the person out (429). Wait before trying again.",
  temporarily_unavailable: "A dependency did not answer in time or failed. The flow kept its state; try again shortly.",
};

export function hintFor(error: string): string | undefined {
  return HINTS[error];
}

function isFlowErrorShape(value: unknown): value is { error: string; error_description?: unknown } {
  return typeof value === "object" && value !== null && typeof (value as { error?: unknown }).error === "string";
}

export function toFlowError(thrown: unknown): FlowError {
  const candidate = isFlowErrorShape(thrown) ? thrown : isFlowErrorShape((thrown as { oauth?: unknown })?.oauth) ? (thrown as { oauth: FlowError }).oauth : null;
  if (candidate) {
    const description = typeof candidate.error_description === "string" ? candidate.error_description : candidate.error;
    // A hint the thrower gave (e.g. naming a stored integration) wins over the general one.
    const given = (candidate as { hint?: unknown }).hint;
    const hint = typeof given === "string" && given ? given : hintFor(candidate.error);
    return hint ? { error: candidate.error, error_description: description, hint } : { error: candidate.error, error_description: description };
  }
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return { error: "temporarily_unavailable", error_description: message, hint: HINTS.temporarily_unavailable };
}
