// The two guards of DESIGN §2 as pure functions. The machine's named guards call them, and the
// engine calls them again to say *why* an event was refused (403, 422) in words a person can act on.
import type { AuthorizationContext, RedirectSetup } from "./authorization-types.ts";

export type RedirectCheck = { ok: true } | { ok: false; detail: string };

/** The redirect URL must be one of the registered redirect URIs and equal this server's callback URL, exactly. */
export function checkRedirectUrl(setup: RedirectSetup): RedirectCheck {
  if (!setup.registeredRedirectUris.includes(setup.redirectUri)) {
    return {
      ok: false,
      detail:
        `The redirect URL "${setup.redirectUri}" is not one of the integration point's registered redirect URIs ` +
        `(${setup.registeredRedirectUris.map((u) => `"${u}"`).join(", ")}). Register it at ID-porten's self-service ` +
        `or set IDPORTEN_REDIRECT_URI to a registered one; they are compared exactly.`,
    };
  }
  if (setup.redirectUri !== setup.callbackUrl) {
    return {
      ok: false,
      detail:
        `The redirect URL "${setup.redirectUri}" is not this server's callback URL "${setup.callbackUrl}": ` +
        `ID-porten would send the browser somewhere this server never sees. They must be equal, exactly.`,
    };
  }
  return { ok: true };
}

/**
 * User binding: the user whose authorization succeeded is the only one who may use or revoke it.
 * Before any authorization, the user who started the pending attempt holds it.
 */
export function holdsBinding(context: AuthorizationContext, user: string): boolean {
  if (context.boundUser !== null) return user === context.boundUser;
  if (context.attempt !== null) return user === context.attempt.user;
  return true;
}

export function bindingRefusal(context: AuthorizationContext, user: string): string {
  const holder = context.boundUser ?? context.attempt?.user;
  // Their own login is under way (it replaces the authorization once it succeeds): another AUTHORIZE would only start it over.
  if (context.boundUser !== null && context.attempt?.user === user) {
    return `This authorization belongs to user "${holder}", not "${user}". "${user}"'s own login is pending: once it is completed (at the authorizationUrl AUTHORIZE answered), the authorization is theirs.`;
  }
  return `This authorization belongs to user "${holder}", not "${user}". Only the user who authorized may use it; "${user}" must send AUTHORIZE and log in first.`;
}

/** The user who started the login is the one who may exchange its code ("Get access token"). */
export function startedAttempt(context: AuthorizationContext, user: string): boolean {
  return context.attempt !== null && context.attempt.user === user;
}

/** A national identity number is personal data: views show only the first six digits. */
export function maskPid(pid: string | null): string | null {
  return pid === null ? null : `${pid.slice(0, 6)}*****`;
}
