// Turns whatever an actor threw into the plain JSON the machine keeps in `lastError`.
// Provider errors keep `error` and `error_description` verbatim ("invalid_grant (correlation id: …)").
import type { FlowError } from "./authorization-types.ts";

const HINTS: Record<string, string> = {
  invalid_grant:
    "The authorization code or refresh token was refused: a code must be exchanged at once and only once. Get a new code (AUTHORIZE) and exchange it immediately.",
  access_denied: "The person cancelled the login or was refused at ID-porten. Send AUTHORIZE to try again.",
  login_timeout: "Nobody completed the ID-porten login in time. Send AUTHORIZE to start a new login.",
  altinn_unauthorized: "Altinn refused the ID-porten token (401): it is missing, expired or lacks pid/acr. Authorize again.",
  altinn_forbidden: "Altinn refused the ID-porten token (403): it has no scope Altinn accepts. Check IDPORTEN_SCOPE.",
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
    const hint = hintFor(candidate.error);
    return hint ? { error: candidate.error, error_description: description, hint } : { error: candidate.error, error_description: description };
  }
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return { error: "temporarily_unavailable", error_description: message, hint: HINTS.temporarily_unavailable };
}
