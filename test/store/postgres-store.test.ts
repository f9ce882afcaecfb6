// What only the PostgreSQL store has (the shared contract is in flow-store.contract.test.ts):
// migrations that three instances apply at once, a failed migration rolled back whole, a clear
// refusal when the server cannot be reached, and the same store under Deno.
import { spawn } from "node:child_process";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { type AuditEntry, type FlowChange } from "../../src/store/flow-store.ts";
import { migrate, MIGRATIONS } from "../../src/store/postgres/migrations.ts";
import { PostgresFlowStore } from "../../src/store/postgres/postgres-store.ts";
import { databasesPerTest, PG_REQUIRED, probe } from "./postgres-server.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;
if (skip && !reach.ok) console.warn(`postgres-store tests skipped: ${reach.reason}; set AUTHFLOW_PG_TESTS=required to fail instead`);

const { cleanups, database } = databasesPerTest(reach);

/** Another session's transaction that has run `lock` (a SELECT … FOR UPDATE) and holds it until release(). */
async function rowsLockedElsewhere(url: string, lock: (tx: postgres.TransactionSql) => Promise<unknown>) {
  const locker = postgres(url, { max: 1, onnotice: () => undefined });
  cleanups.push(() => locker.end({ timeout: 1 }));
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const holding = locker.begin(async (tx) => {
    await lock(tx);
    locked();
    await held;
  });
  await lockTaken;
  return { release, holding };
}

