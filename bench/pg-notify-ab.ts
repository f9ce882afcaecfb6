// Does pg_notify in the save statement stop concurrent creates from sharing a WAL flush?
// PostgreSQL's PreCommit_Notify takes a database-wide lock (AccessExclusiveLock on the
// pg_database object 0) and holds it until the transaction's end — after the commit record is
// flushed — so notifying transactions commit one at a time, one fsync each. This measures the
// create statement of the PostgreSQL store (flow INSERT + audit INSERT in one statement) from 16
// writers, interleaved rounds, in these variants:
//   in-statement  pg_notify in the write statement (the store before this bench)
//   none          no notification at all (the ceiling)
//   after-sync    the write, then pg_notify in a transaction of its own (synchronous commit)
//   after-async   the write, then pg_notify in its own transaction with synchronous_commit off
//   batched       the write, then the payloads of every save waiting at that moment in one
//                 async-commit notify statement (one in flight at a time) — what the store does now
//   store         PostgresFlowStore.save as it is in src/
// Also samples pg_stat_activity wait events during the in-statement and store variants.
//
//   node --import tsx bench/pg-notify-ab.ts
//   BENCH_SAVES=1500 BENCH_ROUNDS=3 BENCH_WRITERS=16 BENCH_VARIANTS=in-statement,none,after-async,batched,store
import postgres from "postgres";
import type { FlowRecord } from "../src/store/flow-store.ts";
import { PostgresFlowStore } from "../src/store/postgres/postgres-store.ts";
import { createTestDatabase } from "../test/store/postgres-server.ts";
import { syntheticFlow } from "./lib/synthetic-flow.ts";

const N = Number(process.env.BENCH_SAVES ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);
const VARIANTS = (process.env.BENCH_VARIANTS ?? "in-statement,none,after-sync,after-async,batched,store").split(",");
const CHANNEL = "authflow_flows";
let made = 0;

function flow(): FlowRecord {
  return syntheticFlow(made++);
}

const db = await createTestDatabase("authflow_notify_ab");
const store = await PostgresFlowStore.open(db.url, { log: () => undefined }); // applies the schema
const sql = postgres(db.url, { max: 10, onnotice: () => undefined });
const watcher = postgres(db.url, { max: 1, onnotice: () => undefined });
// Someone listening, as another instance would be.
const listener = postgres(db.url, { max: 1, onnotice: () => undefined });
let heard = 0;
await listener.listen(CHANNEL, () => void heard++);

function insert(r: FlowRecord, notify: boolean) {
  const audit = sql.json([{ flow_id: r.id, at: r.createdAt, from_state: null, to_state: "idle", event: "CREATE", actor: "bench", detail: null }] as never);
  const payload = `${r.id}:${r.revision}:bench`;
  const tail = notify ? sql`SELECT pg_notify(${CHANNEL}, ${payload}) FROM written` : sql`SELECT id FROM written`;
  return sql`
    WITH written AS (
      INSERT INTO flows (id, machine, version, revision, created_at, updated_at, summary, sealed_snapshot, next_deadline_at, attention_from, lease_owner, lease_until)
      VALUES (${r.id}, ${r.machine}, ${r.version}, ${r.revision}, ${new Date(r.createdAt)}, ${new Date(r.updatedAt)}, ${sql.json(r.summary as never)}, ${r.sealedSnapshot}, ${r.nextDeadlineAt}, ${null}, ${null}, ${null})
      ON CONFLICT (id) DO NOTHING
      RETURNING id),
    audited AS (
      INSERT INTO flow_audit (flow_id, at, from_state, to_state, event, actor, detail)
      SELECT e.flow_id, e.at, e.from_state, e.to_state, e.event, e.actor, e.detail
      FROM written, jsonb_to_recordset(${audit}::jsonb) AS e(flow_id text, at timestamptz, from_state text, to_state text, event text, actor text, detail jsonb)
      RETURNING 1)
    ${tail}`;
}

// The batched notifier: one statement in flight; payloads arriving meanwhile go in the next.
let queue: Array<{ payload: string; done: () => void }> = [];
let flushing = false;
async function flush() {
  flushing = true;
  while (queue.length) {
    const batch = queue;
    queue = [];
    const payloads = batch.map((b) => b.payload);
    await sql`SELECT set_config('synchronous_commit', 'off', true), pg_notify(${CHANNEL}, p) FROM unnest(${payloads}::text[]) AS p`;
    for (const b of batch) b.done();
  }
  flushing = false;
}
const batchedNotify = (payload: string) =>
  new Promise<void>((done) => {
    queue.push({ payload, done });
    if (!flushing) void flush();
  });

const variants: Record<string, (r: FlowRecord) => Promise<unknown>> = {
  "in-statement": (r) => insert(r, true),
  none: (r) => insert(r, false),
  "after-sync": async (r) => (await insert(r, false), sql`SELECT pg_notify(${CHANNEL}, ${`${r.id}:1:bench`})`),
  "after-async": async (r) => (await insert(r, false), sql`SELECT set_config('synchronous_commit', 'off', true), pg_notify(${CHANNEL}, ${`${r.id}:1:bench`})`),
  batched: async (r) => (await insert(r, false), batchedNotify(`${r.id}:1:bench`)),
  store: (r) => store.save(r, null, [{ flowId: r.id, at: r.createdAt, from: null, to: "idle", event: "CREATE", user: "bench" }]),
};

async function walStats() {
  const [row] = await watcher`SELECT wal_records::bigint AS records, wal_sync::bigint AS syncs FROM pg_stat_wal`;
  return { records: Number(row!.records), syncs: Number(row!.syncs) };
}

async function run(name: string): Promise<{ rate: number; syncsPerSave: number; waits: Map<string, number> }> {
  const records = Array.from({ length: N }, flow);
  const op = variants[name]!;
  let next = 0;
  const waits = new Map<string, number>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rows = await watcher`SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU/none') AS w FROM pg_stat_activity WHERE datname = ${db.name} AND state = 'active' AND pid <> pg_backend_pid() AND query NOT ILIKE 'listen%'`;
      for (const r of rows) waits.set(r.w as string, (waits.get(r.w as string) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const before = await walStats();
  const t = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async () => { while (next < records.length) await op(records[next++]!); }));
  const rate = N / ((performance.now() - t) / 1000);
  sampling = false;
  await sampler;
  const after = await walStats();
  return { rate, syncsPerSave: (after.syncs - before.syncs) / N, waits };
}

const results = new Map<string, number[]>();
try {
  // Warm-up, unmeasured.
  for (const name of VARIANTS) await run(name);
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, k) => VARIANTS[(round + k) % VARIANTS.length]!);
    for (const name of order) {
      const { rate, syncsPerSave, waits } = await run(name);
      (results.get(name) ?? results.set(name, []).get(name)!).push(rate);
      const top = [...waits].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([w, n]) => `${w} ${n}`).join(", ");
      console.log(`round ${round + 1} ${name.padEnd(12)} ${rate.toFixed(0).padStart(5)} creates/s  WAL syncs/save ${syncsPerSave.toFixed(2)}  waits: ${top}`);
    }
  }
  console.log(`\n${WRITERS} writers, ${N} creates per run, ${ROUNDS} interleaved rounds; heard ${heard} notifications`);
  for (const [name, rates] of results) console.log(`${name.padEnd(12)} ${rates.map((r) => r.toFixed(0)).join(" / ")}  median ${[...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!.toFixed(0)}`);
} finally {
  await listener.end({ timeout: 1 });
  await watcher.end({ timeout: 1 });
  await sql.end({ timeout: 1 });
  await store.close();
  await db.drop();
}
