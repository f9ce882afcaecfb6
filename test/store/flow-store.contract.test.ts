// One contract, two stores: every FlowStore method against the lowdb store (a temp DATA_DIR) and
// the PostgreSQL store (a database of its own on the machine's server, see postgres-server.ts).
// Where the two differ by design (claims and notifications need several processes, which only
// PostgreSQL has), the test says what each must do.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthflowError } from "../../src/errors.ts";
import { StaleWriteError, type AuditEntry, type FlowChange, type FlowRecord, type FlowStore } from "../../src/store/flow-store.ts";
import { LowdbFlowStore } from "../../src/store/lowdb-store.ts";
import { PostgresFlowStore } from "../../src/store/postgres/postgres-store.ts";
import { createTestDatabase, PG_REQUIRED, probe, type TestDatabase } from "./postgres-server.ts";

const BASE = Date.parse("2026-11-25T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const NOW = BASE + 3_600_000;

function record(id: string, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id,
    machine: "authorization",
    version: 1,
    revision: 1,
    createdAt: iso(BASE),
    updatedAt: iso(BASE),
    summary: { legalEntity: "999999999", state: "idle", activeStates: ["grant.none"], pendingRevocations: 0 },
    sealedSnapshot: `sealed:${id}:${"x".repeat(64)}`,
    nextDeadlineAt: null,
    attentionFrom: null,
    lease: null,
    ...over,
  };
}
const next = (r: FlowRecord, over: Partial<FlowRecord> = {}): FlowRecord => ({ ...r, revision: r.revision + 1, updatedAt: iso(Date.parse(r.updatedAt) + 1000), ...over });
const row = ({ sealedSnapshot: _s, ...rest }: FlowRecord) => rest;
const pad = (n: number) => String(n).padStart(3, "0");

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("waited in vain");
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Backend {
  name: string;
  /** Several processes share it: claims are kept and other instances' changes are delivered. */
  shared: boolean;
  /** Why it cannot run here (skipped), or undefined. */
  skip?: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** An empty store for one test. */
  fresh(): Promise<FlowStore>;
  /** Another instance on the same data (another process's view); shared backends only. */
  peer(): Promise<FlowStore>;
}

const opened: FlowStore[] = [];
const track = <T extends FlowStore>(store: T): T => (opened.push(store), store);

function lowdbBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: "lowdb",
    shared: false,
    async setup() {},
    async teardown() {
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
    async fresh() {
      const dir = await mkdtemp(join(tmpdir(), "authflow-contract-"));
      dirs.push(dir);
      return track(await LowdbFlowStore.open(dir, { log: () => undefined }));
    },
    peer: () => Promise.reject(new Error("one process per DATA_DIR")),
  };
}

const reach = await probe();

function postgresBackend(): Backend {
  let db: TestDatabase | undefined;
  let admin: postgres.Sql | undefined;
  return {
    name: "PostgreSQL",
    shared: true,
    skip: reach.ok || PG_REQUIRED ? undefined : `${reach.reason}; set AUTHFLOW_PG_TESTS=required to fail instead`,
    async setup() {
      // With CI or AUTHFLOW_PG_TESTS=required an unreachable server fails every test of this half, with the reason.
      if (!reach.ok) throw new Error(`${reach.reason}. The PostgreSQL store tests are required here (CI or AUTHFLOW_PG_TESTS=required).`);
      db = await createTestDatabase();
      admin = postgres(db.url, { max: 1, onnotice: () => undefined });
      await (await PostgresFlowStore.open(db.url, { log: () => undefined })).close(); // migrate once
    },
    async teardown() {
      await admin?.end({ timeout: 1 });
      await db?.drop();
    },
    async fresh() {
      await admin!`TRUNCATE flows, flow_audit, flow_damage`;
      return track(await PostgresFlowStore.open(db!.url, { log: () => undefined, max: 4 }));
    },
    async peer() {
      return track(await PostgresFlowStore.open(db!.url, { log: () => undefined, max: 4 }));
    },
  };
}

const backends = [lowdbBackend(), postgresBackend()];

