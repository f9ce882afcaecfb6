// The lowdb store's save alone, as a create makes it: a new flow document (3–6 KB sealed snapshot)
// with its "create" audit line, 16 writers at once, then one update of each with an audit line.
// Saves/s and the process's CPU per save (user and system: process.cpuUsage counts the thread
// pool's fsyncs too), in alternating rounds so that the machine's other load hits every round.
//
//   node --import tsx bench/lowdb-save.ts        BENCH_SAVES=2000  BENCH_SAVE_ROUNDS=3  BENCH_WRITERS=16
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEntry, FlowRecord } from "../src/store/flow-store.ts";
import { LowdbFlowStore } from "../src/store/lowdb-store.ts";
import { BASE, syntheticFlow } from "./lib/synthetic-flow.ts";

const N = Number(process.env.BENCH_SAVES ?? 2000);
const ROUNDS = Number(process.env.BENCH_SAVE_ROUNDS ?? 3);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);
let made = 0;

function flow(): FlowRecord {
  return syntheticFlow(made++, { activeStates: ["grant.none"], pendingRevocations: 0, lastError: null }, { nextDeadlineAt: null });
}

// BENCH_AUDIT=0: saves without audit lines (what the audit file costs a save).
const AUDIT = process.env.BENCH_AUDIT !== "0";
const audit = (r: FlowRecord, event: string): AuditEntry[] => !AUDIT ? [] : [{ flowId: r.id, at: r.updatedAt, from: null, to: "idle", event, user: null, client: "bench" }];

const dir = await mkdtemp(join(tmpdir(), "authflow-bench-lowdb-save-"));
const store = await LowdbFlowStore.open(dir, { log: () => undefined });
try {
  const rows: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const records = Array.from({ length: N }, flow);
    const run = async (op: (r: FlowRecord) => Promise<void>) => {
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t = performance.now();
      await Promise.all(Array.from({ length: WRITERS }, async () => { while (next < records.length) await op(records[next++]!); }));
      const seconds = (performance.now() - t) / 1000;
      const cpu = process.cpuUsage(cpu0);
      return { perSecond: N / seconds, user: cpu.user / N, system: cpu.system / N };
    };
    const c = await run((r) => store.save(r, null, audit(r, "create")));
    const u = await run((r) => store.save({ ...r, revision: 2, updatedAt: new Date(BASE + 1).toISOString() }, 1, audit(r, "AUTHORIZE")));
    const line = (what: string, m: { perSecond: number; user: number; system: number }) =>
      `${what} ${m.perSecond.toFixed(0).padStart(6)}/s  ${(m.user + m.system).toFixed(0).padStart(5)} µs CPU/save (${m.user.toFixed(0)} user, ${m.system.toFixed(0)} system)`;
    rows.push(`round ${round + 1}: ${line("creates", c)} | ${line("updates", u)}`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  console.log(`lowdb store, ${WRITERS} writers, ${N} saves a round, each with one audit line`);
  console.log(rows.join("\n"));
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
