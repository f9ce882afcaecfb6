// The browser's SSO session. ID-porten keeps one for 30–120 minutes: a second authorization request
// in the same browser logs the previous person in silently, without a page — unless the client
// sends prompt=login. The simulator also asks again when the request cannot be answered by that
// session: a login_hint naming someone else (a tester wants that person), or a higher level than
// the session was logged in at (step-up, as ID-porten does for idporten-loa-high).

import { acrLevel, askedAcr } from "./acr.ts";
import { parseLoginHint, requestedLoginHint } from "./login-hint.ts";
import type { ProviderContext } from "./oidc-types.ts";

export type FreshLoginReason = "no_session" | "prompt_login" | "max_age" | "login_hint" | "acr";

/** Why this authorization request needs a login now; undefined when the SSO session answers it. */
export function freshLoginReason(ctx: ProviderContext): FreshLoginReason | undefined {
  const { oidc } = ctx;
  if (oidc.result?.login) return undefined; // this request's login has just happened
  const { session } = oidc;
  if (!session.accountId) return "no_session";
  if (oidc.prompts.has("login")) return "prompt_login";
  const maxAge = oidc.params?.max_age;
  if (maxAge !== undefined && session.past(Number(maxAge))) return "max_age";
  const hint = requestedLoginHint(ctx);
  if (hint !== undefined) {
    const parsed = parseLoginHint(hint);
    // A bad hint is shown on the login page with what is wrong with it.
    if (parsed.problem !== undefined || parsed.pid !== session.accountId || (parsed.acr && parsed.acr !== session.acr)) return "login_hint";
  }
  if (acrLevel(askedAcr(oidc.params?.acr_values as string | undefined)) > acrLevel(session.acr)) return "acr";
  return undefined;
}

/** The reasons oidc-provider's own login checks do not cover (no_session, prompt=login, max_age they do). */
export function simulatorOnlyReason(ctx: ProviderContext): boolean {
  const reason = freshLoginReason(ctx);
  return reason === "login_hint" || reason === "acr";
}