for (const backend of backends) {
  const suite = backend.skip ? describe.skip : describe;
  if (backend.skip) console.warn(`flow-store contract: the ${backend.name} half is skipped: ${backend.skip}`);

  suite(`FlowStore contract: ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ""}`, () => {
    let store: FlowStore;
    beforeAll(() => backend.setup(), 30_000);
    afterAll(() => backend.teardown(), 30_000);
    beforeEach(async () => void (store = await backend.fresh()));
    afterEach(async () => void (await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)))));

    describe("get, save, count", () => {
      it("a saved record is read back whole; an unknown or invalid id is undefined", async () => {
        const r = record("flow-a", { nextDeadlineAt: NOW, attentionFrom: NOW - 5, lease: { owner: "instance-1", until: NOW + 30_000 }, summary: { legalEntity: "999999999", state: "authorized", nested: { a: [1, "two", null] } } });
        await store.save(r, null);
        expect(await store.get("flow-a")).toEqual(r);
        expect(await store.get("flow-unknown")).toBeUndefined();
        expect(await store.get("../etc/passwd")).toBeUndefined();
        await expect(store.save(record("no/slashes"), null)).rejects.toThrow(/invalid flow id/);
        expect(await store.count()).toBe(1);
      });

      it("compare-and-swap: creating an existing id, or replacing a revision that is not the stored one, is refused and changes nothing", async () => {
        const r1 = record("flow-a");
        await store.save(r1, null);
        await expect(store.save(record("flow-a", { sealedSnapshot: "other" }), null)).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.save(next(r1, { revision: 3 }), 2)).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.save(next(r1), 0)).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.get("flow-a")).toEqual(r1);
        const r2 = next(r1, { summary: { state: "awaitingCode" } });
        await store.save(r2, 1);
        expect(await store.get("flow-a")).toEqual(r2);
        await expect(store.save(next(r1), 1)).rejects.toBeInstanceOf(StaleWriteError); // the race's loser
        await expect(store.save(record("flow-b", { revision: 2 }), 1)).rejects.toBeInstanceOf(StaleWriteError); // not there at all
        expect(await store.get("flow-a")).toEqual(r2);
        expect(await store.count()).toBe(1);
      });

      it(`concurrent saves of the same revision${backend.shared ? " from two store instances" : ""}: exactly one wins, the others are StaleWriteError`, async () => {
        const writers = backend.shared ? [store, await backend.peer()] : [store];
        for (let round = 0; round < 5; round++) {
          const id = `flow-race-${round}`;
          // Creation races too: expected null from every writer.
          const created = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => writers[i % writers.length]!.save(record(id, { sealedSnapshot: `creator-${i}` }), null)));
          expect(created.filter((s) => s.status === "fulfilled")).toHaveLength(1);
          const base = (await store.get(id))!;
          const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => writers[i % writers.length]!.save(next(base, { sealedSnapshot: `writer-${i}` }), base.revision)));
          const won = results.flatMap((s, i) => (s.status === "fulfilled" ? [i] : []));
          expect(won).toHaveLength(1);
          for (const s of results) if (s.status === "rejected") expect(s.reason).toBeInstanceOf(StaleWriteError);
          expect((await store.get(id))!.sealedSnapshot).toBe(`writer-${won[0]}`);
        }
      });
    });

    describe("list", () => {
      async function seed(n: number, shape: (i: number) => Partial<FlowRecord> = () => ({})) {
        for (let i = 0; i < n; i++) await store.save(record(`flow-${pad(i)}`, { createdAt: iso(BASE + i * 1000), ...shape(i) }), null);
      }

      it("filters by machine, legal entity, state and attention in the store, and never returns a sealed snapshot", async () => {
        await seed(12, (i) => ({
          machine: i % 4 === 0 ? "other" : "authorization",
          summary: { legalEntity: i % 2 ? "111111111" : "222222222", state: i % 3 ? "authorized" : "expired" },
          attentionFrom: i % 5 === 0 ? NOW - 1 : i % 5 === 1 ? NOW + 60_000 : null,
        }));
        const ids = async (q: object) => (await store.list({ limit: 500, ...q })).items.map((r) => r.id);
        const expected = (pred: (i: number) => boolean) => Array.from({ length: 12 }, (_, i) => i).filter(pred).map((i) => `flow-${pad(i)}`);
        expect(await ids({})).toEqual(expected(() => true));
        expect(await ids({ machine: "other" })).toEqual(expected((i) => i % 4 === 0));
        expect(await ids({ legalEntity: "111111111" })).toEqual(expected((i) => i % 2 === 1));
        // A caller's reach (a list of legal entities): only theirs, in the store, so no page or cursor names another's.
        expect(await ids({ legalEntities: ["111111111"] })).toEqual(expected((i) => i % 2 === 1));
        expect(await ids({ legalEntities: ["111111111", "222222222"] })).toEqual(expected(() => true));
        expect(await ids({ legalEntities: [] })).toEqual([]);
        expect(await ids({ state: "expired" })).toEqual(expected((i) => i % 3 === 0));
        expect(await ids({ legalEntity: "222222222", state: "authorized", machine: "authorization" })).toEqual(expected((i) => i % 2 === 0 && i % 3 !== 0 && i % 4 !== 0));
        expect(await ids({ attention: true, attentionAt: NOW })).toEqual(expected((i) => i % 5 === 0));
        expect(await ids({ attention: false, attentionAt: NOW })).toEqual(expected((i) => i % 5 !== 0));
        // attentionFrom in the future: due for a person only once attentionAt reaches it.
        expect(await ids({ attention: true, attentionAt: NOW + 60_000 })).toEqual(expected((i) => i % 5 <= 1));
        expect(await ids({ legalEntity: "nobody" })).toEqual([]);
        const page = await store.list({ limit: 500 });
        for (const item of page.items) expect(item).not.toHaveProperty("sealedSnapshot");
        expect(page.items[3]).toEqual(row(record("flow-003", { createdAt: iso(BASE + 3000), summary: { legalEntity: "111111111", state: "expired" } })));
      });

      it("pages in (createdAt, id) order with an opaque cursor; the last page says there is no next", async () => {
        // Ties on createdAt are broken by id; saved out of order.
        const ids = ["flow-c", "flow-a", "flow-e", "flow-b", "flow-d", "flow-f", "flow-g"];
        for (const id of ids) await store.save(record(id, { createdAt: iso(BASE + (id < "flow-d" ? 0 : 1000)) }), null);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ limit: 3, ...(cursor ? { after: cursor } : {}) });
          seen.push(...page.items.map((r) => r.id));
          if (page.next) expect(page.next).toMatch(/^[A-Za-z0-9_-]{1,200}$/);
          cursor = page.next ?? undefined;
          pages++;
        } while (cursor);
        expect(seen).toEqual(["flow-a", "flow-b", "flow-c", "flow-d", "flow-e", "flow-f", "flow-g"]);
        expect(pages).toBe(3);
        // Exactly full: no empty page after.
        expect((await store.list({ limit: 7 })).next).toBeNull();
        expect((await store.list({ limit: 6 })).next).not.toBeNull();
      });

      it("pages newest first too: (createdAt, id) descending, the cursor meaning older than it, filters applied", async () => {
        const ids = ["flow-c", "flow-a", "flow-e", "flow-b", "flow-d", "flow-f", "flow-g"];
        for (const id of ids) await store.save(record(id, { createdAt: iso(BASE + (id < "flow-d" ? 0 : 1000)), summary: { legalEntity: id === "flow-b" ? "other" : "mine", state: "idle" } }), null);
        const walk = async (query: object, limit: number) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.list({ limit, newestFirst: true, ...query, ...(cursor ? { after: cursor } : {}) });
            seen.push(...page.items.map((r) => r.id));
            cursor = page.next ?? undefined;
          } while (cursor);
          return seen;
        };
        expect(await walk({}, 3)).toEqual(["flow-g", "flow-f", "flow-e", "flow-d", "flow-c", "flow-b", "flow-a"]);
        expect(await walk({}, 7)).toEqual(["flow-g", "flow-f", "flow-e", "flow-d", "flow-c", "flow-b", "flow-a"]);
        expect(await walk({ legalEntity: "mine" }, 2)).toEqual(["flow-g", "flow-f", "flow-e", "flow-d", "flow-c", "flow-a"]);
        expect(await walk({ legalEntities: ["other"] }, 1)).toEqual(["flow-b"]);
        // A row added while paging, newer than everything: not on a later page (those are older).
        const first = await store.list({ limit: 2, newestFirst: true });
        await store.save(record("flow-z", { createdAt: iso(BASE + 5000) }), null);
        const rest = await store.list({ limit: 10, newestFirst: true, after: first.next! });
        expect(rest.items.map((r) => r.id)).toEqual(["flow-e", "flow-d", "flow-c", "flow-b", "flow-a"]);
        expect((await store.list({ limit: 1, newestFirst: true })).items[0]!.id).toBe("flow-z");
      });

      it("pages with a filter skip what does not match and still end", async () => {
        await seed(20, (i) => ({ summary: { legalEntity: i % 7 === 0 ? "7" : "x", state: "idle" } }));
        const first = await store.list({ legalEntity: "7", limit: 2 });
        expect(first.items.map((r) => r.id)).toEqual(["flow-000", "flow-007"]);
        const second = await store.list({ legalEntity: "7", limit: 2, after: first.next! });
        expect(second).toEqual({ items: [expect.objectContaining({ id: "flow-014" })], next: null });
      });

      it("no duplicates and no gaps across pages while rows are added before and after the cursor", async () => {
        await seed(30);
        const seen: string[] = [];
        let cursor: string | undefined;
        let added = 0;
        do {
          const page = await store.list({ limit: 4, ...(cursor ? { after: cursor } : {}) });
          seen.push(...page.items.map((r) => r.id));
          cursor = page.next ?? undefined;
          // One row before everything seen so far, one after everything.
          await store.save(record(`early-${added}`, { createdAt: iso(BASE - 1000 * (added + 1)) }), null);
          await store.save(record(`late-${added}`, { createdAt: iso(BASE + 1_000_000 + added) }), null);
          added++;
        } while (cursor);
        expect(new Set(seen).size).toBe(seen.length);
        const originals = Array.from({ length: 30 }, (_, i) => `flow-${pad(i)}`);
        expect(seen.filter((id) => id.startsWith("flow-"))).toEqual(originals);
        expect(seen.some((id) => id.startsWith("early-"))).toBe(false);
        // Rows added after the cursor are reached, in order (all but the one added after the last page).
        expect(seen.filter((id) => id.startsWith("late-"))).toEqual(Array.from({ length: added - 1 }, (_, i) => `late-${i}`));
      });

      it("a cursor that is not one of ours is a 400, not a 500", async () => {
        await seed(2);
        // The last two are ours in shape, with an id no flow has: U+0000 (PostgreSQL answered 500) and a lone surrogate.
        const shaped = (id: string) => Buffer.from(JSON.stringify(["2020-01-01T00:00:00.000Z", id])).toString("base64url");
        // And times the store never writes: a year PostgreSQL cannot hold answered 500 there; "1" and year 1 paged from the start (review).
        const at = (time: string) => Buffer.from(JSON.stringify([time, "flow-001"])).toString("base64url");
        for (const bad of ["bm90LWEtY3Vyc29y", "AAAA", "eyJ4Ijox", shaped("\u0000"), shaped("\ud800"), at("+275760-09-13T00:00:00.000Z"), at("1"), at("0001-01-01T00:00:00.000Z"), at("2026-02-30T00:00:00.000Z")]) {
          const error = await store.list({ limit: 1, after: bad }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(AuthflowError);
          expect((error as AuthflowError).status).toBe(400);
        }
      });

      it("count follows creates and quarantines", async () => {
        expect(await store.count()).toBe(0);
        await seed(5);
        expect(await store.count()).toBe(5);
        await store.quarantine("flow-002", "test");
        expect(await store.count()).toBe(4);
      });
    });

    describe("claimDue: the due-time index", () => {
      async function seedDeadlines() {
        const deadlines: [string, number | null][] = [
          ["flow-late", NOW + 500],
          ["flow-first", NOW - 2000],
          ["flow-none", null],
          ["flow-second", NOW - 1000],
          ["flow-edge", NOW],
          ["flow-third", NOW - 500],
        ];
        for (const [id, at] of deadlines) await store.save(record(id, { nextDeadlineAt: at }), null);
      }

      it("returns due flows only (nextDeadlineAt <= until), earliest first, as id, revision and deadline (never the sealed snapshot), at most `limit`", async () => {
        await seedDeadlines();
        const due = await store.claimDue(NOW, "me", NOW + 60_000, 10, NOW);
        expect(due.map((r) => r.id)).toEqual(["flow-first", "flow-second", "flow-third", "flow-edge"]);
        const first = record("flow-first", { nextDeadlineAt: NOW - 2000 });
        expect(due[0]).toEqual({ id: first.id, revision: first.revision, nextDeadlineAt: NOW - 2000 });
        expect((await store.claimDue(NOW, "me", NOW + 60_000, 2, NOW)).map((r) => r.id)).toEqual(["flow-first", "flow-second"]);
        expect((await store.claimDue(NOW - 3000, "me", NOW + 60_000, 10, NOW)).map((r) => r.id)).toEqual([]);
        // A deadline moved by a save is where the index looks next.
        const stored = (await store.get("flow-first"))!;
        await store.save(next(stored, { nextDeadlineAt: NOW + 1000 }), stored.revision);
        expect((await store.claimDue(NOW + 1000, "me", NOW + 60_000, 10, NOW)).at(-1)).toEqual({ id: "flow-first", revision: stored.revision + 1, nextDeadlineAt: NOW + 1000 });
        expect((await store.claimDue(NOW, "me", NOW + 60_000, 10, NOW)).map((r) => r.id)).toEqual(["flow-second", "flow-third", "flow-edge"]);
      });

      it("with `machines`, only flows of those machines (name@version) are claimed: a newer release's flows are left to the instances that run it", async () => {
        await store.save(record("flow-v1", { nextDeadlineAt: NOW - 10 }), null);
        await store.save(record("flow-v2", { version: 2, nextDeadlineAt: NOW - 20 }), null);
        await store.save(record("flow-other", { machine: "other", nextDeadlineAt: NOW - 30 }), null);
        expect((await store.claimDue(NOW, "old", NOW + 1000, 10, NOW, ["authorization@1"])).map((r) => r.id)).toEqual(["flow-v1"]);
        // The newer release runs both versions; with a shared store the old instance's claim on flow-v1 holds.
        const byNew = (await store.claimDue(NOW, "new", NOW + 1000, 10, NOW, ["authorization@1", "authorization@2"])).map((r) => r.id);
        expect(byNew).toEqual(backend.shared ? ["flow-v2"] : ["flow-v2", "flow-v1"]);
        expect((await store.claimDue(NOW, "any", NOW + 1000, 10, NOW)).map((r) => r.id)).toEqual(backend.shared ? ["flow-other"] : ["flow-other", "flow-v2", "flow-v1"]);
      });

      it("claimant: an owner's heartbeat, alive until its last claimUntil, without a break since its first tick or the first after it ended", async () => {
        expect(await store.claimant("a")).toBeNull();
        await store.claimDue(NOW, "a", NOW + 1000, 10, NOW);
        expect(await store.claimant("a")).toEqual({ aliveUntil: NOW + 1000, aliveSince: NOW });
        await store.claimDue(NOW, "a", NOW + 1900, 10, NOW + 900); // within its heartbeat: no break
        expect(await store.claimant("a")).toEqual({ aliveUntil: NOW + 1900, aliveSince: NOW });
        await store.claimDue(NOW, "a", NOW + 4000, 10, NOW + 3000); // its heartbeat had ended (a database out of reach, say)
        expect(await store.claimant("a")).toEqual({ aliveUntil: NOW + 4000, aliveSince: NOW + 3000 });
        const peer = backend.shared ? await backend.peer() : store;
        expect(await peer.claimant("a")).toEqual({ aliveUntil: NOW + 4000, aliveSince: NOW + 3000 });
        expect(await peer.claimant("b")).toBeNull();
      });

      if (backend.shared) {
        it("`fresh` bounds the flows claimed anew, never the owner's own: a backed-up instance gets its own back, the rest go to another", async () => {
          // Review finding: a first version bounded all of them, and a flow only its (backed-up) owner could take waited in the store.
          await seedDeadlines();
          const a = store;
          const b = await backend.peer();
          expect((await a.claimDue(NOW, "a", NOW + 1000, 500, NOW, undefined, 2)).map((r) => r.id)).toEqual(["flow-first", "flow-second"]);
          expect((await a.claimDue(NOW, "a", NOW + 1000, 500, NOW, undefined, 0)).map((r) => r.id)).toEqual(["flow-first", "flow-second"]); // its own, nothing anew
          expect((await b.claimDue(NOW, "b", NOW + 1000, 500, NOW)).map((r) => r.id)).toEqual(["flow-third", "flow-edge"]);
        });

        it("a claim held by another owner is skipped until it ends; the same owner re-claims; a save does not end a claim", async () => {
          await seedDeadlines();
          const a = store;
          const b = await backend.peer();
          expect((await a.claimDue(NOW, "a", NOW + 1000, 2, NOW)).map((r) => r.id)).toEqual(["flow-first", "flow-second"]);
          // b gets what a did not claim, never what a holds.
          expect((await b.claimDue(NOW, "b", NOW + 1000, 10, NOW)).map((r) => r.id)).toEqual(["flow-third", "flow-edge"]);
          expect(await b.claimDue(NOW, "b", NOW + 1000, 10, NOW + 999)).toHaveLength(2); // b's own, re-claimed
          expect((await a.claimDue(NOW, "a", NOW + 1000, 10, NOW + 500)).map((r) => r.id)).toEqual(["flow-first", "flow-second"]);
          // The engine writes a flow it holds: the claim stays.
          const held = (await a.get("flow-first"))!;
          await a.save(next(held), held.revision);
          expect((await b.claimDue(NOW, "b", NOW + 2000, 10, NOW + 999)).map((r) => r.id)).toEqual(["flow-third", "flow-edge"]);
          // a dies: its claims end by themselves at claimUntil (a's last claim ran to NOW + 1000).
          expect((await b.claimDue(NOW, "b", NOW + 5000, 10, NOW + 1000)).map((r) => r.id)).toEqual(["flow-first", "flow-second", "flow-third", "flow-edge"]);
          expect(await a.claimDue(NOW, "a", NOW + 5000, 10, NOW + 1000)).toEqual([]);
        });

        it("an owner that retires (a graceful stop) lets go of its claims and its heartbeat at once: another claims its due flows and may take over its leases", async () => {
          // Review finding: a stopped instance's claims held until its heartbeat ran out, and its
          // parked calls' flows waited for that before the next instance could make them.
          await seedDeadlines();
          const a = store;
          const b = await backend.peer();
          expect((await a.claimDue(NOW, "a", NOW + 60_000, 10, NOW)).map((r) => r.id)).toEqual(["flow-first", "flow-second", "flow-third", "flow-edge"]);
          expect(await b.claimDue(NOW, "b", NOW + 60_000, 10, NOW + 10)).toEqual([]);
          await a.retire!("a", NOW + 20);
          expect((await b.claimDue(NOW, "b", NOW + 60_000, 10, NOW + 30)).map((r) => r.id)).toEqual(["flow-first", "flow-second", "flow-third", "flow-edge"]);
          expect((await b.claimant("a"))!.aliveUntil).toBe(NOW + 20);
        });

        it("two instances claiming at once never take the same flow, and between them take every due one", async () => {
          for (let i = 0; i < 120; i++) await store.save(record(`flow-${pad(i)}`, { nextDeadlineAt: NOW - 120 + i }), null);
          const b = await backend.peer();
          const claimed = new Map<string, string[]>();
          const claim = async (s: FlowStore, owner: string) => {
            for (const r of await s.claimDue(NOW, owner, NOW + 60_000, 8, NOW)) claimed.set(r.id, [...(claimed.get(r.id) ?? []), owner]);
          };
          await Promise.all(Array.from({ length: 10 }, (_, i) => [claim(store, `a-${i}`), claim(b, `b-${i}`)]).flat());
          const twice = [...claimed].filter(([, owners]) => owners.length > 1);
          expect(twice).toEqual([]);
          expect(claimed.size).toBe(120); // 20 claims of 8 over 120 due flows: all taken, none twice
        });
      } else {
        it("one process per DATA_DIR: claims are not kept, every due record is returned to any owner", async () => {
          await seedDeadlines();
          expect(await store.claimDue(NOW, "a", NOW + 1000, 10, NOW)).toHaveLength(4);
          expect(await store.claimDue(NOW, "b", NOW + 1000, 10, NOW)).toHaveLength(4);
        });
      }
    });

    it("delete: only at the stored revision; the flow and its audit trail go, the id may be created anew; other instances hear of it", async () => {
      const changes: FlowChange[] = [];
      const other = backend.shared ? await backend.peer() : undefined;
      if (other) await other.subscribe((c) => changes.push(c));
      await store.save(record("flow-del"), null, [{ flowId: "flow-del", at: iso(BASE), from: null, to: "idle", event: "create", user: null }]);
      await store.save(record("flow-keep"), null);
      await expect(store.delete("flow-del", 2)).rejects.toBeInstanceOf(StaleWriteError);
      expect(await store.get("flow-del")).toBeDefined();
      await store.delete("flow-del", 1);
      expect(await store.get("flow-del")).toBeUndefined();
      expect(await store.revisionOf("flow-del")).toBeUndefined();
      expect(await store.readAudit("flow-del", 10)).toEqual([]);
      expect((await store.list({ limit: 10 })).items.map((r) => r.id)).toEqual(["flow-keep"]);
      expect(await store.count()).toBe(1);
      await expect(store.delete("flow-del", 1)).rejects.toBeInstanceOf(StaleWriteError);
      await store.save(record("flow-del"), null);
      expect((await store.get("flow-del"))!.revision).toBe(1);
      expect(await store.readAudit("flow-del", 10)).toEqual([]);
      if (other) {
        await waitFor(() => changes.some((c) => c.id === "flow-del" && c.revision === 2));
        expect(await other.get("flow-keep")).toBeDefined();
      }
    });

    it("the encryption-key check: none at first; the first value recorded stays, also when two record at once", async () => {
      expect(await store.readKeyCheck()).toBeUndefined();
      const peer = backend.shared ? await backend.peer() : store;
      const answers = await Promise.all([store.recordKeyCheck("check-one"), peer.recordKeyCheck("check-two")]);
      expect(answers[0]).toBe(answers[1]);
      expect(["check-one", "check-two"]).toContain(answers[0]);
      expect(await store.recordKeyCheck("check-three")).toBe(answers[0]);
      expect(await peer.readKeyCheck()).toBe(answers[0]);
    });

    describe("audit trail", () => {
      const entry = (flowId: string, n: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
        flowId,
        at: iso(BASE + n * 1000),
        from: n === 0 ? null : `s${n - 1}`,
        to: `s${n}`,
        event: n === 0 ? "create" : "EVENT",
        user: n % 2 ? `user-${n}` : null,
        ...extra,
      });

      it("keeps entries per flow in the order appended; readAudit gives the newest `limit`, oldest first; extra public fields survive", async () => {
        await store.appendAudit([entry("flow-a", 0), entry("flow-b", 0), entry("flow-a", 1)]);
        await store.appendAudit([entry("flow-a", 2, { person: "010190*****" })]);
        await store.appendAudit([entry("flow-a", 3, { person: null }), entry("flow-a", 4)]);
        await store.appendAudit([]);
        expect(await store.readAudit("flow-a", 100)).toEqual([entry("flow-a", 0), entry("flow-a", 1), entry("flow-a", 2, { person: "010190*****" }), entry("flow-a", 3, { person: null }), entry("flow-a", 4)]);
        expect((await store.readAudit("flow-a", 2)).map((e) => e.to)).toEqual(["s3", "s4"]);
        expect(await store.readAudit("flow-b", 100)).toEqual([entry("flow-b", 0)]);
        expect(await store.readAudit("flow-unknown", 100)).toEqual([]);
      });

      it("a year of routine upkeep stays bounded: older routine entries are folded into one that counts them, every other entry stays, in order, and the newest routine ones stay whole", async () => {
        // 700 writes of one flow, as renewals make them (KEEP_ALIVE, done: refreshIdporten, done:
        // exchangeAltinn: the same state, routine), with a person's event every 50th.
        const id = "5f0c2a9e-7d1b-4c3e-9a8f-0b1c2d3e4f5a";
        const at = (n: number) => iso(BASE + n * 160_000);
        const upkeep = ["KEEP_ALIVE", "done: refreshIdporten", "done: exchangeAltinn"];
        const made: AuditEntry[] = [];
        let current = record(id);
        await store.save(current, null, []);
        for (let n = 1; n <= 700; n++) {
          const person = n % 50 === 0;
          const audit: AuditEntry = person
            ? { flowId: id, at: at(n), from: "altinnAuthorized", to: "altinnAuthorized", event: "RENEW", user: "alice", client: "page" }
            : { flowId: id, at: at(n), from: "altinnAuthorized", to: "altinnAuthorized", event: upkeep[n % 3]!, user: null, routine: true };
          made.push(audit);
          const written = next(current);
          await store.save(written, current.revision, [audit]);
          current = written;
        }
        const trail = await store.readAudit(id, 100_000);
        const folded = trail.filter((e) => e.folded !== undefined);
        const whole = trail.filter((e) => e.folded === undefined);
        // Bounded: far fewer entries than were made…
        expect(trail.length).toBeLessThan(made.length / 2);
        // …every entry that is not routine is there, once, in order…
        const people = made.filter((e) => e.routine !== true);
        expect(whole.filter((e) => e.routine !== true)).toEqual(people);
        // …the newest routine ones are whole…
        const routine = made.filter((e) => e.routine === true);
        expect(whole.filter((e) => e.routine === true).slice(-21)).toEqual(routine.slice(-21));
        // …and the others are counted, each once, in one entry that says between which times.
        expect(folded).toHaveLength(1);
        expect(folded[0]).toMatchObject({ flowId: id, event: "folded: routine upkeep", user: null, routine: true, from: "altinnAuthorized", to: "altinnAuthorized" });
        const oneByOne = whole.filter((e) => e.routine === true);
        expect(folded[0]!.folded!.entries + oneByOne.length).toBe(routine.length);
        expect(folded[0]!.folded!.first).toBe(routine[0]!.at);
        expect(folded[0]!.folded!.last).toBe(routine[folded[0]!.folded!.entries - 1]!.at);
        // The trail stays in time order.
        expect(trail.map((e) => e.at)).toEqual([...trail.map((e) => e.at)].sort());
      }, 60_000);

      it(`words from outside holding U+0000 or half of a character are written, in the summary and the audit trail, never refused${backend.name === "PostgreSQL" ? " (each as U+FFFD: PostgreSQL cannot hold them)" : ""}; an emoji stays`, async () => {
        // A provider's error_description as it may come: a NUL, a lone low and a lone high surrogate, and an emoji (a proper pair).
        const said = "invalid_grant\u0000 (code \udc00 gone) \ud800 😀";
        const kept = backend.name === "PostgreSQL" ? "invalid_grant\uFFFD (code \uFFFD gone) \uFFFD 😀" : said;
        const summary = (text: string) => ({ legalEntity: "999999999", state: "idle", lastError: { error: "invalid_grant", error_description: text }, [`by ${text}`]: [text] });
        const trail = (text: string) => [entry("flow-a", 0, { user: text, client: text }), entry("flow-a", 1, { event: `error: ${text}`, person: text })];
        const first = record("flow-a", { summary: summary(said) });
        await store.save(first, null, trail(said).slice(0, 1));
        await store.appendAudit(trail(said).slice(1));
        // The flow goes on: a later write of it is taken too.
        await store.save(next(first, { summary: summary(said) }), 1, [entry("flow-a", 2, { user: said })]);
        expect((await store.get("flow-a"))!.summary).toEqual(summary(kept));
        expect((await store.list({ limit: 10 })).items[0]!.summary).toEqual(summary(kept));
        expect(await store.readAudit("flow-a", 10)).toEqual([...trail(kept), entry("flow-a", 2, { user: kept })]);
      });

      it("entries stay with their order under concurrent appends to one flow", async () => {
        await Promise.all(Array.from({ length: 20 }, (_, n) => store.appendAudit([entry("flow-a", n)])));
        expect((await store.readAudit("flow-a", 100)).map((e) => e.to).sort()).toEqual(Array.from({ length: 20 }, (_, n) => `s${n}`).sort());
      });
    });

    describe("quarantine and damage", () => {
      it("sets a flow aside: get, list and claimDue no longer see it, damaged() answers for it, a stale save is refused, the id may be created anew", async () => {
        await store.save(record("flow-a", { nextDeadlineAt: NOW }), null);
        await store.save(record("flow-b"), null);
        const report = await store.quarantine("flow-a", "its sealed snapshot is bound to another flow");
        expect(report).toMatchObject({ id: "flow-a", reason: "its sealed snapshot is bound to another flow" });
        expect(report.file).toMatch(/^flows\/flow-a/);
        expect(Date.parse(report.at)).not.toBeNaN();
        expect(await store.get("flow-a")).toBeUndefined();
        expect((await store.list({ limit: 10 })).items.map((r) => r.id)).toEqual(["flow-b"]);
        expect(await store.claimDue(NOW, "me", NOW + 1, 10, NOW)).toEqual([]);
        expect(await store.damaged("flow-a")).toEqual(report);
        expect(await store.damaged("flow-b")).toBeUndefined();
        expect(store.damageReports()).toEqual([report]);
        await expect(store.save(record("flow-a", { revision: 2 }), 1)).rejects.toBeInstanceOf(StaleWriteError);
        await store.save(record("flow-a"), null);
        expect(await store.get("flow-a")).toEqual(record("flow-a"));
      });

      if (backend.shared) {
        it("another instance answers for a flow set aside by this one", async () => {
          await store.save(record("flow-a"), null);
          const report = await store.quarantine("flow-a", "bound to another flow");
          const b = await backend.peer();
          expect(await b.damaged("flow-a")).toEqual(report);
          expect(b.damageReports()).toEqual([]); // reports made since *its* open
        });
      }
    });

    describe("subscribe", () => {
      if (backend.shared) {
        it("delivers another instance's changes (save, quarantine, delete), not this one's own, until unsubscribed; a gone flow's with its legal entity", async () => {
          const other = await backend.peer();
          const changes: FlowChange[] = [];
          const unsubscribe = await store.subscribe((c) => changes.push(c));
          await other.save(record("flow-a"), null);
          await other.save(next(record("flow-a")), 1);
          await store.save(record("flow-mine"), null);
          await other.quarantine("flow-a", "test");
          await other.save(record("flow-d", { summary: { ...record("flow-d").summary, legalEntity: "123456785" } }), null);
          await other.delete("flow-d", 1);
          await waitFor(() => changes.length >= 5);
          await new Promise((r) => setTimeout(r, 100)); // anything more would have come by now
          expect(changes).toEqual([
            { id: "flow-a", revision: 1 },
            { id: "flow-a", revision: 2 },
            { id: "flow-a", revision: 3, goneLegalEntity: "999999999" },
            { id: "flow-d", revision: 1 },
            { id: "flow-d", revision: 2, goneLegalEntity: "123456785" },
          ]);
          // A refused write is not a change.
          await expect(other.save(next(record("flow-mine")), 5)).rejects.toBeInstanceOf(StaleWriteError);
          await unsubscribe();
          await other.save(record("flow-b"), null);
          await new Promise((r) => setTimeout(r, 200));
          expect(changes).toHaveLength(5);
        });

        it("announces a write only once it is committed: 16 concurrent creates, each heard once, and on hearing the record and its audit entry are there to read", async () => {
          const other = await backend.peer();
          const ids = Array.from({ length: 48 }, (_, n) => `flow-c${pad(n)}`);
          const seen: Array<{ change: FlowChange; revision: number | undefined; audit: string[] }> = [];
          let reading = Promise.resolve();
          await store.subscribe((change) => {
            // Read at once, as another instance's engine does when it hears of a change.
            reading = reading.then(async () => {
              const [got, audit] = await Promise.all([store.get(change.id), store.readAudit(change.id, 10)]);
              seen.push({ change, revision: got?.revision, audit: audit.map((e) => e.event) });
            });
          });
          let i = 0;
          await Promise.all(
            Array.from({ length: 16 }, async () => {
              while (i < ids.length) {
                const id = ids[i++]!;
                await other.save(record(id), null, [{ flowId: id, at: iso(BASE), from: null, to: "idle", event: "CREATE", user: null }]);
              }
            }),
          );
          await waitFor(() => seen.length >= ids.length, 10_000);
          await new Promise((r) => setTimeout(r, 100));
          await reading;
          expect(seen.map((s) => s.change.id).sort()).toEqual(ids);
          for (const s of seen) expect({ id: s.change.id, revision: s.revision, audit: s.audit }).toEqual({ id: s.change.id, revision: s.change.revision, audit: ["CREATE"] });
        });

        it("two listeners on one store both hear a change; a throwing listener does not stop the other", async () => {
          const other = await backend.peer();
          const heard: string[] = [];
          await store.subscribe(() => {
            throw new Error("listener bug");
          });
          await store.subscribe((c) => heard.push(c.id));
          await other.save(record("flow-a"), null);
          await waitFor(() => heard.length === 1);
        });
      } else {
        it("has no other processes to hear from: a no-op that never calls the listener", async () => {
          const changes: FlowChange[] = [];
          const unsubscribe = await store.subscribe((c) => changes.push(c));
          await store.save(record("flow-a"), null);
          await store.quarantine("flow-a", "test");
          await new Promise((r) => setTimeout(r, 50));
          expect(changes).toEqual([]);
          await unsubscribe();
        });
      }
    });
  });
}
