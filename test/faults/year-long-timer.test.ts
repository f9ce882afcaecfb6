// setTimeout holds at most 2^31-1 ms (24.8 days); a longer delay fires at once (DESIGN §2). The real
// clock arms long waits in chunks, and the machine's one-year authorization deadline is armed
// through it. Fake timers reproduce the runtime's overflow (a delay above the limit becomes 1 ms),
// so a plain setTimeout fails the same checks — shown at the end of each test.
import { setImmediate as realSetImmediate } from "node:timers";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise } from "xstate";
import { MAX_TIMEOUT_MS, realClock, type Clock } from "../../src/clock.ts";
import { authorizationMachine } from "../../src/machines/authorization-machine.ts";
import { createDeadlineActor } from "../../src/machines/deadline-actor.ts";
import { grantState } from "../../src/machines/authorization-state.ts";
import type {
  AltinnExchangeInput,
  AltinnToken,
  AuthorizationEvent,
  CodeExchangeInput,
  DeadlineInput,
  RefreshInput,
  RevocationInput,
  TokenSet,
} from "../../src/machines/authorization-types.ts";

const DAY = 86_400_000;
const YEAR = 365 * DAY;

// Only timers and Date are faked: promises and setImmediate stay real, so actors can settle.
beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: Date.UTC(2026, 0, 1) }));
afterEach(() => void vi.useRealTimers());

/** What a clock must do with a one-year wait: nothing until the year is over, then fire once. */
function expectFiresOnceAtTheYear(clock: Clock) {
  const fn = vi.fn();
  clock.setTimer(fn, YEAR);
  vi.advanceTimersByTime(1);
  expect(fn, "after 1 ms").not.toHaveBeenCalled();
  vi.advanceTimersByTime(MAX_TIMEOUT_MS); // just past setTimeout's limit, 24.8 days
  expect(fn, "after 24.8 days").not.toHaveBeenCalled();
  vi.advanceTimersByTime(YEAR - MAX_TIMEOUT_MS - 2); // 1 ms before the year
  expect(fn, "1 ms before the year").not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(fn, "at the year").toHaveBeenCalledTimes(1);
  vi.advanceTimersByTime(2 * YEAR);
  expect(fn, "two years later").toHaveBeenCalledTimes(1);
}

/** A clock that arms the whole wait on one setTimeout: what the chunking protects against. */
const plainClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

it("realClock.setTimer: a one-year wait fires exactly once, at the year, never at setTimeout's 24.8-day limit", () => {
  expectFiresOnceAtTheYear(realClock);
  // The same check fails for one plain setTimeout of a year (it fires after 1 ms).
  expect(() => expectFiresOnceAtTheYear(plainClock)).toThrow(/after 1 ms/);
});

it("realClock.setTimer: a year-long wait cancelled after 30 days (past a chunk boundary) never fires", () => {
  const fn = vi.fn();
  const cancel = realClock.setTimer(fn, YEAR);
  vi.advanceTimersByTime(30 * DAY);
  cancel();
  vi.advanceTimersByTime(2 * YEAR);
  expect(fn).not.toHaveBeenCalled();
});

// The authorization machine with the real clock's deadline actor, logged in through fake I/O.
function authorizedMachine(deadline: ReturnType<typeof createDeadlineActor>) {
  const tokens = (): TokenSet => ({
    accessToken: "at",
    refreshToken: "rt",
    idToken: "id",
    scope: "openid altinn:instances.read",
    expiresIn: 7200,
    pid: "01817010055",
    acr: "idporten-loa-substantial",
    receivedAt: Date.now(),
  });
  const machine = authorizationMachine.provide({
    actors: {
      deadline,
      exchangeCode: fromPromise<TokenSet, CodeExchangeInput>(async () => tokens()),
      refreshIdporten: fromPromise<TokenSet, RefreshInput>(async () => tokens()),
      exchangeAltinn: fromPromise<AltinnToken, AltinnExchangeInput>(async () => ({ token: "altinn", expiresAt: Date.now() + 7200_000 })),
      revokeToken: fromPromise<unknown, RevocationInput>(async () => ({ revoked: true })),
    },
  });
  const actor = createActor(machine, { input: { legalEntity: "999999999", integration: "default", createdAt: Date.now() } });
  actor.start();
  const callback = "https://erp.example/callback";
  const send = (event: AuthorizationEvent) => actor.send(event);
  send({
    type: "AUTHORIZE",
    at: Date.now(),
    user: "alice",
    request: { url: "https://op/authorize?x", state: "s1", nonce: "n", codeVerifier: "v", redirectUri: callback },
    redirect: { redirectUri: callback, registeredRedirectUris: [callback], callbackUrl: callback },
    // One year, as Dynamics registers it; no keep-alive, so the deadline is the only long timer.
    settings: { exchangeMode: "auto", loginTimeoutSeconds: 600, authorizationLifetimeSeconds: 31_536_000 },
  } as AuthorizationEvent);
  send({ type: "CALLBACK", at: Date.now(), state: "s1", code: "c1", callbackUrl: callback, browserBinding: null });
  const grant = () => grantState(actor.getSnapshot());
  return { actor, grant };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => realSetImmediate(r));
};

/** The deadline of a one-year authorization: pending after 25 days, fired at the year and not before. */
async function expectAuthorizationLastsAYear(deadline: ReturnType<typeof createDeadlineActor>) {
  const { actor, grant } = authorizedMachine(deadline);
  await settle();
  expect(grant(), "after the login").toBe("altinnAuthorized");
  vi.advanceTimersByTime(25 * DAY);
  await settle();
  expect(grant(), "after 25 days").toBe("altinnAuthorized");
  vi.advanceTimersByTime(YEAR - 25 * DAY - 1);
  await settle();
  expect(grant(), "1 ms before the year").toBe("altinnAuthorized");
  vi.advanceTimersByTime(1);
  await settle();
  expect(grant(), "at the year").toBe("expired");
  expect(actor.getSnapshot().context.lastError?.error_description).toMatch(/authorization lifetime is over/);
  actor.stop();
}

it("the machine's one-year authorization deadline, armed through createDeadlineActor(realClock): pending after 25 days, fires at the year", async () => {
  await expectAuthorizationLastsAYear(createDeadlineActor(realClock));
  // The same machine with a deadline on one plain setTimeout expires at once.
  const plainDeadline = fromCallback<AuthorizationEvent, DeadlineInput>(({ input, sendBack }) => {
    if (input.at === null) return;
    const handle = setTimeout(() => sendBack({ type: input.event, at: Date.now() } as AuthorizationEvent), input.at - Date.now());
    return () => clearTimeout(handle);
  });
  await expect(expectAuthorizationLastsAYear(plainDeadline as unknown as ReturnType<typeof createDeadlineActor>)).rejects.toThrow(/after 25 days/);
});
