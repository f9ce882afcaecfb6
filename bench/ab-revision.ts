// The token call (or a whole authorization) of this checkout against another revision's, A/B: both
// services run side by side (each against a standalone simulator of its own, as against ID-porten),
// and the load alternates between them round by round, so the machine's other load falls on both
// alike. What it prints: CPU per call of each (the server's process group, /proc) and the median of
// the rounds' paired differences, and calls/s with the median of the rounds' ratios. Differences of
// a few µs need many rounds on a shared machine: the spread of the paired differences says how far
// to trust one.
//
//   node --import tsx bench/ab-revision.ts [REV]      REV defaults to HEAD (uncommitted changes against the last commit)
//   BENCH_AB_ROUNDS=10  BENCH_AB_SECONDS=2
//   BENCH_AB_LOAD=auth  whole authorizations, 8 at a time, BENCH_AB_AUTHS=200 a round after
//                       BENCH_AUTH_WARMUP=800 unmeasured on each side (the service's CPU per
//                       authorization settles only after ≈ 750)
//   BENCH_DATABASE_URL=postgres://…  both services on PostgreSQL (a database of their own each, made
//                       and dropped here) instead of lowdb; the server's CPU is still the service's
//                       process group's, so a query saved shows in calls/s more than in CPU/call
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, fixedCount, median, send, target, type Answer } from "./lib/http-load.ts";
import { ROOT, freePort, groupCpuSeconds, stopAll } from "./lib/proc.ts";
import { USER, authorizeThroughService, authorizedFlow, jsonAuth, serviceEnvFor, startService, startStandaloneSimulator } from "./lib/servers.ts";

const REV = process.argv[2] ?? "HEAD";
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 10);
const SECONDS = Number(process.env.BENCH_AB_SECONDS ?? 2);
const CONNECTIONS = 32;

const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
const commit = git("rev-parse", "--short", REV);
const other = join(mkdtempSync(join(tmpdir(), "authflow-ab-")), "tree");
git("worktree", "add", "--detach", other, commit);
symlinkSync(join(ROOT, "node_modules"), join(other, "node_modules"));

const AUTH = process.env.BENCH_AB_LOAD === "auth";
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "";
const admin = DATABASE_URL ? postgres(DATABASE_URL, { max: 1, onnotice: () => undefined }) : undefined;
const databases: string[] = [];

/** DATABASE_URL and ENCRYPTION_KEY for one side: a database of its own on the server. */
async function ownDatabase(): Promise<Record<string, string>> {
  if (!admin) return {};
  const name = `authflow_ab_${randomBytes(6).toString("hex")}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  databases.push(name);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return { DATABASE_URL: url.toString(), ENCRYPTION_KEY: randomBytes(32).toString("base64") };
}
const AUTHS = Number(process.env.BENCH_AB_AUTHS ?? 200);
const AUTH_WARMUP = Number(process.env.BENCH_AUTH_WARMUP ?? 800); // as bench/main.ts
const AUTH_WORKERS = 8;

interface Side {
  name: string;
  pgid: number;
  load: () => Promise<Answer>;
  rates: number[];
  cpu: number[];
}

try {
  const sides: Side[] = [];
  for (const [name, cwd] of [[`this checkout`, ROOT], [`revision ${commit}`, other]] as const) {
    const port = await freePort();
    const simulator = await startStandaloneSimulator(`http://127.0.0.1:${port}/callback`);
    const service = await startService({ name: `ab ${name}`, port, cwd, env: { ...serviceEnvFor(simulator), ...(await ownDatabase()) } });
    const flowId = await authorizedFlow(service);
    const t = target(service.url, CONNECTIONS);
    const body = JSON.stringify({ user: USER });
    const load = AUTH
      ? async () => (await authorizeThroughService(service), { status: 200, body: "" })
      : () => send(t, "POST", `/api/flows/${flowId}/token`, jsonAuth, body);
    sides.push({ name, pgid: service.proc.pid, load, rates: [] as number[], cpu: [] as number[] });
  }
  /** One round of the load on one side: answers, failures, rate and the server's CPU seconds. */
  const measure = async (side: Side) => {
    if (!AUTH) {
      const run = await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0.3, seconds: SECONDS, request: side.load, expect: 200, cpu: () => groupCpuSeconds(side.pgid) });
      return { ...run, cpuSeconds: run.cpuSeconds! };
    }
    const cpu0 = groupCpuSeconds(side.pgid);
    const run = await fixedCount({ workers: AUTH_WORKERS, total: AUTHS, request: side.load, expect: 200 });
    return { ...run, ok: AUTHS - run.failed, cpuSeconds: groupCpuSeconds(side.pgid) - cpu0 };
  };
  const unit = AUTH ? "ms" : "µs";
  const scale = AUTH ? 1e3 : 1e6;
  // Unmeasured first, for the JIT.
  for (const side of sides) {
    if (AUTH) await fixedCount({ workers: AUTH_WORKERS, total: AUTH_WARMUP, request: side.load, expect: 200 });
    else await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0, seconds: 2, request: side.load, expect: 200 });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length]!;
      const run = await measure(side);
      if (run.failed > 0) throw new Error(`${side.name}: ${run.failed} ${AUTH ? "authorizations" : "token calls"} failed (${run.firstFailure})`);
      side.rates.push(run.perSecond);
      side.cpu.push((run.cpuSeconds * scale) / run.ok);
    }
    process.stderr.write(`ab: round ${round + 1}/${ROUNDS}: ${sides.map((s) => `${s.name} ${s.rates.at(-1)!.toFixed(AUTH ? 1 : 0)}/s ${s.cpu.at(-1)!.toFixed(AUTH ? 2 : 0)} ${unit}`).join(", ")}\n`);
  }
  const [mine, theirs] = sides as [Side, Side];
  const differences = mine.cpu.map((c, i) => c - theirs.cpu[i]!).sort((a, b) => a - b);
  const ratios = mine.rates.map((r, i) => r / theirs.rates[i]!).sort((a, b) => a - b);
  const digits = AUTH ? 2 : 0;
  const per = AUTH ? "CPU/authorization" : "CPU/call";
  console.log(AUTH ? `whole authorizations, ${AUTH_WORKERS} at a time, ${ROUNDS} alternating rounds of ${AUTHS}` : `token calls, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s`);
  for (const side of sides) console.log(`  ${side.name.padEnd(20)} ${median(side.cpu).toFixed(digits).padStart(5)} ${unit} ${per}  ${median(side.rates).toFixed(AUTH ? 1 : 0).padStart(6)}/s`);
  console.log(`  this − ${commit}: ${median(differences) >= 0 ? "+" : ""}${median(differences).toFixed(AUTH ? 2 : 1)} ${unit} ${per} (rounds ${differences[0]!.toFixed(digits)} to ${differences.at(-1)!.toFixed(digits)}); ${AUTH ? "authorizations" : "calls"}/s ×${median(ratios).toFixed(2)} (rounds ${ratios[0]!.toFixed(2)}–${ratios.at(-1)!.toFixed(2)})`);
} finally {
  await stopAll();
  for (const name of databases) await admin!.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  await admin?.end({ timeout: 1 });
  git("worktree", "remove", "--force", other);
  if (existsSync(other)) rmSync(other, { recursive: true, force: true });
}
