// Where a whole authorization spends the service's CPU: the service against a standalone simulator
// (as the bench's authorization row runs it), 8 authorizations at a time, a CPU profile (`node
// --cpu-prof`) of the service taken over a measured window after a warm-up, summarized by function
// and area. The floor server (bench/floor-server.ts) is profiled the same way beside it, so what the
// service adds to the hops shows as the difference.
//
//   node --import tsx bench/profile-auth.ts
//   BENCH_PROFILE_SECONDS=8  BENCH_AUTH_WARMUP=800  BENCH_PROFILE_INTERVAL_US=250  BENCH_PROFILE_TOP=40
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { report, summarize, type CpuProfile } from "./cpuprofile-summary.ts";
import { closedLoop, fixedCount, quantile, type Answer } from "./lib/http-load.ts";
import { freePort, groupCpuSeconds, startProcess, stopAll, waitFor200 } from "./lib/proc.ts";
import { API_TOKEN, RUN_DIR, authorizeThroughService, newDir, serviceEnvFor, startService, startStandaloneSimulator } from "./lib/servers.ts";

const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 8);
const WARMUP = Number(process.env.BENCH_AUTH_WARMUP ?? 800);
const INTERVAL = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250);
const CONCURRENCY = 8;

function mainThreadProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  const largest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  return JSON.parse(readFileSync(largest, "utf8")) as CpuProfile;
}

async function profiled(name: string, start: (port: number, profileDir: string) => Promise<{ url: string; pid: number; stop: () => Promise<void> }>) {
  const port = await freePort();
  const profileDir = newDir(`profile-${name}`);
  const server = await start(port, profileDir);
  const ok: Answer = { status: 200, body: "" };
  const request = async () => (await authorizeThroughService(server), ok);
  const warm = await fixedCount({ workers: CONCURRENCY, total: WARMUP, request, expect: 200 });
  if (warm.failed > 0) throw new Error(`${name} warm-up: ${warm.failed} failed (${warm.firstFailure})`);
  const from = Number(process.hrtime.bigint() / 1000n);
  const run = await closedLoop({ workers: CONCURRENCY, warmupSeconds: 0, seconds: SECONDS, request, expect: 200, cpu: () => groupCpuSeconds(server.pid) });
  const to = Number(process.hrtime.bigint() / 1000n);
  await server.stop();
  const profile = mainThreadProfile(profileDir);
  const head = `${name}: ${run.ok} authorizations in ${run.seconds.toFixed(1)} s = ${run.perSecond.toFixed(1)}/s, p50 ${quantile(run.latencies, 0.5).toFixed(1)} ms, CPU ${(((run.cpuSeconds ?? 0) * 1000) / run.ok).toFixed(2)} ms each (profiler on; sampling every ${INTERVAL} µs)`;
  return { head, run, summary: summarize(profile, { from, to }) };
}

try {
  const flags = (dir: string) => ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", String(INTERVAL)];
  const service = await profiled("service", async (port, dir) => {
    const simulator = await startStandaloneSimulator(`http://127.0.0.1:${port}/callback`);
    const s = await startService({ port, env: serviceEnvFor(simulator), name: "profiled service", nodeFlags: flags(dir) });
    return { url: s.url, pid: s.proc.pid, stop: () => s.proc.stop(10_000) };
  });
  const floor = await profiled("floor", async (port, dir) => {
    const simulator = await startStandaloneSimulator(`http://127.0.0.1:${port}/callback`);
    const url = `http://127.0.0.1:${port}`;
    const proc = startProcess("profiled floor", process.execPath, [...flags(dir), "--import", "tsx", "bench/floor-server.ts"], {
      env: { PORT: String(port), API_TOKEN, ...serviceEnvFor(simulator) },
      logPath: join(RUN_DIR, "floor-profiled.log"),
    });
    await waitFor200(`${url}/healthz`, proc);
    return { url, pid: proc.pid, stop: () => proc.stop(10_000) };
  });
  const top = Number(process.env.BENCH_PROFILE_TOP ?? 40);
  console.log(`== ${service.head}`);
  console.log(report(service.summary, { requests: service.run.ok, top }));
  console.log(`\n== ${floor.head}`);
  console.log(report(floor.summary, { requests: floor.run.ok, top: 20 }));
  if (process.env.BENCH_KEEP) console.log(`\nprofiles kept in ${RUN_DIR}`);
  else rmSync(RUN_DIR, { recursive: true, force: true });
} finally {
  await stopAll();
}
