// One error base class for the whole service (the openid-client / hono HTTPException pattern):
// a stable string `code`, the HTTP status it maps to, a `detail` a person can act on, and the
// original `cause`. Only the server's onError turns these into HTTP answers.

/**
 * Every kind of problem the API answers, with what it means: each is the problem document's `type`
 * (https://authflow.dev/problems/<code>) and is listed in the OpenAPI document.
 */
export const ERROR_CODES = {
  bad_request: "the request is not what the API takes (a field, a parameter or the path); the detail names it",
  invalid_json: "the request body is not valid JSON",
  unsupported_media_type: "the request body is not sent as JSON (Content-Type: application/json)",
  payload_too_large: "the request body is over 64 KiB",
  not_found: "no such flow, machine or route (or the simulated clock is off)",
  method_not_allowed: "the path exists, but not with this method (the Allow header and the detail name those it takes)",
  unknown_integration: "the flow names an integration this server does not have (GET /api/integrations lists them)",
  unauthorized: "no bearer token, or not API_TOKEN nor an API_CLIENTS client's token",
  forbidden_user: "the caller may not act for this user or legal entity, or the flow is bound to another user",
  event_not_accepted: "the flow's state does not take the event",
  guard_refused: "a guard refused the event (such as the redirect URL check)",
  not_authorized: "the flow holds no authorization yet",
  authorization_expired: "the authorization has ended; the user must authorize again",
  needs_attention: "no valid tokens can be had until a person acts (a refused client secret, a person Altinn refuses): the detail says what to do; retrying does not help",
  conflict: "the flow is being changed elsewhere, or no longer runs",
  flow_in_use: "the flow cannot be deleted now: it holds an authorization, a revocation ID-porten has not confirmed, or a call under way (the detail says which and what to do)",
  flow_damaged: "the flow's stored document was damaged and set aside",
  upstream_unavailable: "ID-porten or Altinn could not be reached, or the flow did not settle in time; try again",
  persist_failed: "the store refused the write (the detail says whether the change is kept and retried)",
  store_unavailable: "the database could not be reached (a failover, a restart, a dropped connection); try again shortly",
  not_ready: "the service is not ready (the failing checks are named)",
  internal_error: "something went wrong on the server's side; nothing was applied",
  http_error: "an HTTP error without a more specific kind",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AuthflowError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  /** Plain JSON the API may add to the problem document (never secrets). */
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, status: number, detail: string, options?: { cause?: unknown; extra?: Record<string, unknown> }) {
    super(detail, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "AuthflowError";
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.extra = options?.extra;
  }
}

export const badRequest = (detail: string) => new AuthflowError("bad_request", 400, detail);
export const notFound = (detail: string) => new AuthflowError("not_found", 404, detail);
