// Where a flow create spends its time, under the bench's create load (16 clients, POST /api/flows):
// creates/s, the service's CPU per create (its process group, from /proc: main thread and the
// thread pool's fsyncs), and a CPU profile (`node --cpu-prof`) of the main thread summarized by
// function, area and the parts a create is suspected to spend on. Only the samples taken while
// the load ran are counted.
//
//   node --import tsx bench/profile-create.ts
//   BENCH_CREATES=4000  BENCH_PROFILE=0 (no profile)  BENCH_DATABASE_URL=postgres://… (the PostgreSQL store; a database of its own, dropped after)
//   BENCH_PROFILE_INTERVAL_US=250  BENCH_PROFILE_TOP=30  BENCH_CREATE_ROUNDS=2
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { report, summarize, type CpuProfile } from "./cpuprofile-summary.ts";
import { fixedCount, quantile, send, target } from "./lib/http-load.ts";
import { stopAll } from "./lib/proc.ts";
import { RUN_DIR, jsonAuth, newDir, startService } from "./lib/servers.ts";

const CREATES = Number(process.env.BENCH_CREATES ?? 4000);
const PROFILE = process.env.BENCH_PROFILE !== "0";
const INTERVAL = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250);
const ROUNDS = Number(process.env.BENCH_CREATE_ROUNDS ?? 2);
const CLIENTS = 16;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "";

export const CREATE_SUSPECTS: Array<[string, RegExp]> = [
  ["engine #create (placeholder, actor start, first write)", /^#create .*flow-engine\.ts/],
  ["  xstate (createActor, start, snapshots)", /node_modules\/xstate\//],
  ["  #writeOnce (seal, record, MAC, save)", /^#writeOnce .*flow-engine\.ts/],
  ["    seal (AES-GCM, HKDF) and MAC", /crypto\/(secrets|node-secret-box)\.ts/],
  ["    summary MAC: canonical JSON", /^canonicalJson |^summaryBinding /],
  ["    getPersistedSnapshot", /^getPersistedSnapshot /],
  ["store save (lowdb or PostgreSQL)", /^save .*(lowdb-store|postgres-store)\.ts/],
  ["  durable file writes (temp, fsync, rename, folder fsync)", /store\/(private-files|durable-json-file)\.ts/],
  ["  audit append", /^(appendAudit|appendDurably) /],
  ["  row index", /store\/row-index\.ts/],
  ["  postgres.js", /node_modules\/postgres\//],
  ["JSON.parse / JSON.stringify builtins (anywhere)", /^(parse|stringify) $/],
  ["hono + node-server (routing, request, response)", /node_modules\/(hono|@hono)\//],
  ["access-log line", /lifecycle\/run-server\.ts|node:internal\/console/],
  ["node:fs promises machinery", /node:internal\/fs\/promises/],
  ["GC", /^\(garbage collector\) /],
];

/** User and system CPU seconds of a process group's live processes (/proc/<pid>/stat, USER_HZ 100). */
function groupCpu(pgid: number): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    user += Number(fields[11]) / 100;
    system += Number(fields[12]) / 100;
  }
  return { user, system };
}

function mainThreadProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  const largest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  return JSON.parse(readFileSync(largest, "utf8")) as CpuProfile;
}

async function database(): Promise<{ url?: string; drop: () => Promise<void> }> {
  if (!DATABASE_URL) return { drop: async () => {} };
  const name = `authflow_profile_${randomBytes(6).toString("hex")}`;
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end({ timeout: 1 });
    },
  };
}

async function creates(base: string, total: number) {
  const t = target(base, CLIENTS);
  const body = JSON.stringify({ legalEntity: "999999999" });
  const run = await fixedCount({ workers: CLIENTS, total, request: () => send(t, "POST", "/api/flows", jsonAuth, body), expect: 201 });
  t.agent.destroy();
  if (run.failed > 0) throw new Error(`${run.failed} of ${total} creates failed (first: ${run.firstFailure})`);
  return run;
}

const db = await database();
try {
  const env: Record<string, string> = db.url ? { DATABASE_URL: db.url, ENCRYPTION_KEY: randomBytes(32).toString("base64") } : {};
  const profiles = newDir("profile-create");
  const service = await startService({
    name: "profiled creates",
    env,
    nodeFlags: PROFILE ? ["--cpu-prof", "--cpu-prof-dir", profiles, "--cpu-prof-interval", String(INTERVAL)] : [],
  });
  await creates(service.url, 500); // JIT, not counted
  const lines: string[] = [];
  let from = 0;
  let to = 0;
  let total = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const cpu0 = groupCpu(service.proc.pid);
    if (round === 0) from = Number(process.hrtime.bigint() / 1000n);
    const run = await creates(service.url, CREATES);
    to = Number(process.hrtime.bigint() / 1000n);
    const ok = CREATES - run.failed;
    total += ok;
    const cpu1 = groupCpu(service.proc.pid);
    const user = ((cpu1.user - cpu0.user) * 1e6) / ok;
    const system = ((cpu1.system - cpu0.system) * 1e6) / ok;
    lines.push(
      `round ${round + 1}: ${ok} creates in ${run.seconds.toFixed(1)} s = ${run.perSecond.toFixed(0)}/s, ${(user + system).toFixed(0)} µs CPU/create (service's process group: ${user.toFixed(0)} user, ${system.toFixed(0)} system), p50 ${quantile(run.latencies, 0.5).toFixed(1)} ms, p99 ${quantile(run.latencies, 0.99).toFixed(1)} ms`,
    );
    process.stderr.write(`profile-create: ${lines.at(-1)}\n`);
  }
  await service.proc.stop(20_000);
  console.log(`== creates, load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores, ${CLIENTS} clients, ${db.url ? "PostgreSQL" : "lowdb"} store${PROFILE ? `, profiled every ${INTERVAL} µs` : ", no profiler"}`);
  console.log(lines.join("\n"));
  if (PROFILE) {
    const profile = mainThreadProfile(profiles);
    const summary = profile.startTime <= from && profile.endTime >= to ? summarize(profile, { from, to }) : summarize(profile);
    console.log("");
    console.log(report(summary, { requests: total, top: Number(process.env.BENCH_PROFILE_TOP ?? 30), suspects: CREATE_SUSPECTS }));
  }
  if (process.env.BENCH_KEEP) console.log(`\nprofiles kept in ${RUN_DIR}`);
  else rmSync(RUN_DIR, { recursive: true, force: true });
} finally {
  await stopAll();
  await db.drop();
}
