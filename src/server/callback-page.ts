// The redirect URI: ID-porten sends the browser here with `code`, `state` and `iss` (or `error`).
// It answers a small page: "Success", or what went wrong, in words.
import { Hono } from "hono";
import type { AuthorizationService } from "../flows/authorization-service.ts";
import { escapeHtml, page } from "./html.ts";

export function callbackRoutes(service: AuthorizationService) {
  const app = new Hono();
  app.get("/", async (c) => {
    const outcome = await service.callback(new URL(c.req.url).searchParams);
    const ok = ["Success", "Logged in", "Code received"].includes(outcome.title);
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer"); // the URL holds a one-time code
    return c.html(
      page(
        outcome.title,
        `<main><h1 class="${ok ? "ok" : "bad"}">${escapeHtml(outcome.title)}</h1>
<p>${escapeHtml(outcome.message)}</p></main>`,
      ),
      outcome.status as 200 | 202 | 400,
    );
  });
  return app;
}
