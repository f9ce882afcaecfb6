// RFC 9457 problem details: the only shape an error leaves this server in. Every problem names its
// own kind in `type` (https://authflow.dev/problems/<code>, the codes of ERROR_CODES), never about:blank.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AuthflowError, type ErrorCode } from "../errors.ts";
import { loggablePath } from "./loggable-path.ts";
import { escapeHtml, page } from "./html.ts";
import { storeUnreachable } from "../store/store-unreachable.ts";

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  410: "Gone",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  500: "Internal server error",
  502: "Bad gateway",
  503: "Service unavailable",
};

/** The kind of problem an HTTP status means when nothing more specific is known. */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  500: "internal_error",
  503: "upstream_unavailable",
};

export const PROBLEM_TYPE_BASE = "https://authflow.dev/problems/";

export function problemType(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code;
}

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}, code: ErrorCode = CODE_OF_STATUS[status] ?? "http_error"): Response {
  const body = { type: problemType(code), title: TITLES[status] ?? "Error", status, detail, ...extra };
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="authflow"';
  if (typeof extra.retryAfterSeconds === "number") headers["retry-after"] = String(extra.retryAfterSeconds);
  return new Response(JSON.stringify(body), { status, headers });
}

/** Hono's own HTTP errors (its validators, body parsing) in this server's words. */
function fromHttpException(error: HTTPException): Response {
  if (error.status === 415) return problem(415, 'Send the body as JSON with "Content-Type: application/json".', {}, "unsupported_media_type");
  if (error.status === 400 && /JSON/i.test(error.message)) return problem(400, "The request body is not valid JSON.", {}, "invalid_json");
  return problem(error.status, error.message || TITLES[error.status] || "Error");
}

/**
 * The one place errors become HTTP (hono's onError). Unknown errors are logged, never echoed. A
 * person's browser that asked for a page (a navigation or a form post: it accepts text/html,
 * outside /api) gets the same problem as a small page in words with a way back, not a JSON document.
 */
export function errorHandler(log: (line: string) => void, options: { base?: string } = {}) {
  const answer = (error: Error, c: Context): Response => {
    if (error instanceof AuthflowError) return problem(error.status, error.detail, error.extra, error.code);
    if (error instanceof HTTPException) return fromHttpException(error);
    const unreachable = storeUnreachable(error);
    if (unreachable !== null) {
      log(`store unreachable on ${c.req.method} ${loggablePath(c.req.url)}: ${unreachable} (${(error as Error).message})`);
      return problem(503, `The database cannot be reached just now (${unreachable}). Try again shortly; a change the service already holds is kept and written once it is back.`, { retryAfterSeconds: 2 }, "store_unavailable");
    }
    log(`error on ${c.req.method} ${loggablePath(c.req.url)}: ${error?.name ?? "Error"}: ${error?.message ?? error}`);
    return problem(500, "Something went wrong on our side; the request was not applied. The server log has the details.", {}, "internal_error");
  };
  return async (error: Error, c: Context): Promise<Response> => {
    const response = answer(error, c);
    if (!wantsPage(c)) return response;
    const { title, detail } = (await response.json()) as { title: string; detail: string };
    const base = options.base ?? "";
    const headers = new Headers(response.headers);
    headers.set("content-type", "text/html; charset=UTF-8");
    const body = `<main><h1 class="bad">${escapeHtml(title)}</h1>\n<p>${escapeHtml(detail)}</p>\n<p><a href="${escapeHtml(base)}/">Back to authflow</a></p></main>`;
    return new Response(page(title, body, "en", base), { status: response.status, headers });
  };
}

/** A browser's request for a page: it accepts HTML, and is not a call to the API. */
function wantsPage(c: Context): boolean {
  return (c.req.header("accept") ?? "").includes("text/html") && !new URL(c.req.url).pathname.startsWith("/api/");
}
