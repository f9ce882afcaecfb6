// The two addresses a person's browser visits during a login (DESIGN §4, issue 9):
// - the login link `/login/<id>` (the flow's `authorizationUrl`): binds this browser to the login
//   with an HttpOnly, SameSite=Lax cookie and sends it on to ID-porten;
// - the redirect URI (`/callback`): ID-porten sends the browser back here with `code`, `state` and
//   `iss` (or `error`); it is taken only with the cookie of the browser that opened the link, and the
//   page tells the truth about this login, in the language it asked for, naming the legal entity.
import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AuthorizationService, CallbackOutcome } from "../flows/authorization-service.ts";
import { escapeHtml, page } from "./html.ts";
import { GOOD_OUTCOMES, outcomeText, pageLocale } from "./login-messages.ts";
import { storeUnreachable } from "../store/store-unreachable.ts";

function outcomePage(c: Context, outcome: CallbackOutcome, base = "") {
  const { locale, fallbackNote } = pageLocale(outcome.uiLocale);
  const { title, message } = outcomeText(outcome.kind, locale, outcome.legalEntity, outcome.detail);
  const ok = GOOD_OUTCOMES.has(outcome.kind);
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer"); // the URL holds a one-time code
  const note = fallbackNote ? `\n<p lang="en"><small>${escapeHtml(fallbackNote)}</small></p>` : "";
  // The way back to the page the login may have started on (the authorization's card).
  const back = outcome.flowId ? `\n<p><a href="${escapeHtml(base)}/#flow-${escapeHtml(outcome.flowId)}">${escapeHtml(BACK_TO_PAGE[locale])}</a></p>` : "";
  return c.html(
    page(title, `<main><h1 class="${ok ? "ok" : "bad"}">${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>${note}${back}</main>`, locale, base),
    outcome.status as 200,
  );
}

const BACK_TO_PAGE = { nb: "Tilbake til autorisasjonene i authflow", nn: "Tilbake til autorisasjonane i authflow", en: "Back to the authorizations in authflow" } as const;

/**
 * A person's browser gets a page, in words, also when the store cannot answer (the database is out
 * of reach): "try again in a moment" — the code in the URL is not spent, a reload sends it again.
 * Anything else goes on to the error handler.
 */
async function orUnavailable<T>(outcome: () => Promise<T>): Promise<T | CallbackOutcome> {
  try {
    return await outcome();
  } catch (error) {
    if (storeUnreachable(error) !== null) return { status: 503, kind: "storeUnavailable" };
    throw error;
  }
}

/** The redirect URI. `cookiePath` is the path the login cookie is sent to (the callback's own). */
export function callbackRoutes(service: AuthorizationService, base = "") {
  const app = new Hono();
  app.get("/", async (c) => outcomePage(c, await orUnavailable(() => service.callback(new URL(c.req.url).searchParams, (name) => getCookie(c, name))), base));
  return app;
}

/** GET /login/:id — the login link. `login_hint` (simulator: log this synthetic person in) is passed on. */
export function loginLinkRoutes(service: AuthorizationService, options: { cookiePath: string; secure: boolean; base?: string }) {
  const app = new Hono();
  app.get("/:id", async (c) => {
    const id = c.req.param("id");
    const hint = c.req.query("login_hint");
    const outcome = /^[0-9a-f-]{36}\.[0-9a-f]{64}$/.test(id) ? await orUnavailable(() => service.openLogin(id, hint || undefined)) : ({ status: 404, kind: "linkUsed" } as CallbackOutcome);
    if (!("redirect" in outcome)) return outcomePage(c, outcome, options.base);
    setCookie(c, outcome.cookie.name, outcome.cookie.value, {
      httpOnly: true,
      sameSite: "Lax", // sent on ID-porten's top-level redirect back to us, not on cross-site requests
      secure: options.secure,
      path: options.cookiePath,
      maxAge: outcome.cookie.maxAgeSeconds,
    });
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    return c.redirect(outcome.redirect, 302);
  });
  return app;
}
