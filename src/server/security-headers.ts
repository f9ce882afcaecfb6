// Headers every answer carries, and the Content-Security-Policy of every HTML page: scripts and
// styles only from this server's own files (nothing inline), no framing, forms posted only here —
// and on to the ID-porten issuers, since "Get authorization code" redirects there (browsers hold a
// form's redirects to form-action too).
import type { MiddlewareHandler } from "hono";

export function securityHeaders(formTargets: () => Promise<string[]>): MiddlewareHandler {
  return async (c, next) => {
    await next();
    // A response with immutable headers (one passed through from fetch) is copied first.
    try {
      c.res.headers.set("x-content-type-options", "nosniff");
    } catch {
      c.res = new Response(c.res.body, c.res);
    }
    const headers = c.res.headers;
    if (!headers.has("x-content-type-options")) headers.set("x-content-type-options", "nosniff");
    if (!headers.has("referrer-policy")) headers.set("referrer-policy", "no-referrer");
    if (!(headers.get("content-type") ?? "").startsWith("text/html")) return;
    const targets = await formTargets().catch(() => []);
    headers.set(
      "content-security-policy",
      [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        `form-action 'self'${targets.map((t) => ` ${t}`).join("")}`,
      ].join("; "),
    );
    headers.set("x-frame-options", "DENY");
  };
}
