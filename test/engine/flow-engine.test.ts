// The engine against a real lowdb directory on disk. The ID-porten and Altinn clients are replaced
// by in-process doubles here: these tests are about persistence, ordering and restore; the real
// peers are exercised in test/server.
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/clock.ts";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { FlowEngine } from "../../src/engine/flow-engine.ts";
import { MachineRegistry } from "../../src/engine/machine-registry.ts";
import { authorizationFlowMachine } from "../../src/flows/authorization-flow.ts";
import { LowdbFlowStore } from "../../src/store/lowdb-store.ts";
import { StaleWriteError, type FlowStore } from "../../src/store/flow-store.ts";
import { AuthflowError } from "../../src/errors.ts";
import { CALLBACK_URL, SETTINGS } from "../machines/helpers.ts";

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

async function boot(clock: SimulatedClock, store?: FlowStore) {
  const s = store ?? (await LowdbFlowStore.open(dir));
  const fakeIdporten = {
    prepareAuthorization: async () => ({ url: "https://op/authorize", state: "s", nonce: "n", codeVerifier: "v", redirectUri: CALLBACK_URL }),
    exchangeCode: async () => ({
      accessToken: SECRET_ACCESS,
      refreshToken: SECRET_REFRESH,
      idToken: null,
      scope: "openid skatteetaten:mvameldinginnsending",
      expiresIn: 7200,
      pid: "01817010055",
      acr: "idporten-loa-substantial",
      receivedAt: clock.now(),
    }),
    refresh: async () => Promise.reject(new Error("not used")),
  };
  const altinn = { exchange: async () => ({ token: SECRET_ALTINN, expiresAt: clock.now() + 7200_000 }) };
  const registry = new MachineRegistry().register(authorizationFlowMachine({ clock, idporten: fakeIdporten, altinn }));
  const engine = new FlowEngine({ store: s, box: await createSecretBox(key), clock, registry });
  await engine.restoreAll();
  return { engine, store: s };
}

const authorize = (user: string, state = `flow.${user}`) => ({
  type: "AUTHORIZE",
  user,
  request: { url: "https://op/authorize", state, nonce: "n", codeVerifier: "v", redirectUri: CALLBACK_URL },
  redirect: { redirectUri: CALLBACK_URL, registeredRedirectUris: [CALLBACK_URL], callbackUrl: CALLBACK_URL },
  settings: SETTINGS,
});

async function authorizedFlow(engine: FlowEngine) {
  const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
  await engine.send(flow.id, authorize("alice"));
  await engine.send(flow.id, { type: "CALLBACK", state: "flow.alice", callbackUrl: CALLBACK_URL, code: SECRET_CODE });
  await engine.waitFor(flow.id, (s) => s.matches({ altinnAuthorized: "ready" }), 2000);
  return flow.id;
}

/** The real store, except that a save fails (after `delayMs`) whenever `fail()` says so. */
function failingSaves(store: FlowStore, fail: () => boolean, delayMs = 0): FlowStore {
  return {
    get: (id) => store.get(id),
    list: () => store.list(),
    save: async (record, expected) => {
      if (!fail()) return store.save(record, expected);
      await new Promise((r) => setTimeout(r, delayMs));
      throw new Error("EIO: disk full");
    },
    appendAudit: (entries) => store.appendAudit(entries),
    readAudit: (id, limit) => store.readAudit(id, limit),
    close: () => store.close(),
  };
}

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
    expect(second.engine.snapshot(id).value).toEqual({ altinnAuthorized: "ready" });
    expect((await second.engine.get(id)).summary.boundUser).toBe("alice");
    clock.advance(165 * 86400_000 - 1);
    expect(second.engine.snapshot(id).value).toEqual({ altinnAuthorized: "ready" });
    clock.advance(1);
    await second.engine.settled();
    expect(second.engine.snapshot(id).value).toBe("expired");
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
    expect(engine.snapshot(flow.id).context.attempt.user).toBe("user-19");
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

  it("a failed write answers 503 and rolls the flow back to what is stored", async () => {
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
    expect(engine.snapshot(flow.id).value).toBe("idle");
    fail = false;
    await engine.send(flow.id, authorize("bob"));
    expect(engine.snapshot(flow.id).context.attempt.user).toBe("bob");
    await engine.stop();
  });

  it("a failed write while the actor moves on (callback → exchange → Altinn) is rolled back whole: the store and the live flow agree, and the flow keeps working", async () => {
    const store = await LowdbFlowStore.open(dir);
    let failures = 0;
    // The failing save takes a moment, so the actor's next transitions queue writes meanwhile.
    const flaky = failingSaves(store, () => failures-- > 0, 5);
    const clock = new SimulatedClock();
    const { engine } = await boot(clock, flaky);
    const flow = await engine.create("authorization", { legalEntity: "999999999", integration: "default" });
    await engine.send(flow.id, authorize("alice"));
    failures = 1;
    const error = await engine.send(flow.id, { type: "CALLBACK", state: "flow.alice", callbackUrl: CALLBACK_URL, code: SECRET_CODE }).catch((e) => e);
    expect(error).toMatchObject({ status: 503 });
    await new Promise((r) => setTimeout(r, 50));
    await engine.settled();
    const stored = (await store.get(flow.id))!;
    expect(stored.summary.state).toBe("awaitingCode");
    expect((await engine.get(flow.id)).revision).toBe(stored.revision);
    expect(engine.snapshot(flow.id).status).toBe("active");
    expect(engine.snapshot(flow.id).value).toBe("awaitingCode");
    const revoked = await engine.send(flow.id, { type: "REVOKE", user: "alice" });
    expect(revoked.summary.state).toBe("idle");
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
