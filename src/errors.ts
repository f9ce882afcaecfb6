// One error base class for the whole service (the openid-client / hono HTTPException pattern):
// a stable string `code`, the HTTP status it maps to, a `detail` a person can act on, and the
// original `cause`. Only the server's onError turns these into HTTP answers.

export type ErrorCode =
  | "bad_request"
  | "not_found"
  | "unauthorized"
  | "forbidden_user"
  | "event_not_accepted"
  | "guard_refused"
  | "not_authorized"
  | "authorization_expired"
  | "payload_too_large"
  | "upstream_unavailable"
  | "persist_failed"
  | "flow_damaged"
  | "conflict";

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
