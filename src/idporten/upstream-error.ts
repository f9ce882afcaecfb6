// One place maps what the outbound clients throw (openid-client, fetch, timeouts) to the plain
// OAuth-shaped error the machine keeps in `lastError` (panva/openid-client's errorHandler pattern).
import * as oidc from "openid-client";
import { AuthflowError } from "../errors.ts";
import type { FlowError } from "../machines/authorization-types.ts";

/** An outbound call failed; `oauth` is what the flow records, verbatim where the peer said it. */
export class UpstreamError extends AuthflowError {
  readonly oauth: FlowError;
  constructor(oauth: FlowError, cause?: unknown) {
    super("upstream_unavailable", 502, oauth.error_description, { cause });
    this.name = "UpstreamError";
    this.oauth = oauth;
  }
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === "TimeoutError" || name === "AbortError";
}

export function mapIdportenError(error: unknown, what: string, timeoutMs: number): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof oidc.ResponseBodyError) {
    // ID-porten's own words pass through unchanged: "invalid_grant (correlation id: …)".
    return new UpstreamError({ error: error.error, error_description: error.error_description ?? error.error }, error);
  }
  if (error instanceof oidc.AuthorizationResponseError) {
    return new UpstreamError({ error: error.error, error_description: error.error_description ?? error.error }, error);
  }
  const cause = (error as { cause?: unknown })?.cause;
  if (isTimeout(error) || isTimeout(cause)) {
    return new UpstreamError({ error: "temporarily_unavailable", error_description: `ID-porten did not answer ${what} within ${timeoutMs / 1000} s.` }, error);
  }
  if (error instanceof oidc.ClientError) {
    // openid-client's message is generic ("invalid response encountered"); the reason is in its cause.
    const reason = (error.cause as { message?: string } | undefined)?.message;
    const detail = reason && reason !== error.message ? `${error.message}: ${reason}` : error.message;
    return new UpstreamError({ error: "invalid_response", error_description: `ID-porten's answer to ${what} was refused: ${detail}` }, error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamError({ error: "temporarily_unavailable", error_description: `Could not reach ID-porten for ${what}: ${message}` }, error);
}
