// RFC 9457 problem details: the only shape an error leaves this server in.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AuthflowError } from "../errors.ts";

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  410: "Gone",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  500: "Internal server error",
  502: "Bad gateway",
  503: "Service unavailable",
};

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}, code = "about:blank"): Response {
  const body = {
    type: code === "about:blank" ? code : `https://authflow.dev/problems/${code}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...extra,
  };
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="authflow"';
  if (typeof extra.retryAfterSeconds === "number") headers["retry-after"] = String(extra.retryAfterSeconds);
  return new Response(JSON.stringify(body), { status, headers });
}

/** The one place errors become HTTP (hono's onError). Unknown errors are logged, never echoed. */
export function errorHandler(log: (line: string) => void) {
  return (error: Error, c: Context): Response => {
    if (error instanceof AuthflowError) return problem(error.status, error.detail, error.extra, error.code);
    if (error instanceof HTTPException) return problem(error.status, error.message || TITLES[error.status] || "Error");
    log(`error on ${c.req.method} ${new URL(c.req.url).pathname}: ${error?.name ?? "Error"}: ${error?.message ?? error}`);
    return problem(500, "Something went wrong on our side; the request was not applied. The server log has the details.");
  };
}
