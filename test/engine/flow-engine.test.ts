// The engine against a real lowdb directory on disk. The ID-porten and Altinn clients are replaced
// by in-process doubles here: these tests are about persistence, ordering and restore; the real
// peers are exercised in test/server.
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/clock.ts";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { FlowEngine, type FlowEngineOptions } from "../../src/engine/flow-engine.ts";
import { MachineRegistry } from "../../src/engine/machine-registry.ts";
import { authorizationFlowMachine } from "../../src/flows/authorization-flow.ts";
import { LowdbFlowStore } from "../../src/store/lowdb-store.ts";
import { StaleWriteError, type FlowStore } from "../../src/store/flow-store.ts";
import { AuthflowError } from "../../src/errors.ts";
import { CALLBACK_URL, SETTINGS } from "../machines/helpers.ts";
import type { AuthorizationContext } from "../../src/machines/authorization-types.ts";
import type { AnyMachineSnapshot } from "xstate";

const SECRET_ACCESS = "ACCESS-TOKEN-SECRET-VALUE";
const SECRET_REFRESH = "REFRESH-TOKEN-SECRET-VALUE";
const SECRET_ALTINN = "ALTINN-TOKEN-SECRET-VALUE";
const SECRET_CODE = "ONE-TIME-CODE-SECRET-VALUE";

let dir: string;
const key = generateKeyBytes();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "authflow-engine-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function boot(clock: SimulatedClock, store?: FlowStore, extra: Partial<FlowEngineOptions> = {}) {
  const s = store ?? (await LowdbFlowStore.open(dir));
  const tokenSet = (accessToken: string, refreshToken: string) => ({
    accessToken,
    refreshToken,
    idToken: null,
    scope: "openid skatteetaten:mvameldinginnsending",
    expiresIn: 7200,
    pid: "01817010055",
    acr: "idporten-loa-substantial",
    receivedAt: clock.now(),
  });
  const fakeIdporten = {
    prepareAuthorization: async () => ({ url: "https://op/authorize", state: "s", nonce: "n", codeVerifier: "v", redirectUri: CALLBACK_URL }),
    // A code other than SECRET_CODE gets a refresh token of its own: the order refreshes leave in names the flows.
    exchangeCode: async (input: { callbackParams: Record<string, string> }) => {
      const code = input.callbackParams.code;
      return tokenSet(SECRET_ACCESS, code === undefined || code === SECRET_CODE ? SECRET_REFRESH : `${SECRET_REFRESH}-of-${code}`);
    },
    refresh: async (token: string) => {
      refreshes.tokens.push(token);
      refreshes.count++;
      refreshes.maxOut = Math.max(refreshes.maxOut, ++refreshes.out);
      try {
        await refreshes.gate;
        const failure = refreshes.failures.shift();
        if (failure) throw failure;
        return tokenSet(`${SECRET_ACCESS}-${refreshes.count}`, `${SECRET_REFRESH}-${refreshes.count}`);
      } finally {
        refreshes.out--;
      }
    },
    revoke: async () => {
      revocations.count++;
      await revocations.gate;
      return { revoked: true };
    },
  };
  const altinn = { exchange: async () => ({ token: SECRET_ALTINN, expiresAt: clock.now() + 7200_000 }) };
  // As in service.ts: outbound calls go through the engine's runCall.
  let engine: FlowEngine | undefined;
  const runCall = <T,>(system: unknown, callId: string, input: unknown, call: () => Promise<T>) => (engine ? engine.runCall(system, callId, input, call) : call());
  const registry = new MachineRegistry().register(authorizationFlowMachine({ clock, idporten: fakeIdporten, altinn, runCall }));
  engine = new FlowEngine({
    store: s,
    box: await createSecretBox(key),
    clock,
    registry,
    heldWriteWaitMs: 100,
    writeRetryMs: { first: 10, max: 20 },
    log: (line) => logLines.push(line),
    ...extra,
  });
  await engine.tick();
  return { engine, store: s };
}

/** Revocations asked for; `gate` holds their answer back (a process that dies before it). */
const revocations: { count: number; gate: Promise<void> } = { count: 0, gate: Promise.resolve() };
/** Refreshes made by the current boot (`tokens`: the refresh tokens sent); `gate` holds their answer back until a test lets it go; `failures` are thrown by the next ones. */
const refreshes: { count: number; gate: Promise<void>; tokens: string[]; failures: unknown[]; out: number; maxOut: number } = { count: 0, gate: Promise.resolve(), tokens: [], failures: [], out: 0, maxOut: 0 };
const logLines: string[] = [];
beforeEach(() => {
  refreshes.count = 0;
  refreshes.gate = Promise.resolve();
  refreshes.tokens.length = 0;
  refreshes.failures.length = 0;
  refreshes.out = 0;
  refreshes.maxOut = 0;
  revocations.count = 0;
  revocations.gate = Promise.resolve();
  logLines.length = 0;
});

const authorize = (user: string, state = `flow.${user}`) => ({
  type: "AUTHORIZE",
  user,
  request: { url: "https://op/authorize", state, nonce: "n", codeVerifier: "v", redirectUri: CALLBACK_URL },
  redirect: { redirectUri: CALLBACK_URL, registeredRedirectUris: [CALLBACK_URL], callbackUrl: CALLBACK_URL },
  settings: SETTINGS,
});

async function authorizedFlow(engine: FlowEngine, code = SECRET_CODE) {
  const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
  await engine.send(flow.id, authorize("alice"));
  await engine.send(flow.id, { type: "CALLBACK", state: "flow.alice", callbackUrl: CALLBACK_URL, code });
  await engine.waitFor(flow.id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 2000);
  return flow.id;
}

/** Once both engines are quiet: the refresh was made once, with the one-time token, and its answer is the flow's; then both stop. */
async function renewedOnce(a: FlowEngine, b: FlowEngine, id: string) {
  await a.settled();
  await b.settled();
  expect(refreshes.tokens, "the one-time refresh token is sent once").toEqual([SECRET_REFRESH]);
  expect((await a.current(id)).context.authorization.idporten.refreshToken).toBe(`${SECRET_REFRESH}-1`);
  await a.stop();
  await b.stop();
}

