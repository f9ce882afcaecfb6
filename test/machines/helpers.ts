// Test doubles for the machine's actors: the machine is pure, so its tests replace the I/O actors
// with machine.provide() (DESIGN §2). Real I/O is tested against the real simulator elsewhere.
import { createActor, fromPromise, type Snapshot } from "xstate";
import { authorizationMachine } from "../../src/machines/authorization-machine.ts";
import { createDeadlineActor } from "../../src/machines/deadline-actor.ts";
import type { AltinnToken, AttemptSettings, AuthorizationEvent, TokenSet } from "../../src/machines/authorization-types.ts";
import { SimulatedClock } from "../../src/clock.ts";

export const CALLBACK_URL = "https://erp.example/callback";
export const SETTINGS: AttemptSettings = { exchangeMode: "auto", loginTimeoutSeconds: 600, authorizationLifetimeSeconds: 31536000 };

export interface Script {
  exchange?: (n: number) => Promise<Partial<TokenSet>>;
  refresh?: (n: number) => Promise<Partial<TokenSet>>;
  altinn?: (n: number) => Promise<AltinnToken>;
  revoke?: (n: number) => Promise<unknown>;
}

export function harness(clock = new SimulatedClock(Date.UTC(2026, 0, 1)), script: Script = {}) {
  const calls = { exchange: 0, refresh: 0, altinn: 0, revoked: [] as string[] };
  const tokens = (extra: Partial<TokenSet> = {}): TokenSet => ({
    accessToken: `at-${calls.exchange + calls.refresh}`,
    refreshToken: `rt-${calls.exchange + calls.refresh}`,
    idToken: "id",
    scope: "openid skatteetaten:mvameldinginnsending",
    expiresIn: 7200,
    pid: "01817010055",
    acr: "idporten-loa-substantial",
    receivedAt: clock.now(),
    ...extra,
  });
  const machine = authorizationMachine.provide({
    actors: {
      deadline: createDeadlineActor(clock),
      exchangeCode: fromPromise(async () => tokens(await (script.exchange ?? (async () => ({})))(++calls.exchange))),
      refreshIdporten: fromPromise(async () => tokens(await (script.refresh ?? (async () => ({})))(++calls.refresh))),
      exchangeAltinn: fromPromise(async () => (script.altinn ?? (async (n) => ({ token: `altinn-${n}`, expiresAt: clock.now() + 7200_000 })))(++calls.altinn)),
      revokeToken: fromPromise(async ({ input }: { input: { refreshToken: string } }) => {
        calls.revoked.push(input.refreshToken);
        return (script.revoke ?? (async () => ({ revoked: true })))(calls.revoked.length);
      }),
    },
  });
  const input = { legalEntity: "999999999", integration: "default", createdAt: clock.now() };
  const start = (snapshot?: Snapshot<unknown>) => {
    const actor = createActor(machine, snapshot ? { snapshot: snapshot as never, input } : { input });
    actor.start();
    return actor;
  };
  const at = () => clock.now();
  type Authorize = Extract<AuthorizationEvent, { type: "AUTHORIZE" }>;
  const authorize = (user: string, overrides: Partial<Authorize> = {}, settings: Partial<AttemptSettings> = {}): Authorize => ({
      type: "AUTHORIZE",
      at: at(),
      user,
      request: { url: "https://op/authorize?x", state: `state-${user}-${at()}`, nonce: "n", codeVerifier: "v", redirectUri: CALLBACK_URL },
      redirect: { redirectUri: CALLBACK_URL, registeredRedirectUris: [CALLBACK_URL], callbackUrl: CALLBACK_URL },
      settings: { ...SETTINGS, ...settings },
      ...overrides,
    });
  return { machine, clock, calls, start, authorize, at };
}

/** Lets promise actors settle. */
export const flush = () => new Promise((r) => setTimeout(r, 0));

export const top = (value: unknown) => (typeof value === "string" ? value : Object.keys(value as object)[0]);

/**
 * The machine's three regions read as one public value, as the API shows it: the login's state while
 * one is in progress ("awaitingCode"), else the authorization's ("idle", { altinnAuthorized: "ready" }).
 */
export function view(snapshot: { value: unknown }): unknown {
  const value = snapshot.value as { grant: unknown; login: string };
  return value.login !== "inactive" ? value.login : value.grant;
}
