// The public vocabulary read off the machine's three regions (DESIGN §2, §4): `state` is the login's
// while one is in progress, else the authorization's; `substate` is the authorization's inner state
// (ready, renewing, exchangingAltinn); `activeStates` are the paths of every active leaf, for the viewer.
import type { AnyMachineSnapshot } from "xstate";
import type { TopState } from "./authorization-types.ts";

type RegionValue = string | Record<string, unknown>;

const head = (value: RegionValue | undefined): string | null =>
  value === undefined ? null : typeof value === "string" ? value : (Object.keys(value)[0] ?? null);

function regions(snapshot: AnyMachineSnapshot): { grant?: RegionValue; login?: RegionValue } {
  return typeof snapshot.value === "object" ? (snapshot.value as { grant?: RegionValue; login?: RegionValue }) : {};
}

/** The authorization's own state: idle, idportenAuthorized, altinnAuthorized or expired. */
export function grantState(snapshot: AnyMachineSnapshot): TopState {
  return (head(regions(snapshot).grant) ?? "idle") as TopState;
}

/** The login's state: inactive, awaitingCode or exchanging. */
export function loginState(snapshot: AnyMachineSnapshot): "inactive" | "awaitingCode" | "exchanging" {
  return (head(regions(snapshot).login) ?? "inactive") as "inactive" | "awaitingCode" | "exchanging";
}

/** The one state name the API, the viewer and the docs use. */
export function publicState(snapshot: AnyMachineSnapshot): TopState {
  const login = loginState(snapshot);
  return login === "inactive" ? grantState(snapshot) : login;
}

/** The authorization's inner state (ready, renewing, exchangingAltinn, deciding), when it has one. */
export function grantSubstate(snapshot: AnyMachineSnapshot): string | null {
  const grant = regions(snapshot).grant;
  if (grant === undefined || typeof grant === "string") return null;
  return head(Object.values(grant)[0] as RegionValue);
}

/** Dotted paths of the active leaf states, e.g. ["grant.altinnAuthorized.ready", "login.awaitingCode", "revocation.inactive"]. */
export function activeStates(snapshot: AnyMachineSnapshot): string[] {
  const out: string[] = [];
  const walk = (value: RegionValue, prefix: string) => {
    if (typeof value === "string") return void out.push(prefix ? `${prefix}.${value}` : value);
    for (const [key, inner] of Object.entries(value)) walk(inner as RegionValue, prefix ? `${prefix}.${key}` : key);
  };
  walk(snapshot.value as RegionValue, "");
  return out;
}

/** An outbound call is in flight (code exchange, refresh, Altinn exchange): callers wait for it to end. */
export function isBusy(snapshot: AnyMachineSnapshot): boolean {
  return loginState(snapshot) === "exchanging" || ["renewing", "exchangingAltinn", "deciding"].includes(grantSubstate(snapshot) ?? "");
}