/** The real store with some of its methods replaced (the others are the store's own). */
function storeWith(store: FlowStore, overrides: Partial<FlowStore>): FlowStore {
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof FlowStore];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A store whose saves each wait `delayMs()` first (0: none). */
const slowSaves = (store: FlowStore, delayMs: () => number) =>
  storeWith(store, {
    save: async (...args) => {
      const ms = delayMs();
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      return store.save(...args);
    },
  });

/** The real store, whose next read once armed (`late(hook)`) is made at once and answered after `hook` has run. */
function readAnsweredLate(store: FlowStore) {
  let before: (() => Promise<void>) | undefined;
  const late = storeWith(store, {
    get: async (id) => {
      const read = await store.get(id);
      const hook = before;
      before = undefined;
      if (hook) await hook();
      return read;
    },
  });
  return { store: late, late: (hook: () => Promise<void>) => void (before = hook) };
}

/** Two engines on one store: a's refresh is out (held back until `answer()`), and b has written a login beside it. `aStore` wraps a's view of the store. */
async function renewingWhileAnotherWrites(aStore: (store: FlowStore) => FlowStore = (store) => store) {
  const store = await LowdbFlowStore.open(dir);
  const clock = new SimulatedClock();
  const a = await boot(clock, aStore(store), { shared: true });
  const b = await boot(clock, store, { shared: true });
  const id = await authorizedFlow(a.engine);
  let answer!: () => void;
  refreshes.gate = new Promise((r) => (answer = r));
  await a.engine.send(id, { type: "RENEW", user: "alice" });
  await new Promise((r) => setTimeout(r, 20));
  await b.engine.send(id, authorize("bob", "flow.bob"));
  return { a, b, id, answer };
}

/** The real store, except that a save fails (after `delayMs`) whenever `fail()` says so. */
function failingSaves(store: FlowStore, fail: () => boolean, delayMs = 0): FlowStore {
  return storeWith(store, {
    save: async (record, expected, audit) => {
      if (!fail()) return store.save(record, expected, audit);
      await new Promise((r) => setTimeout(r, delayMs));
      throw new Error("EIO: disk full");
    },
  });
}

const state = async (engine: FlowEngine, id: string) => (await engine.current(id)).value as { grant: unknown; login: string };

async function rawFiles(): Promise<string> {
  let all = "";
  for (const sub of ["flows", "audit"]) {
    for (const name of await readdir(join(dir, sub))) all += await readFile(join(dir, sub, name), "utf8");
  }
  return all;
}

