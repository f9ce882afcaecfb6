// login_hint, the simulator's shortcut for automated clients and testers: `<pid>` logs that person
// in without a page, at the level the client asked for (substantial when none);
// `<pid>:substantial` or `<pid>:high` logs in at that level whatever was asked — the way to get a
// LOWER acr than asked, so a client's acr check can be tested.

import { acrFromName } from "./acr.ts";
import type { ProviderContext } from "./oidc-types.ts";
import { syntheticPidProblem } from "./persons.ts";

export type LoginHint = { pid: string; acr: string | undefined; problem?: undefined } | { pid?: undefined; acr?: undefined; problem: string };

export function parseLoginHint(value: string): LoginHint {
  const [pid = "", level, ...rest] = value.trim().split(":");
  const problem = syntheticPidProblem(pid);
  if (problem) return { problem: `login_hint ${problem}` };
  if (rest.length > 0) return { problem: "login_hint must be <pid> or <pid>:substantial|high" };
  if (level === undefined) return { pid, acr: undefined };
  const acr = acrFromName(level);
  return acr ? { pid, acr } : { problem: `login_hint level must be substantial or high (got "${level}")` };
}

/**
 * The login_hint of this authorization request. A pushed request (PAR) carries its own parameters
 * and oidc-provider ignores the rest of the /authorize URL, but a tester appends login_hint to the
 * URL the browser opens (DESIGN §5): for a pushed request it is taken from that URL too.
 */
export function requestedLoginHint(ctx: ProviderContext): string | undefined {
  const own = ctx.oidc.params?.login_hint;
  if (typeof own === "string" && own) return own;
  if (!ctx.oidc.entities.PushedAuthorizationRequest) return undefined;
  const appended = ctx.query?.login_hint;
  return typeof appended === "string" && appended ? appended : undefined;
}
