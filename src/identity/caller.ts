// Who is asking, and what they may do: an API client (its configured reach) or a person signed in
// to the page (who acts only as themself). Checked before a flow is touched, so a caller learns
// nothing it may not act on, and every event names the caller in the audit trail.
import { AuthflowError } from "../errors.ts";
import type { ApiClient, Reach } from "./api-clients.ts";

export interface Caller {
  /** What the audit trail names: the API client's name, or "page" for a signed-in person. */
  client: string;
  /** "client": a service with its configured reach; "person": signed in, acts only as themself. */
  kind: "client" | "person";
  legalEntities: Reach;
  users: Reach;
  /** A signed-in person's user id (the only user they act as); absent for an API client. */
  user?: string;
  /** May add and change integrations (where secrets and every flow's tokens are sent). */
  mayChangeIntegrations: boolean;
}

export const PAGE_CLIENT = "page";

export function clientCaller(client: ApiClient): Caller {
  return { client: client.name, kind: "client", legalEntities: client.legalEntities, users: client.users, mayChangeIntegrations: client.legalEntities === "*" && client.users === "*" };
}

export function personCaller(user: string, legalEntities: Reach = "*", integrationAdmin = false): Caller {
  return { client: PAGE_CLIENT, kind: "person", legalEntities, users: [user], user, mayChangeIntegrations: integrationAdmin };
}

const within = (reach: Reach, value: string) => reach === "*" || reach.includes(value);
const listed = (reach: Reach) => (reach === "*" ? "any" : reach.map((v) => `"${v}"`).join(", ") || "none");

/** The caller may act for this user, or a 403 that says whom it may act for. */
export function checkUser(caller: Caller, user: string): void {
  if (within(caller.users, user)) return;
  const who = caller.kind === "client" ? `API client "${caller.client}"` : "You";
  throw new AuthflowError("forbidden_user", 403, `${who} may act only for ${caller.kind === "client" ? `the user(s) ${listed(caller.users)}` : "yourself"}, not for "${user}".`, {
    extra: { client: caller.client },
  });
}

/** The caller may act for this legal entity, or a 403 naming it. */
export function checkLegalEntity(caller: Caller, legalEntity: string): void {
  if (within(caller.legalEntities, legalEntity)) return;
  const who = caller.kind === "client" ? `API client "${caller.client}"` : "You";
  throw new AuthflowError("forbidden_user", 403, `${who} may act only for the legal entities ${listed(caller.legalEntities)}, not for ${legalEntity}.`, {
    extra: { client: caller.client },
  });
}

/** Whether the caller may act for this user. */
export function mayActFor(caller: Caller, user: string): boolean {
  return within(caller.users, user);
}

/**
 * A flow view as this caller may see it: the login link is a capability (whoever opens it first
 * binds their browser to the login), so only a caller who may act for the person logging in gets it.
 */
export function viewFor<V extends Record<string, unknown>>(caller: Caller, view: V): V {
  if (view.authorizationUrl == null || caller.users === "*") return view;
  return typeof view.pendingUser === "string" && mayActFor(caller, view.pendingUser) ? view : { ...view, authorizationUrl: null };
}

/** Whether a flow for this legal entity is the caller's to see (lists leave the others out). */
export function mayUseLegalEntity(caller: Caller, legalEntity: string): boolean {
  return within(caller.legalEntities, legalEntity);
}