describe("flow engine on lowdb", () => {
  it("writes every accepted transition before send resolves: a fresh read of the file shows it", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock);
    const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
    await engine.send(flow.id, authorize("alice"));
    const onDisk = JSON.parse(await readFile(join(dir, "flows", `${flow.id}.json`), "utf8"));
    expect(onDisk.summary.state).toBe("awaitingCode");
    expect(onDisk.revision).toBe(2);
    await engine.stop();
  });

  it("never writes a token, code or PKCE verifier in clear; the snapshot is sealed", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock);
    const id = await authorizedFlow(engine);
    await engine.settled();
    const raw = await rawFiles();
    expect(raw).toContain(id);
    for (const secret of [SECRET_ACCESS, SECRET_REFRESH, SECRET_ALTINN, SECRET_CODE, "01817010055"]) expect(raw).not.toContain(secret);
    const record = JSON.parse(await readFile(join(dir, "flows", `${id}.json`), "utf8"));
    expect(record.sealedSnapshot).toMatch(/^v1\./);
    expect(record.summary.idporten.pid).toBe("018170*****");
    await engine.stop();
  });

  it("restores every flow after a restart, and re-arms its deadline with the remaining time", async () => {
    const clock = new SimulatedClock();
    const first = await boot(clock);
    const id = await authorizedFlow(first.engine);
    clock.advance(200 * 86400_000);
    await first.engine.stop();

    const second = await boot(clock);
    expect((await state(second.engine, id)).grant).toEqual({ altinnAuthorized: "ready" });
    expect((await second.engine.get(id)).summary.boundUser).toBe("alice");
    clock.advance(165 * 86400_000 - 1);
    expect((await state(second.engine, id)).grant).toEqual({ altinnAuthorized: "ready" });
    clock.advance(1);
    await second.engine.settled();
    expect((await state(second.engine, id)).grant).toBe("expired");
    const onDisk = JSON.parse(await readFile(join(dir, "flows", `${id}.json`), "utf8"));
    expect(onDisk.summary.state).toBe("expired");
    await second.engine.stop();
  });

  it("serializes concurrent events to one flow: each is applied and written in order", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock);
    const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const results = await Promise.all(users.map((u) => engine.send(flow.id, authorize(u, `flow.${u}`))));
    expect(results.map((r) => r.revision)).toEqual(users.map((_, i) => i + 2));
    const audit = await engine.audit(flow.id, 100);
    expect(audit.map((a) => a.user)).toEqual([null, ...users]);
    expect(audit[1]).toMatchObject({ from: "idle", to: "awaitingCode", event: "AUTHORIZE", user: "user-0" });
    expect((await engine.current(flow.id)).context.attempt.user).toBe("user-19");
    await engine.stop();
  });

  it("keeps an audit trail of every transition, in words: when, from, to, event, acting user", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock);
    const id = await authorizedFlow(engine);
    const trail = await engine.audit(id);
    expect(trail.map((a) => [a.from, a.to, a.event, a.user])).toEqual([
      [null, "idle", "create", null],
      ["idle", "awaitingCode", "AUTHORIZE", "alice"],
      ["awaitingCode", "exchanging", "CALLBACK", null],
      ["exchanging", "idportenAuthorized", "done: exchangeCode", null],
      ["idportenAuthorized", "altinnAuthorized", "done: exchangeAltinn", null],
    ]);
    expect(trail.every((a) => a.at === new Date(clock.now()).toISOString())).toBe(true);
    await engine.stop();
  });

  it("refuses a stale write: the store compares revisions", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, store);
    const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
    const stored = (await store.get(flow.id))!;
    await expect(store.save({ ...stored, revision: stored.revision + 1 }, stored.revision - 1)).rejects.toBeInstanceOf(StaleWriteError);
    await expect(store.save({ ...stored, id: crypto.randomUUID() }, 5)).rejects.toBeInstanceOf(StaleWriteError);
    await engine.stop();
  });

  it("a failed write is held and retried until the store takes it: 503 meanwhile, no new change on top, nothing lost", async () => {
    const store = await LowdbFlowStore.open(dir);
    let fail = false;
    const flaky = failingSaves(store, () => fail);
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, flaky);
    const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
    fail = true;
    const error = await engine.send(flow.id, authorize("alice")).catch((e) => e);
    expect(error).toBeInstanceOf(AuthflowError);
    expect(error.status).toBe(503);
    expect(error.detail).toMatch(/kept and retried/);
    // Held in memory, not rolled back; a further event is not applied on top of it.
    expect((await state(engine, flow.id)).login).toBe("awaitingCode");
    expect(await engine.send(flow.id, authorize("bob", "flow.bob")).catch((e) => e)).toMatchObject({ status: 503 });
    expect((await engine.current(flow.id)).context.attempt.user).toBe("alice");
    expect(logLines.filter((l) => l.includes("write failed"))).toHaveLength(1);
    fail = false;
    await engine.written(flow.id, 2000);
    expect((await store.get(flow.id))!.summary.state).toBe("awaitingCode");
    expect((await engine.audit(flow.id)).map((a) => a.event)).toEqual(["create", "AUTHORIZE"]);
    await engine.send(flow.id, authorize("bob", "flow.bob"));
    expect((await engine.current(flow.id)).context.attempt.user).toBe("bob");
    await engine.stop();
  });

  it("a refresh whose answer cannot be written is never rolled back or re-run: the rotated tokens land once the store recovers, also across a restart", async () => {
    const store = await LowdbFlowStore.open(dir);
    let fail = false;
    const flaky = failingSaves(store, () => fail);
    const clock = new SimulatedClock();
    const first = await boot(clock, flaky);
    const id = await authorizedFlow(first.engine);
    // The refresh leaves once `renewing` is written; the disk fills before its answer comes back.
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    await first.engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 20));
    expect(refreshes.count).toBe(1);
    fail = true;
    answer();
    await new Promise((r) => setTimeout(r, 50));
    expect(refreshes.count).toBe(1);
    expect((await state(first.engine, id)).grant).not.toEqual({ altinnAuthorized: "renewing" });
    expect((await first.engine.current(id)).context.authorization.idporten.refreshToken).toBe(`${SECRET_REFRESH}-1`);
    await expect(first.engine.written(id, 50)).rejects.toMatchObject({ status: 503 });
    fail = false;
    await first.engine.written(id, 2000);
    await first.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 2000);
    await first.engine.stop();
    expect(refreshes.count).toBe(1);

    refreshes.count = 0;
    const second = await boot(clock);
    expect((await second.engine.current(id)).context.authorization.idporten.refreshToken).toBe(`${SECRET_REFRESH}-1`);
    expect((await state(second.engine, id)).grant).toEqual({ altinnAuthorized: "ready" });
    expect(refreshes.count).toBe(0); // nothing was re-run after the restart
    await second.engine.stop();
  });

  it("an outbound call leaves only once the state that starts it is written", async () => {
    const store = await LowdbFlowStore.open(dir);
    let fail = false;
    const flaky = failingSaves(store, () => fail);
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, flaky);
    const id = await authorizedFlow(engine);
    fail = true;
    expect(await engine.send(id, { type: "RENEW", user: "alice" }).catch((e) => e)).toMatchObject({ status: 503 });
    await new Promise((r) => setTimeout(r, 50));
    expect(refreshes.count).toBe(0);
    fail = false;
    await engine.written(id, 2000);
    await engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 2000);
    expect(refreshes.count).toBe(1);
    await engine.stop();
  });

  it("the public summary is derived from the sealed snapshot on load, never trusted from the file", async () => {
    const clock = new SimulatedClock();
    const first = await boot(clock);
    const id = await authorizedFlow(first.engine);
    await first.engine.stop();
    const path = join(dir, "flows", `${id}.json`);
    const record = JSON.parse(await readFile(path, "utf8"));
    await writeFile(path, JSON.stringify({ ...record, summary: { ...record.summary, boundUser: "mallory", state: "idle" } }));
    const second = await boot(clock);
    expect((await second.engine.get(id)).summary).toMatchObject({ boundUser: "alice", state: "altinnAuthorized" });
    // Lists read stored summaries (they cannot open every flow): an edited one is left out, and named.
    expect((await second.engine.list({ limit: 10 })).items.map((r) => r.id)).not.toContain(id);
    expect(logLines.some((l) => l.includes(`flow ${id}: its stored summary does not match its seal`))).toBe(true);
    await second.engine.stop();
  });

  it("a sealed snapshot moved into another flow's document does not open: that flow is set aside as damaged (410 in words), the others serve", async () => {
    const clock = new SimulatedClock();
    const first = await boot(clock);
    const a = await authorizedFlow(first.engine);
    const b = (await first.engine.create("authorization", { legalEntity: "999999999", integration: "default" })).id;
    await first.engine.stop();
    const recordA = JSON.parse(await readFile(join(dir, "flows", `${a}.json`), "utf8"));
    const pathB = join(dir, "flows", `${b}.json`);
    const recordB = JSON.parse(await readFile(pathB, "utf8"));
    await writeFile(pathB, JSON.stringify({ ...recordB, sealedSnapshot: recordA.sealedSnapshot, summary: recordA.summary }));
    const second = await boot(clock);
    expect((await state(second.engine, a)).grant).toEqual({ altinnAuthorized: "ready" });
    const refused = await second.engine.get(b).catch((e) => e);
    expect(refused).toMatchObject({ status: 410, code: "flow_damaged" });
    expect(refused.detail).toContain("damaged");
    expect(refused.detail).toContain(join(dir, "damaged"));
    expect(await second.engine.send(b, { type: "REVOKE", user: "alice" }).catch((e) => e)).toMatchObject({ status: 410 });
    expect((await second.engine.list({ limit: 10 })).items.map((r) => r.id)).toEqual([a]);
    await second.engine.stop();
  });

  it("does not need every flow in memory: idle flows are dropped, come back on demand, and a due deadline hydrates its flow", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, undefined, { idleMs: 0, horizonMs: 60_000 });
    const id = await authorizedFlow(engine);
    const other = (await engine.create("authorization", { legalEntity: "999999999", integration: "default" })).id;
    await engine.settled();
    await engine.tick();
    expect(engine.resident).toBe(0);
    // On demand: a read hydrates it, with its state.
    expect((await state(engine, id)).grant).toEqual({ altinnAuthorized: "ready" });
    expect(engine.resident).toBe(1);
    await engine.tick();
    expect(engine.resident).toBe(0);
    // A deadline of a flow not in memory: the tick finds it in the store's due-time index.
    clock.advance(365 * 86400_000);
    expect(await engine.tick()).toBe(1);
    await engine.settled();
    const row = await engine.get(id);
    expect(row.summary.state).toBe("expired");
    expect((await engine.audit(id)).map((a) => a.event)).toContain("AUTHORIZATION_EXPIRED");
    expect((await engine.get(other)).summary.state).toBe("idle");
    await engine.stop();
  });

  it("a tick reads the whole record only of a due flow it does not hold at that revision: flows held at their stored revision cost it no read", async () => {
    const store = await LowdbFlowStore.open(dir);
    const gets: string[] = [];
    const counted = storeWith(store, { get: (id) => (gets.push(id), store.get(id)) });
    const clock = new SimulatedClock();
    const horizonMs = 400 * 86400_000; // every deadline of an authorized flow falls within it
    const a = await boot(clock, counted, { horizonMs, shared: true });
    const id = await authorizedFlow(a.engine);
    await a.engine.settled();
    expect((await store.claimDue(clock.now() + horizonMs, "x", 0, 10)).map((r) => r.id)).toEqual([id]);
    gets.length = 0;
    for (let i = 0; i < 3; i++) await a.engine.tick();
    expect(gets).toEqual([]);
    // An engine that does not hold it reads it once, then holds it.
    const b = await boot(clock, counted, { horizonMs, shared: true });
    expect(gets).toEqual([id]);
    expect(b.engine.resident).toBe(1);
    await b.engine.tick();
    expect(gets).toEqual([id]);
    // Held, but written by the other instance since (its notification missed): the tick reloads it.
    await a.engine.send(id, { type: "RENEW", user: "alice" });
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 2000);
    await a.engine.settled();
    const revision = (await store.get(id))!.revision;
    gets.length = 0;
    await b.engine.tick();
    expect(gets).toEqual([id]);
    expect((await b.engine.get(id)).revision).toBe(revision);
    expect(gets).toEqual([id]);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("two engines on one store: a write that loses the race is refused, the flow reloaded and the event applied again — every acknowledged event once", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const a = await boot(clock, store, { shared: true });
    const b = await boot(clock, store, { shared: true });
    const id = (await a.engine.create("authorization", { legalEntity: "999999999", integration: "default" })).id;
    await b.engine.current(id); // b caches revision 1
    await a.engine.send(id, authorize("alice", "flow.alice")); // revision 2, unknown to b's cache
    await b.engine.send(id, authorize("bob", "flow.bob")); // b's write of revision 2 loses; reloaded; applied to revision 2
    const trail = await a.engine.audit(id);
    expect(trail.map((t) => [t.event, t.user])).toEqual([
      ["create", null],
      ["AUTHORIZE", "alice"],
      ["AUTHORIZE", "bob"],
    ]);
    expect((await store.get(id))!.revision).toBe(3);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("two engines on one store: an event that loses the race is applied again only while still wanted — a renewal made elsewhere is not followed by a second", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    // b's look at the stored revision can be made to happen "just before" a's write landed.
    let staleRevision: number | undefined;
    const lateLook = storeWith(store, {
      revisionOf: async (id) => {
        if (staleRevision === undefined) return store.revisionOf(id);
        const revision = staleRevision;
        staleRevision = undefined;
        return revision;
      },
    });
    const a = await boot(clock, store, { shared: true });
    const b = await boot(clock, lateLook, { shared: true });
    const id = await authorizedFlow(a.engine);
    await b.engine.current(id); // b caches the authorized flow
    const cached = (await store.get(id))!.revision;
    await a.engine.send(id, { type: "RENEW", user: "alice" });
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 2000);
    expect(refreshes.count).toBe(1);
    // b decided to renew on the token it saw; its cache passes for current once more.
    staleRevision = cached;
    const stillWanted = (s: AnyMachineSnapshot) => (s.context as AuthorizationContext).authorization?.idporten.refreshToken === SECRET_REFRESH;
    await b.engine.send(id, { type: "RENEW", user: "alice" }, { stillWanted });
    await b.engine.settled();
    await a.engine.settled();
    expect(logLines.some((l) => l.includes("reloading it from the store")), "b's write lost the race").toBe(true);
    expect(refreshes.count, "refreshes").toBe(1);
    expect(((await a.engine.current(id)).context as AuthorizationContext).authorization!.idporten.refreshToken).toBe(`${SECRET_REFRESH}-1`);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("a call leaves only with room for the whole call on its lease: one left short by a slow write is taken again first", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    let slowOnes = 0;
    const slowStore = slowSaves(store, () => (slowOnes-- > 0 ? 250 : 0));
    const a = await boot(clock, slowStore, { shared: true, leaseMs: 400, callMs: 300, heldWriteWaitMs: 3000 });
    const id = await authorizedFlow(a.engine);
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    slowOnes = 1; // the write of "renewing", which takes the lease, lands 250 ms after the lease was dated
    await a.engine.send(id, { type: "RENEW", user: "alice" });
    for (let i = 0; i < 100 && refreshes.count === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(refreshes.count).toBe(1);
    // As the call left, the stored lease had room for it (300 ms): without taking it again, ≈ 150 ms.
    const lease = (await store.get(id))!.lease!;
    expect(lease.until - Date.now()).toBeGreaterThan(240);
    expect(logLines.some((l) => /took its call lease again \(\d+ ms were left, a call may take 300 ms\)/.test(l))).toBe(true);
    answer();
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await a.engine.stop();
  });

  it("an answer no call took does not keep a stale copy in service, and is let go after a while", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    // a ticks once (at boot), so its heartbeat ends 100 ms later: it stands still from then on.
    const a = await boot(clock, store, { shared: true, leaseMs: 400, callMs: 100, heldAnswerMs: 300, claimMs: 100 });
    const b = await boot(clock, store, { shared: true, leaseMs: 400, callMs: 100, takeOverGraceMs: 200 });
    const id = await authorizedFlow(a.engine);
    let answerA!: () => void;
    refreshes.gate = new Promise((r) => (answerA = r));
    await a.engine.send(id, { type: "RENEW", user: "alice" }); // a's refresh is out, held back
    await new Promise((r) => setTimeout(r, 20));
    expect(refreshes.count).toBe(1);
    refreshes.gate = Promise.resolve();
    await new Promise((r) => setTimeout(r, 450)); // a's lease and heartbeat have ended (a stood still); b has reached the store for longer than its grace
    await b.engine.current(id); // b hydrates "renewing", takes the lease over and renews
    await b.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    expect(refreshes.count).toBe(2);
    answerA(); // a's answer comes late: its write loses the race, a reloads a flow that no longer makes that call
    await new Promise((r) => setTimeout(r, 100));
    await a.engine.settled();
    expect(logLines.some((l) => l.includes("reloading it from the store"))).toBe(true);
    // b changes the flow; a must serve the change, not the copy its unused answer would pin.
    await b.engine.send(id, { type: "REVOKE", user: "alice" });
    await b.engine.settled();
    const onB = JSON.stringify((await b.engine.current(id)).value);
    expect(onB).not.toContain("altinnAuthorized");
    expect(JSON.stringify((await a.engine.current(id)).value)).toBe(onB);
    // The unused answer is let go by a tick after heldAnswerMs, named by its call only.
    await new Promise((r) => setTimeout(r, 350));
    await a.engine.tick();
    const letGo = logLines.filter((l) => l.includes("was not used"));
    expect(letGo).toHaveLength(1);
    expect(letGo[0]).toContain(`flow ${id}: an answer to `);
    expect(letGo[0]).not.toContain(SECRET_REFRESH);
    await a.engine.stop();
    await b.engine.stop();
  });

  /**
   * Two engines ticking every 50 ms (heartbeats of 300 ms) on one store that both reach through
   * `down`: a failover is `down.now = true`. `olderOwner`: a's heartbeat is read as an instance of a
   * release before migration 9 leaves it (no alive_since: 0).
   */
  async function twoTickingThroughOutage({ olderOwner = false } = {}) {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const down = { now: false };
    const outage = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED", syscall: "connect" });
    const failing = <A extends unknown[], R>(method: (...args: A) => Promise<R>) => async (...args: A) => {
      if (down.now) throw outage();
      return method(...args);
    };
    const cut = storeWith(store, {
      get: failing(store.get.bind(store)),
      revisionOf: failing(store.revisionOf.bind(store)),
      save: failing(store.save.bind(store)),
      claimDue: failing(store.claimDue.bind(store)),
      claimant: failing(async (owner: string) => {
        const heartbeat = await store.claimant(owner);
        return heartbeat && olderOwner && owner === aId ? { ...heartbeat, aliveSince: 0 } : heartbeat;
      }),
    });
    const opts = { shared: true, leaseMs: 1000, callMs: 500, claimMs: 300, writeRetryMs: { first: 100, max: 300 } };
    const aId = "instance-a";
    const a = await boot(clock, cut, { ...opts, instanceId: aId });
    const b = await boot(clock, cut, opts);
    await a.engine.start(50);
    await b.engine.start(150); // after an outage, a (ticking every 50 ms) beats its heart first, as a live owner usually would
    return { a, b, down };
  }

  it.each([
    ["", false],
    [" (its owner an instance of an older release, whose heartbeat does not say since when)", true],
  ])("a database out of reach for longer than a call's lease, its answer held: no other instance calls again once it is back — the one-time token is sent once%s", async (_, olderOwner) => {
    const { a, b, down } = await twoTickingThroughOutage({ olderOwner });
    const id = await authorizedFlow(a.engine);
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    await a.engine.send(id, { type: "RENEW", user: "alice" }); // written: renewing, leased to a; the refresh leaves
    await new Promise((r) => setTimeout(r, 20));
    down.now = true; // a failover: neither instance reaches the database, their heartbeats end
    answer(); // the provider answers (a new one-time token): a holds it, its write retried
    await new Promise((r) => setTimeout(r, 2000)); // longer than the lease and the grace after it
    down.now = false; // back: b's tick may come before a's next write retry, and finds the lease ended
    await new Promise((r) => setTimeout(r, 1000));
    await renewedOnce(a.engine, b.engine, id);
    expect(logLines.filter((l) => l.includes("took over the call lease"))).toEqual([]);
  });

  it("an instance that dies holding an answer while the database is out of reach: another takes its lease over once it has reached the database for the grace, and renews", async () => {
    const { a, b, down } = await twoTickingThroughOutage();
    const id = await authorizedFlow(a.engine);
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    await a.engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 20));
    down.now = true;
    answer();
    await new Promise((r) => setTimeout(r, 50));
    await a.engine.stop(); // dies with the answer in memory
    await new Promise((r) => setTimeout(r, 1250));
    refreshes.gate = Promise.resolve();
    down.now = false;
    const back = Date.now();
    await b.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }) && s.context.authorization.idporten.refreshToken !== SECRET_REFRESH, 5000).catch((e) => {
      throw new Error(`${e.message}\n${logLines.join("\n")}`);
    });
    // Its grace (claimMs + the write retry's largest pause): 600 ms of the database reached before it took a's lease.
    expect(Date.now() - back).toBeGreaterThanOrEqual(550);
    expect(logLines.filter((l) => l.includes(`took over the call lease of`))).toHaveLength(1);
    expect(refreshes.count).toBe(2); // a's answer died with it: the second refresh is b's, with the token a had spent
    await b.engine.stop();
  }, 15_000);

  it("an answer held for a flow that cannot be read (its reload failed: the database went away) is not let go for its age: the refresh is made once", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const down = { now: false };
    const outage = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED", syscall: "connect" });
    // a's reads fail while `down` (an outage that begins right after a's save was answered).
    const aStore = storeWith(store, {
      get: async (id) => {
        if (down.now) throw outage();
        return store.get(id);
      },
      revisionOf: async (id) => {
        if (down.now) throw outage();
        return store.revisionOf(id);
      },
    });
    const a = await boot(clock, aStore, { shared: true, leaseMs: 1000, callMs: 500, heldAnswerMs: 300 });
    const b = await boot(clock, store, { shared: true, leaseMs: 1000, callMs: 500 });
    const id = await authorizedFlow(a.engine);
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    await a.engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 20));
    await b.engine.send(id, authorize("bob", "flow.bob")); // b writes beside the renewal
    down.now = true;
    answer(); // a's outcome write loses the race to b's; its reload's read fails: the answer is held, the flow not in memory
    await new Promise((r) => setTimeout(r, 500)); // past heldAnswerMs
    await a.engine.tick();
    expect(logLines.filter((l) => l.includes("was not used"))).toEqual([]);
    down.now = false;
    await new Promise((r) => setTimeout(r, 600)); // a's own lease has ended: it takes it again and resumes the call, which takes the answer
    await a.engine.tick();
    await new Promise((r) => setTimeout(r, 300));
    await renewedOnce(a.engine, b.engine, id);
  });

  it("an answer whose write lost a race is handed to the reloaded flow: the refresh is made once", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const a = await boot(clock, store, { shared: true, leaseMs: 400 });
    const b = await boot(clock, store, { shared: true, leaseMs: 400 });
    const id = await authorizedFlow(a.engine);
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    await a.engine.send(id, { type: "RENEW", user: "alice" }); // renewing written, leased to a; the refresh is held
    await new Promise((r) => setTimeout(r, 20));
    expect(refreshes.count).toBe(1);
    // b hydrates the flow (its refresh waits for a's lease) and writes a login beside it.
    await b.engine.send(id, authorize("bob", "flow.bob"));
    answer();
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await new Promise((r) => setTimeout(r, 700)); // past b's lease wait
    await a.engine.settled();
    await b.engine.settled();
    expect(refreshes.count).toBe(1);
    const snapshot = await a.engine.current(id);
    expect(snapshot.context.authorization.idporten.refreshToken).toBe(`${SECRET_REFRESH}-1`);
    expect(snapshot.context.attempt.user).toBe("bob");
    await a.engine.stop();
    await b.engine.stop();
  });

  it("a copy reloaded while its own call is out waits for that call's answer: another instance's write mid-call and an event here make one refresh, not two", async () => {
    // b writes a login beside a's renewal; then a acts on the flow while its refresh is still out.
    const { a, b, id, answer } = await renewingWhileAnotherWrites();
    const acting = a.engine.send(id, authorize("carol", "flow.carol")).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    answer();
    await acting;
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await a.engine.settled();
    await b.engine.settled();
    expect(refreshes.count, "one refresh with the one-time token").toBe(1);
    expect((await a.engine.current(id)).context.authorization.idporten.refreshToken).toBe(`${SECRET_REFRESH}-1`);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("the answer taken by a reloaded copy stays held until its outcome is written: that copy's write losing a race hands it on, the token is sent once", async () => {
    const { a, b, id, answer } = await renewingWhileAnotherWrites();
    await a.engine.current(id); // a reloads: its new copy waits for the refresh still out
    await new Promise((r) => setTimeout(r, 20));
    await b.engine.send(id, authorize("dave", "flow.dave")); // b writes again; a hears nothing (a notification late, or a LISTEN down)
    answer(); // the waiting copy takes the answer; its write loses to b's; the next copy needs the answer again
    await new Promise((r) => setTimeout(r, 100));
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await renewedOnce(a.engine, b.engine, id);
  });

  it("a waiting copy retired before the answer comes leaves the answer to the next copy: the token is sent once", async () => {
    let reads!: ReturnType<typeof readAnsweredLate>;
    const { a, b, id, answer } = await renewingWhileAnotherWrites((store) => (reads = readAnsweredLate(store)).store);
    await a.engine.current(id); // a's second copy waits for the refresh still out
    await new Promise((r) => setTimeout(r, 20));
    await b.engine.send(id, authorize("dave", "flow.dave"));
    // a's next read retires the second copy and reloads; the answer comes while that read is out.
    reads.late(async () => {
      answer();
      await new Promise((r) => setTimeout(r, 30));
    });
    await a.engine.current(id);
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await a.engine.settled();
    await b.engine.settled();
    expect(refreshes.tokens, "the one-time refresh token is sent once").toEqual([SECRET_REFRESH]);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("a renewal whose answer was lost is retried once, for real, also by a reloaded copy that waited for it", async () => {
    const lost = () => Object.assign(new Error("timeout: no answer"), { lost: true, error: "temporarily_unavailable" });
    refreshes.failures.push(lost());
    const { a, b, id, answer } = await renewingWhileAnotherWrites();
    await a.engine.current(id); // the reloaded copy waits for the refresh still out
    await new Promise((r) => setTimeout(r, 20));
    refreshes.gate = Promise.resolve();
    answer(); // no answer came: the machine retries at once, once, with the same token (the provider may have rotated it)
    await new Promise((r) => setTimeout(r, 100));
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await a.engine.settled();
    await b.engine.settled();
    expect(refreshes.tokens).toEqual([SECRET_REFRESH, SECRET_REFRESH]);
    expect((await a.engine.current(id)).context.authorization.idporten.refreshToken).toBe(`${SECRET_REFRESH}-2`);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("a cached copy is not served once another instance has written the flow, also while this instance's own call is out", async () => {
    const { a, b, id, answer } = await renewingWhileAnotherWrites();
    // a's view is b's write, not a's older copy.
    expect((await a.engine.current(id)).context.attempt?.user).toBe("bob");
    answer();
    await a.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }), 3000);
    await a.engine.settled();
    expect(refreshes.count).toBe(1);
    await a.engine.stop();
    await b.engine.stop();
  });

  it("an answer that arrives while a write started during the call is in flight is kept for a lost race: the refresh is made once", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    let slow = 0;
    // a's saves take `slow` ms: a write can be in flight when the refresh answers.
    const slowStore = slowSaves(store, () => slow);
    const a = await boot(clock, slowStore, { shared: true, leaseMs: 400, heldWriteWaitMs: 3000 });
    const b = await boot(clock, store, { shared: true, leaseMs: 400 });
    const id = await authorizedFlow(a.engine);
    let answer!: () => void;
    refreshes.gate = new Promise((r) => (answer = r));
    await a.engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 20));
    slow = 150;
    const w1 = a.engine.send(id, authorize("bob", "flow.bob")); // its write is in flight…
    await new Promise((r) => setTimeout(r, 20));
    answer(); // …when the refresh answers
    await new Promise((r) => setTimeout(r, 150));
    slow = 0;
    await w1;
    await b.engine.send(id, authorize("carol", "flow.carol")).catch(() => undefined); // b moves the flow before a's outcome lands
    await new Promise((r) => setTimeout(r, 1200));
    await renewedOnce(a.engine, b.engine, id);
  });

  it("a flow deleted while a tick was reading it is not brought back to life in memory by that read", async () => {
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const a = await boot(clock, store);
    const flow = await a.engine.create("authorization", { legalEntity: "999999999", integration: "default" });
    await a.engine.send(flow.id, authorize("alice")); // waiting for a login: deletable, due at the login's deadline
    await a.engine.stop();
    const reads = readAnsweredLate(store);
    const b = await boot(clock, reads.store);
    clock.advance(590_000); // the login's deadline is now within the tick's horizon
    reads.late(() => new Promise((r) => setTimeout(r, 300)));
    const ticking = b.engine.tick(); // reads the due flow; the read answers late
    await new Promise((r) => setTimeout(r, 50));
    await b.engine.delete(flow.id);
    await ticking;
    expect(b.engine.resident).toBe(0);
    await expect(b.engine.current(flow.id)).rejects.toMatchObject({ status: 404 });
    await b.engine.stop();
  });

  it("a revocation caught by a crash mid-call is retried after the restart (the flow is due at once)", async () => {
    const clock = new SimulatedClock();
    const first = await boot(clock);
    const id = await authorizedFlow(first.engine);
    revocations.gate = new Promise(() => {}); // the process dies before ID-porten answers
    await first.engine.send(id, { type: "REVOKE", user: "alice" });
    await new Promise((r) => setTimeout(r, 30));
    expect(revocations.count).toBe(1);
    await first.engine.stop(100);
    revocations.gate = Promise.resolve();
    const second = await boot(clock); // its first tick finds the flow due
    await new Promise((r) => setTimeout(r, 30));
    await second.engine.settled();
    expect(revocations.count).toBe(2);
    expect((await second.engine.current(id)).context.revocations).toEqual([]);
    await second.engine.stop();
  });

  it("at most outboundConcurrency calls are out at once: twelve renewals asked for together leave three at a time, and every one lands", async () => {
    // Review finding: after a stop, every authorization's renewal fell due at once and all left at
    // once; the provider queued them past the client's timeout, and 519 of 2,000 authorizations ended.
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, undefined, { outboundConcurrency: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await authorizedFlow(engine, `code-${i}`));
    let release!: () => void;
    refreshes.gate = new Promise((r) => (release = r));
    for (const id of ids) await engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 100));
    expect(refreshes.out).toBe(3);
    expect(engine.outbound).toEqual({ out: 3, waiting: 9 });
    release();
    for (const id of ids) await engine.waitFor(id, (s) => s.context.authorization?.idporten.refreshToken.startsWith(`${SECRET_REFRESH}-`) && !s.context.authorization.idporten.refreshToken.includes("-of-"), 5000);
    expect(refreshes.count).toBe(12);
    expect(refreshes.maxOut).toBe(3);
    expect(engine.outbound).toEqual({ out: 0, waiting: 0 });
    await engine.stop();
  });

  it("stop waits for the calls out and writes their answers, and lets no waiting call leave: nothing one-time is spent and lost", async () => {
    // Review finding: a SIGTERM during a catch-up let calls go on leaving the gate, and dropped the
    // answers of those out with the actors — each a rotated refresh token lost (16 authorizations
    // ended at the next start, one per place), and the log named none of them.
    const clock = new SimulatedClock();
    const first = await boot(clock, undefined, { outboundConcurrency: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await authorizedFlow(first.engine, `code-${i}`));
    let release!: () => void;
    refreshes.gate = new Promise((r) => (release = r));
    for (const id of ids) await first.engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 100));
    expect(first.engine.outbound).toEqual({ out: 1, waiting: 4 });
    const stopping = first.engine.stop();
    release(); // the provider answers the call that is out just after the stop began
    await stopping;
    await new Promise((r) => setTimeout(r, 100));
    const sent = [...refreshes.tokens];
    expect(sent, "no call left after the stop began").toHaveLength(1);
    // The next start on the same files: the answer of the call that was out is there, and the others are made once, each with its own token.
    refreshes.tokens.length = 0;
    const second = await boot(clock, undefined, { outboundConcurrency: 1 });
    for (const id of ids) await second.engine.current(id);
    for (const id of ids) await second.engine.waitFor(id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }) && !s.context.authorization.idporten.refreshToken.includes("-of-"), 5000);
    expect(refreshes.tokens.filter((token) => sent.includes(token)), "a refresh token sent before the stop is never sent again").toEqual([]);
    expect(refreshes.tokens).toHaveLength(4);
    await second.engine.stop();
  });

  it("with a shared store, a stop lets go of the call leases of calls that never left: another instance makes them at once, not after the lease", async () => {
    // Review finding: parked at a stop, such flows kept the stopped instance's lease (45 s by
    // default); the next instance waited it out as if that one had died mid-call, and refresh tokens
    // with less life left than that ended their authorizations.
    const store = await LowdbFlowStore.open(dir);
    const clock = new SimulatedClock();
    const a = await boot(clock, store, { shared: true, instanceId: "a", outboundConcurrency: 1, leaseMs: 30_000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await authorizedFlow(a.engine, `code-${i}`));
    let release!: () => void;
    refreshes.gate = new Promise((r) => (release = r));
    for (const id of ids) await a.engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 100));
    expect(a.engine.outbound).toEqual({ out: 1, waiting: 2 });
    const stopping = a.engine.stop();
    release();
    await stopping;
    expect(refreshes.count, "only the call that was out was made").toBe(1);
    const parked = [];
    for (const id of ids) {
      const record = (await store.get(id))!;
      if (record.lease) parked.push(record);
    }
    // All three: the two that waited for a place, and the one whose refresh came back — its answer
    // written, its Altinn exchange the next call, which did not leave either.
    expect(parked).toHaveLength(3);
    for (const record of parked) {
      expect(record.lease, "let go of (until 0)").toEqual({ owner: "a", until: 0 });
      expect(record.nextDeadlineAt, "due at once").toBeLessThanOrEqual(clock.now());
    }
    expect(logLines.some((l) => l.startsWith("stopping: 3 call(s) had not left; 3 of their flows let go"))).toBe(true);
    // Another instance, just started, makes them now — not after the grace an ended lease is given
    // (10 s by default here), since their owner let go of them — each once.
    const b = await boot(clock, store, { shared: true, instanceId: "b" });
    for (const record of parked) await b.engine.current(record.id);
    for (const record of parked) await b.engine.waitFor(record.id, (s) => s.matches({ grant: { altinnAuthorized: "ready" } }) && !s.context.authorization.idporten.refreshToken.includes("-of-"), 3000);
    expect(refreshes.count).toBe(3);
    await b.engine.stop();
  });

  it("start does not wait for the first tick: the service listens while that tick hydrates what fell due", async () => {
    // Review finding: with 2,000 renewals due after a stop, start-up hydrated 500 and wrote their first
    // steps before the service listened — 7–12 s without answering requests or health checks.
    const store = await LowdbFlowStore.open(dir);
    let claims = 0;
    let releaseClaim!: () => void;
    const claimHeld = new Promise<void>((r) => (releaseClaim = r));
    const slow = storeWith(store, {
      claimDue: async (...args) => {
        claims++;
        await claimHeld;
        return store.claimDue(...args);
      },
    });
    const engine = new FlowEngine({ store: slow, box: await createSecretBox(key), clock: new SimulatedClock(), registry: new MachineRegistry(), log: () => undefined });
    const outcome = await Promise.race([engine.start(60_000).then(() => "started"), new Promise((r) => setTimeout(() => r("still waiting for the first tick"), 1000))]);
    expect(outcome).toBe("started");
    expect(claims).toBe(1);
    releaseClaim();
    await engine.stop();
  });

  it("while calls wait for a place, a tick claims fewer due flows anew (the backlog is left to other instances), never fewer of its own", async () => {
    const clock = new SimulatedClock();
    const store = await LowdbFlowStore.open(dir);
    const limits: number[] = [];
    const counting = storeWith(store, { claimDue: (...args) => (limits.push(args[3], args[6]!), store.claimDue(...args)) });
    const { engine } = await boot(clock, counting, { outboundConcurrency: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await authorizedFlow(engine, `code-${i}`));
    await engine.tick();
    expect(limits.slice(-2)).toEqual([500, 16]); // its own up to 500; anew, 16 rounds of its 1 place
    let release!: () => void;
    refreshes.gate = new Promise((r) => (release = r));
    for (const id of ids) await engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.outbound).toEqual({ out: 1, waiting: 6 });
    await engine.tick();
    expect(limits.slice(-2)).toEqual([500, 10]); // 6 waiting for 1 place: room for 10 more
    release();
    for (const id of ids) await engine.waitFor(id, (s) => !s.context.authorization?.idporten.refreshToken.includes("-of-"), 5000);
    await engine.tick();
    expect(limits.slice(-2)).toEqual([500, 16]);
    await engine.stop();
  });

  it("a call someone waits for takes the next place before the backlog of upkeep", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, undefined, { outboundConcurrency: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await authorizedFlow(engine, `code-${i}`));
    let releaseFirst!: () => void;
    refreshes.gate = new Promise((r) => (releaseFirst = r));
    for (const id of ids) await engine.send(id, { type: "RENEW", user: "alice" });
    await new Promise((r) => setTimeout(r, 100));
    expect(refreshes.tokens).toEqual([`${SECRET_REFRESH}-of-code-0`, `${SECRET_REFRESH}-of-code-1`]);
    // A token call for the last in line waits for its renewal (the service's waitFor).
    const awaited = engine.waitFor(ids[7]!, (s) => !s.context.authorization?.idporten.refreshToken.includes("-of-"), 5000);
    let releaseRest!: () => void;
    refreshes.gate = new Promise((r) => (releaseRest = r));
    releaseFirst();
    await new Promise((r) => setTimeout(r, 100));
    expect(refreshes.tokens.slice(2)).toContain(`${SECRET_REFRESH}-of-code-7`);
    expect(refreshes.tokens).toHaveLength(4);
    releaseRest();
    await awaited;
    for (const id of ids) await engine.waitFor(id, (s) => !s.context.authorization?.idporten.refreshToken.includes("-of-"), 5000);
    expect(refreshes.count).toBe(8);
    await engine.stop();
  });

  it("explains refusals: 409 for a state that does not take the event, 403 for another user, 422 for the redirect URL", async () => {
    const clock = new SimulatedClock();
    const { engine } = await boot(clock);
    const id = await authorizedFlow(engine);
    const refused = (event: Record<string, unknown>) => engine.send(id, event as never).catch((e: AuthflowError) => e);
    expect(await refused({ type: "EXCHANGE_CODE", user: "alice" })).toMatchObject({ status: 409 });
    const other = await refused({ type: "REVOKE", user: "mallory" });
    expect(other).toMatchObject({ status: 403 });
    expect((other as AuthflowError).detail).toContain('"alice"');
    const wrong = await refused({ ...authorize("alice"), redirect: { redirectUri: "https://erp.example/other", registeredRedirectUris: [CALLBACK_URL], callbackUrl: CALLBACK_URL } });
    expect(wrong).toMatchObject({ status: 422 });
    expect((wrong as AuthflowError).detail).toContain("https://erp.example/other");
    expect((wrong as AuthflowError).detail).toContain(CALLBACK_URL);
    await engine.stop();
  });
});
