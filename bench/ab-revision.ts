// The token call of this checkout against another revision's, A/B: both services run side by side
// (each against a standalone simulator of its own, as against ID-porten), and the load alternates
// between them round by round, so the machine's other load falls on both alike. What it prints:
// CPU per call of each (the server's process group, /proc) and the median of the rounds' paired
// differences, and calls/s with the median of the rounds' ratios. Differences of a few µs need
// many rounds on a shared machine: the spread of the paired differences says how far to trust one.
//
//   node --import tsx bench/ab-revision.ts [REV]      REV defaults to HEAD (uncommitted changes against the last commit)
//   BENCH_AB_ROUNDS=10  BENCH_AB_SECONDS=2
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, median, send, target } from "./lib/http-load.ts";
import { ROOT, freePort, groupCpuSeconds, stopAll } from "./lib/proc.ts";
import { USER, authorizedFlow, jsonAuth, serviceEnvFor, startService, startStandaloneSimulator } from "./lib/servers.ts";

const REV = process.argv[2] ?? "HEAD";
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 10);
const SECONDS = Number(process.env.BENCH_AB_SECONDS ?? 2);
const CONNECTIONS = 32;

const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
const commit = git("rev-parse", "--short", REV);
const other = join(mkdtempSync(join(tmpdir(), "authflow-ab-")), "tree");
git("worktree", "add", "--detach", other, commit);
symlinkSync(join(ROOT, "node_modules"), join(other, "node_modules"));

try {
  const sides = [];
  for (const [name, cwd] of [[`this checkout`, ROOT], [`revision ${commit}`, other]] as const) {
    const port = await freePort();
    const simulator = await startStandaloneSimulator(`http://127.0.0.1:${port}/callback`);
    const service = await startService({ name: `ab ${name}`, port, cwd, env: serviceEnvFor(simulator) });
    const flowId = await authorizedFlow(service);
    const t = target(service.url, CONNECTIONS);
    const body = JSON.stringify({ user: USER });
    sides.push({ name, pgid: service.proc.pid, load: () => send(t, "POST", `/api/flows/${flowId}/token`, jsonAuth, body), rates: [] as number[], cpu: [] as number[] });
  }
  for (const side of sides) await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0, seconds: 2, request: side.load, expect: 200 }); // JIT
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length]!;
      const run = await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0.3, seconds: SECONDS, request: side.load, expect: 200, cpu: () => groupCpuSeconds(side.pgid) });
      if (run.failed > 0) throw new Error(`${side.name}: ${run.failed} token calls failed (${run.firstFailure})`);
      side.rates.push(run.perSecond);
      side.cpu.push((run.cpuSeconds! * 1e6) / run.ok);
    }
    process.stderr.write(`ab: round ${round + 1}/${ROUNDS}: ${sides.map((s) => `${s.name} ${s.rates.at(-1)!.toFixed(0)}/s ${s.cpu.at(-1)!.toFixed(0)} µs`).join(", ")}\n`);
  }
  const [mine, theirs] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const differences = mine.cpu.map((c, i) => c - theirs.cpu[i]!).sort((a, b) => a - b);
  const ratios = mine.rates.map((r, i) => r / theirs.rates[i]!).sort((a, b) => a - b);
  console.log(`token calls, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s`);
  for (const side of sides) console.log(`  ${side.name.padEnd(20)} ${median(side.cpu).toFixed(0).padStart(4)} µs CPU/call  ${median(side.rates).toFixed(0).padStart(6)}/s`);
  console.log(`  this − ${commit}: ${median(differences) >= 0 ? "+" : ""}${median(differences).toFixed(1)} µs CPU/call (rounds ${differences[0]!.toFixed(0)} to ${differences.at(-1)!.toFixed(0)}); calls/s ×${median(ratios).toFixed(2)} (rounds ${ratios[0]!.toFixed(2)}–${ratios.at(-1)!.toFixed(2)})`);
} finally {
  await stopAll();
  git("worktree", "remove", "--force", other);
  if (existsSync(other)) rmSync(other, { recursive: true, force: true });
}
