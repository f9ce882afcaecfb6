// One place maps what the outbound clients throw (openid-client, fetch, timeouts) to the plain
// OAuth-shaped error the machine keeps in `lastError` (panva/openid-client's errorHandler pattern),
// and says whether an answer came at all (`lost`), which is what the engine's retry needs to know.
import * as oidc from "openid-client";
import { AuthflowError } from "../errors.ts";
import type { FlowError } from "../machines/authorization-types.ts";

/** An outbound call failed; `oauth` is what the flow records, verbatim where the peer said it. */
export class UpstreamError extends AuthflowError {
  readonly oauth: FlowError;
  /**
   * No answer came (timeout, connection refused or reset, DNS, a gateway that lost the upstream):
   * the peer may or may not have acted on the request. For a single-use credential (a code, a
   * one-time refresh token) that is the difference between "refused" and "maybe spent", so the
   * engine retries a lost call at once instead of treating it as an answer.
   */
  readonly lost: boolean;
  constructor(oauth: FlowError, cause?: unknown, options: { lost?: boolean } = {}) {
    super("upstream_unavailable", 502, oauth.error_description, { cause });
    this.name = "UpstreamError";
    this.oauth = oauth;
    this.lost = options.lost ?? false;
  }
}

/** Whether anything thrown by an outbound client is a lost call (see UpstreamError.lost). */
export function isLost(thrown: unknown): boolean {
  return thrown instanceof UpstreamError ? thrown.lost : (thrown as { lost?: unknown })?.lost === true;
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  const code = (error as { code?: string })?.code;
  return name === "TimeoutError" || name === "AbortError" || code === "OAUTH_TIMEOUT" || code === "OAUTH_ABORT";
}

/**
 * fetch rejects with a TypeError when no HTTP answer came: Node's undici says "fetch failed"
 * (cause ECONNREFUSED, ECONNRESET, ENOTFOUND, UND_ERR_SOCKET …) or "terminated" when the socket
 * closed mid-body; Deno says "error sending request …". openid-client passes TypeErrors through
 * unchanged, but its own argument checks are TypeErrors too — those carry an ERR_INVALID_ARG_* code.
 */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  const code = (error as { code?: unknown }).code;
  return !(typeof code === "string" && code.startsWith("ERR_INVALID_ARG"));
}

/** A gateway in front of the provider answering that it lost the upstream: no answer from the provider itself. */
export const GATEWAY_LOST = new Set([502, 504]);

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : cause?.message && cause.message !== message ? `${message}: ${cause.message}` : message;
}

/** The first OAuth error a 401 challenge carries (`WWW-Authenticate: Basic error="invalid_client"`), or one from its JSON body. */
async function challengeError(error: oidc.WWWAuthenticateChallengeError): Promise<FlowError | null> {
  for (const challenge of error.cause) {
    const code = challenge.parameters.error;
    if (code) return { error: code, error_description: challenge.parameters.error_description ?? code };
  }
  try {
    const body = (await error.response.json()) as { error?: unknown; error_description?: unknown };
    if (typeof body?.error === "string") return { error: body.error, error_description: typeof body.error_description === "string" ? body.error_description : body.error };
  } catch {
    // not JSON: fall through to the status
  }
  return null;
}

export async function mapIdportenError(error: unknown, what: string, timeoutMs: number): Promise<UpstreamError> {
  if (error instanceof UpstreamError) return error;
  if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError) {
    // ID-porten's own words pass through unchanged: "invalid_grant (correlation id: …)", and
    // invalid_client / unauthorized_client keep their codes (the machine asks a person to fix the secret).
    return new UpstreamError({ error: error.error, error_description: error.error_description ?? error.error }, error);
  }
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    const said = await challengeError(error);
    return new UpstreamError(said ?? { error: error.status === 401 ? "invalid_client" : "invalid_response", error_description: `ID-porten answered ${error.status} with a challenge to ${what}.` }, error);
  }
  const cause = (error as { cause?: unknown })?.cause;
  if (isTimeout(error) || isTimeout(cause)) {
    return new UpstreamError({ error: "temporarily_unavailable", error_description: `ID-porten did not answer ${what} within ${timeoutMs / 1000} s.` }, error, { lost: true });
  }
  if (isNetworkFailure(error)) {
    return new UpstreamError({ error: "temporarily_unavailable", error_description: `Could not reach ID-porten for ${what}: ${networkReason(error)}` }, error, { lost: true });
  }
  if (error instanceof oidc.ClientError) {
    // An HTTP answer that is not OAuth-shaped (a 5xx page from a proxy): openid-client keeps the Response as cause.
    const status = cause instanceof Response ? cause.status : undefined;
    if (status !== undefined && status >= 300) {
      const lost = GATEWAY_LOST.has(status);
      return new UpstreamError({ error: "temporarily_unavailable", error_description: `ID-porten answered ${status} to ${what}${lost ? " (a gateway lost the answer; the request may have been acted on)" : ""}.` }, error, { lost });
    }
    // openid-client's message is generic ("invalid response encountered"); the reason is in its cause.
    const reason = (cause as { message?: string } | undefined)?.message;
    const detail = reason && reason !== error.message ? `${error.message}: ${reason}` : error.message;
    return new UpstreamError({ error: "invalid_response", error_description: `ID-porten's answer to ${what} was refused: ${detail}` }, error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamError({ error: "temporarily_unavailable", error_description: `Could not reach ID-porten for ${what}: ${message}` }, error);
}