describe.skipIf(skip)(`PostgreSQL store${skip && !reach.ok ? ` (skipped: ${reach.reason})` : ""}`, () => {
  it("three instances opening a fresh database at once all start, and each migration is applied once", async () => {
    const db = await database();
    const logs: string[][] = [[], [], []];
    const stores = await Promise.all(logs.map((lines) => PostgresFlowStore.open(db.url, { log: (line) => lines.push(line) })));
    cleanups.push(async () => void (await Promise.all(stores.map((s) => s.close()))));

    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => admin.end({ timeout: 1 }));
    const rows = await admin`SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version`;
    expect(rows.map((r) => [r.version, r.n])).toEqual(MIGRATIONS.map((m) => [m.version, 1]));
    const last = MIGRATIONS.at(-1)!.version;
    const appliers = logs.filter((lines) => lines.some((l) => l.includes("(applied now:")));
    expect(appliers).toHaveLength(1);
    for (const lines of logs) expect(lines.join("\n")).toMatch(new RegExp(`^store: PostgreSQL 127\\.0\\.0\\.1:5432/${db.name}, schema version ${last}`));

    // All three serve the one schema.
    await stores[0]!.save({ id: "flow-a", machine: "m", version: 1, revision: 1, createdAt: "2026-11-25T10:00:00.000Z", updatedAt: "2026-11-25T10:00:00.000Z", summary: {}, sealedSnapshot: "s", nextDeadlineAt: null, attentionFrom: null, lease: null }, null);
    expect(await Promise.all(stores.map((s) => s.count()))).toEqual([1, 1, 1]);

    // A restart applies nothing.
    const again: string[] = [];
    await (await PostgresFlowStore.open(db.url, { log: (l) => again.push(l) })).close();
    expect(again).toEqual([`store: PostgreSQL 127.0.0.1:5432/${db.name}, schema version ${last}`]);
  });

  it("a migration that fails rolls back whole: nothing of it stays, its version is not recorded, and the next start tries again", async () => {
    const db = await database();
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => sql.end({ timeout: 1 }));
    const broken = [...MIGRATIONS, { version: 999, name: "broken", sql: "CREATE TABLE half_done (a int); SELECT 1 / 0;" }];
    await expect(migrate(sql, broken)).rejects.toThrow(/division by zero/);
    expect((await sql`SELECT to_regclass('half_done') AS t, to_regclass('flows') AS f`)[0]).toEqual({ t: null, f: null });
    expect(await migrate(sql)).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.at(-1)!.version });
  });

  it("claimDue never waits on a flow whose row another transaction holds (a save under way, a stuck instance): it takes the others", async () => {
    const db = await database();
    const store = await PostgresFlowStore.open(db.url, { log: () => undefined });
    cleanups.push(() => store.close());
    const at = "2026-11-25T10:00:00.000Z";
    for (const [i, id] of ["flow-held", "flow-b", "flow-c"].entries()) {
      await store.save({ id, machine: "m", version: 1, revision: 1, createdAt: at, updatedAt: at, summary: {}, sealedSnapshot: "s", nextDeadlineAt: i, attentionFrom: null, lease: null }, null);
    }
    const { release, holding } = await rowsLockedElsewhere(db.url, (tx) => tx`SELECT id FROM flows WHERE id = 'flow-held' FOR UPDATE`);
    const claimed = await Promise.race([store.claimDue(10, "me", 1000, 10, 0), new Promise<"blocked">((resolve) => setTimeout(() => resolve("blocked"), 2000))]);
    release();
    await holding;
    expect(claimed === "blocked" ? claimed : claimed.map((r) => r.id)).toEqual(["flow-b", "flow-c"]);
    expect((await store.claimDue(10, "me", 1000, 10, 0)).map((r) => r.id)).toEqual(["flow-held", "flow-b", "flow-c"]);
  });

  it("after the listening connection is dropped, the store listens again, says so in one line, and hears the next change", async () => {
    const db = await database();
    const lines: string[] = [];
    const store = await PostgresFlowStore.open(db.url, { log: (line) => lines.push(line) });
    const other = await PostgresFlowStore.open(db.url, { log: () => undefined });
    cleanups.push(() => store.close(), () => other.close());
    const heard: FlowChange[] = [];
    await store.subscribe((change) => heard.push(change));
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => admin.end({ timeout: 1 }));
    const killed = await admin`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = ${db.name} AND query ILIKE 'listen%'`;
    expect(killed.map((r) => r.ok)).toEqual([true]);
    const at = "2026-11-25T10:00:00.000Z";
    const end = Date.now() + 10_000;
    // Keep writing until a change is heard: the reconnection takes postgres.js's backoff.
    for (let i = 0; heard.length === 0 && Date.now() < end; i++) {
      await other.save({ id: `flow-${i}`, machine: "m", version: 1, revision: 1, createdAt: at, updatedAt: at, summary: {}, sealedSnapshot: "s", nextDeadlineAt: null, attentionFrom: null, lease: null }, null);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(heard.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes("re-established"))).toEqual(["store: LISTEN authflow_flows re-established after a dropped connection; changes made meanwhile by other instances were not heard"]);
  }, 20_000);

  it("a notification that cannot be sent never fails a committed save, nor the saves after it (even when logging it fails)", async () => {
    const db = await database();
    // pg_notify refuses a payload of 8,000 bytes or more: an instance id that long makes every notification fail.
    let logCalls = 0;
    let broken = false;
    const store = await PostgresFlowStore.open(db.url, {
      instanceId: "x".repeat(8_000),
      log: () => {
        if (!broken) return; // opening logs its migrations
        logCalls++;
        throw new Error("the log is broken too");
      },
    });
    broken = true;
    cleanups.push(() => store.close());
    const at = "2026-11-25T10:00:00.000Z";
    const record = (id: string) => ({ id, machine: "m", version: 1, revision: 1, createdAt: at, updatedAt: at, summary: {}, sealedSnapshot: "s", nextDeadlineAt: null, attentionFrom: null, lease: null });
    await expect(store.save(record("flow-first"), null)).resolves.toBeUndefined();
    // Concurrent saves after the failed batch: each is answered, none is held back by the one before.
    await expect(Promise.all(["flow-a", "flow-b", "flow-c"].map((id) => store.save(record(id), null)))).resolves.toEqual([undefined, undefined, undefined]);
    expect(await store.count()).toBe(4);
    expect(logCalls).toBeGreaterThanOrEqual(2);
  });

  it("an unreachable server is refused at open with where it was (never the password) and why", async () => {
    const error = (await PostgresFlowStore.open("postgres://postgres:s3cret@127.0.0.1:1/nowhere", { log: () => undefined }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^PostgreSQL at 127\.0\.0\.1:1\/nowhere could not be opened: .*ECONNREFUSED/);
    expect(error.message).not.toContain("s3cret");
  });

  it("runs under Deno (the same file, only the postgres package and Web APIs), with the permissions of `deno task start`; Node hears its writes", async () => {
    const db = await database();
    const node = await PostgresFlowStore.open(db.url, { log: () => undefined });
    cleanups.push(() => node.close());
    const heard: FlowChange[] = [];
    await node.subscribe((change) => heard.push(change));

    const fixture = new URL("./fixtures/pg-deno.ts", import.meta.url).pathname;
    const permissions = ["--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "--allow-run"];
    const child = spawn("deno", ["run", ...permissions, fixture, db.url, "flow-deno"], { cwd: new URL("../..", import.meta.url).pathname, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, err).toBe(0);
    const seen = JSON.parse(out) as { got: { id: string; sealedSnapshot: string }; claimed: string[]; listed: string[] };
    expect(seen).toMatchObject({ got: { id: "flow-deno", sealedSnapshot: "sealed" }, claimed: ["flow-deno"], listed: ["flow-deno"] });
    expect((await node.get("flow-deno"))?.sealedSnapshot).toBe("sealed");
    const end = Date.now() + 3000;
    while (heard.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(heard).toEqual([{ id: "flow-deno", revision: 1 }]);
  }, 60_000);

  describe("the audit trail's fold", () => {
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
    const flow = (id: string, revision: number) => ({ id, machine: "authorization", version: 1, revision, createdAt: at(0), updatedAt: at(revision), summary: {}, sealedSnapshot: "s", nextDeadlineAt: null, attentionFrom: null, lease: null });
    const upkeep = (flowId: string, n: number): AuditEntry => ({ flowId, at: at(n), from: "altinnAuthorized", to: "altinnAuthorized", event: "KEEP_ALIVE", user: null, routine: true });
    const person = (flowId: string, n: number): AuditEntry => ({ flowId, at: at(n), from: "altinnAuthorized", to: "altinnAuthorized", event: "RENEW", user: "ada" });

    it("two instances folding one flow at once, while its entries keep coming, agree: every entry counted once, one entry standing for the folded", async () => {
      const db = await database();
      const [a, b] = [await PostgresFlowStore.open(db.url, { log: () => undefined }), await PostgresFlowStore.open(db.url, { log: () => undefined })];
      cleanups.push(() => a.close(), () => b.close());
      const id = "flow-folded";
      await a.save(flow(id, 1), null);
      let n = 0;
      const made: AuditEntry[] = [];
      const add = async (store: PostgresFlowStore, count: number) => {
        const entries = Array.from({ length: count }, () => (++n % 10 === 0 ? person(id, n) : upkeep(id, n)));
        made.push(...entries);
        await store.appendAudit(entries);
      };
      await add(a, 200);
      // Folds from both instances, several at a time, interleaved with new entries from both.
      for (let round = 0; round < 24; round++) {
        const adding = (async () => (await add(a, 7), await add(b, 5)))(); // one after the other: the trail's order is known
        await Promise.all([a.foldAudit(id), b.foldAudit(id), adding, a.foldAudit(id), b.foldAudit(id)]);
      }
      await a.foldAudit(id);
      const trail = await a.readAudit(id, 10_000);
      const folded = trail.filter((e) => e.folded !== undefined);
      expect(folded).toHaveLength(1);
      const routine = made.filter((e) => e.routine === true);
      expect(folded[0]!.folded!.entries + trail.filter((e) => e.routine === true && e.folded === undefined).length).toBe(routine.length);
      expect(trail.filter((e) => e.routine !== true)).toEqual(made.filter((e) => e.routine !== true));
      expect(folded[0]!.folded!.first).toBe(routine[0]!.at);
    });

    it("a save never waits for its fold: one held up by a lock on the flow's audit rows, the save (revision 64) answers at once and the fold lands once the lock goes", async () => {
      const db = await database();
      const lines: string[] = [];
      const store = await PostgresFlowStore.open(db.url, { log: (line) => lines.push(line) });
      cleanups.push(() => store.close());
      const id = "flow-held-fold";
      await store.save(flow(id, 1), null);
      for (let r = 2; r <= 63; r++) await store.save(flow(id, r), r - 1, [upkeep(id, r)]);
      const { release, holding } = await rowsLockedElsewhere(db.url, (tx) => tx`SELECT seq FROM flow_audit WHERE flow_id = ${id} FOR UPDATE`);
      const started = performance.now();
      const saved = await Promise.race([store.save(flow(id, 64), 63, [upkeep(id, 64)]).then(() => "saved"), new Promise((resolve) => setTimeout(() => resolve("waiting"), 2000))]);
      const tookMs = performance.now() - started;
      const foldedWhileHeld = (await store.readAudit(id, 1000)).some((e) => e.folded);
      release();
      await holding;
      expect(saved).toBe("saved");
      expect(tookMs).toBeLessThan(1500);
      expect(foldedWhileHeld).toBe(false);
      const end = Date.now() + 5000;
      while (!(await store.readAudit(id, 1000)).some((e) => e.folded) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      const trail = await store.readAudit(id, 1000);
      expect(trail.find((e) => e.folded)!.folded!.entries + trail.filter((e) => e.routine && !e.folded).length).toBe(63);
      expect(lines.filter((l) => /could not be folded/.test(l))).toEqual([]);
    });

    it("a tick does not rewrite the flows its instance holds: only its heartbeat is written, and its claims end with it", async () => {
      const db = await database();
      const store = await PostgresFlowStore.open(db.url, { log: () => undefined });
      cleanups.push(() => store.close());
      const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
      cleanups.push(() => sql.end({ timeout: 1 }));
      const now = Date.now();
      for (let i = 0; i < 20; i++) {
        await store.save({ id: `flow-${i}`, machine: "m", version: 1, revision: 1, createdAt: "2026-11-25T10:00:00.000Z", updatedAt: "2026-11-25T10:00:00.000Z", summary: {}, sealedSnapshot: "s".repeat(4000), nextDeadlineAt: now - i, attentionFrom: null, lease: null }, null);
      }
      expect(await store.claimDue(now, "a", now + 5000, 500, now)).toHaveLength(20);
      const versions = async () => (await sql`SELECT id, xmin::text AS v FROM flows ORDER BY id`).map((r) => `${r.id}:${r.v}`).join(",");
      const claimed = await versions();
      // Ten more ticks of the same instance: the same flows, no row version written (the first version rewrote all 20 each tick).
      for (let t = 1; t <= 10; t++) expect(await store.claimDue(now, "a", now + 5000 + t * 1000, 500, now + t * 1000)).toHaveLength(20);
      expect(await versions()).toBe(claimed);
      expect((await sql`SELECT alive_until FROM flow_claimants WHERE owner = 'a'`)[0]!.alive_until).toBe(String(now + 15_000));
      // Another instance gets none while a lives, and all of them once a's last heartbeat has passed.
      expect(await store.claimDue(now, "b", now + 20_000, 500, now + 14_999)).toEqual([]);
      expect(await store.claimDue(now, "b", now + 20_000, 500, now + 15_000)).toHaveLength(20);
      expect(await store.claimDue(now, "a", now + 25_000, 500, now + 15_001)).toEqual([]);
    });

    it("the fold reads a flow's routine entries through their own index, not every entry of the flow", async () => {
      const db = await database();
      const store = await PostgresFlowStore.open(db.url, { log: () => undefined });
      cleanups.push(() => store.close());
      const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
      cleanups.push(() => sql.end({ timeout: 1 }));
      // A flow with 50,000 entries that are not routine (people's, or written before the mark), beside 40 that are.
      await sql`INSERT INTO flow_audit (flow_id, at, from_state, to_state, event, actor, detail)
                SELECT 'flow-big', now(), 'altinnAuthorized', 'altinnAuthorized', 'KEEP_ALIVE', NULL, NULL FROM generate_series(1, 50000)`;
      await store.appendAudit(Array.from({ length: 40 }, (_, i) => upkeep("flow-big", i)));
      await sql`ANALYZE flow_audit`;
      const [plan] = await sql`EXPLAIN (FORMAT JSON) SELECT * FROM flow_audit WHERE flow_id = ${"flow-big"} AND detail @> '{"routine": true}'::jsonb ORDER BY seq`;
      expect(JSON.stringify(plan)).toContain('"Index Name":"flow_audit_routine"');
      await store.foldAudit("flow-big");
      expect((await sql`SELECT count(*)::int AS n FROM flow_audit WHERE flow_id = 'flow-big'`)[0]!.n).toBe(50_000 + 22);
    });
  });
});
