// Saves per second into the PostgreSQL store, one writer and 16 concurrent, creates and
// compare-and-swap updates of realistic records (a sealed snapshot of 3–6 KB), with the lowdb
// store measured the same way in the same run; then the due-time and list queries at 10,000 rows.
// A database of its own on the machine's server (AUTHFLOW_PG_ADMIN_URL, default trust auth on
// 127.0.0.1:5432), dropped at the end.
//
//   node --import tsx bench/postgres-store.ts
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FlowRecord, FlowStore } from "../src/store/flow-store.ts";
import { LowdbFlowStore } from "../src/store/lowdb-store.ts";
import { PostgresFlowStore } from "../src/store/postgres/postgres-store.ts";
import { createTestDatabase } from "../test/store/postgres-server.ts";
import { BASE, syntheticFlow } from "./lib/synthetic-flow.ts";

const N = Number(process.env.BENCH_SAVES ?? 2000);
let made = 0;

function flow(): FlowRecord {
  const i = made++;
  return syntheticFlow(i, { state: "authorized", activeStates: ["grant.authorized.idle"], boundUser: `user-${i % 50}`, pendingRevocations: 0, lastError: null });
}

/** `total` saves by `writers` loops at once; each save a create, then each record updated once. */
async function savesPerSecond(store: FlowStore, writers: number, total: number): Promise<{ creates: number; updates: number }> {
  const records = Array.from({ length: total }, flow);
  const run = async (op: (r: FlowRecord) => Promise<void>) => {
    let next = 0;
    const t = performance.now();
    await Promise.all(Array.from({ length: writers }, async () => { while (next < records.length) await op(records[next++]!); }));
    return total / ((performance.now() - t) / 1000);
  };
  const creates = await run((r) => store.save(r, null));
  const updates = await run((r) => store.save({ ...r, revision: 2, updatedAt: new Date(BASE + 1).toISOString() }, 1));
  return { creates, updates };
}

async function perCall(n: number, fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - t) / n;
}

const db = await createTestDatabase();
const dir = await mkdtemp(join(tmpdir(), "authflow-bench-pg-"));
const pg = await PostgresFlowStore.open(db.url, { log: () => undefined });
const lowdb = await LowdbFlowStore.open(dir, { log: () => undefined });
try {
  const table: string[] = ["store       writers  creates/s  updates/s"];
  for (const writers of [1, 16]) {
    for (const [name, store] of [["PostgreSQL", pg], ["lowdb", lowdb]] as const) {
      const { creates, updates } = await savesPerSecond(store, writers, writers === 1 ? N / 2 : N);
      table.push(`${name.padEnd(11)} ${String(writers).padStart(7)}  ${creates.toFixed(0).padStart(9)}  ${updates.toFixed(0).padStart(9)}`);
    }
  }
  console.log(table.join("\n"));

  // Fill to 10,000 rows, then the queries the engine and the API make.
  const have = await pg.count();
  await savesPerSecond(pg, 16, 10_000 - have);
  const page = await pg.list({ limit: 100 });
  const figures = {
    rows: await pg.count(),
    claimDueNoneDueMs: await perCall(200, () => pg.claimDue(BASE, "me", BASE + 90_000, 500)),
    claimDue10DueMs: await perCall(100, () => pg.claimDue(BASE + 86_400_000 + 9 * 60_000, "me", BASE + 90_000, 500)),
    claimDue500DueMs: await perCall(20, () => pg.claimDue(Number.MAX_SAFE_INTEGER, "me", BASE + 90_000, 500)),
    listPage100Ms: await perCall(200, () => pg.list({ limit: 100 })),
    listNextPageMs: await perCall(200, () => pg.list({ limit: 100, after: page.next! })),
    listByEntityMs: await perCall(200, () => pg.list({ limit: 100, legalEntity: "900000007" })),
    getMs: await perCall(500, () => pg.get(page.items[0]!.id)),
    countMs: await perCall(200, () => pg.count()),
  };
  console.log(Object.entries(figures).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`).join(" "));
} finally {
  await pg.close();
  await lowdb.close();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
}
