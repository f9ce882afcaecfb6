// Where a token call spends its time, two ways, under the bench's token-call load (32 connections,
// keep-alive, one authorized flow):
// 1. A/B throughput, no profiler, alternating rounds: the service as `npm run bench` runs it
//    (embedded simulator) against the same service with one thing taken away by a bench-only
//    preload (bench/hooks/): the access-log line's console.log, hono's bodyLimit middleware, the
//    embedded simulator (the service then talks to a standalone one, as to ID-porten), and the
//    bare Hono route.
// 2. A CPU profile (`node --cpu-prof`) of the service and of the bare route: self time by function
//    and area, and the share of samples with a given part on the stack. Only the samples taken
//    while the load ran are counted (the profile's clock is the monotonic one process.hrtime reads).
//
//   node --import tsx bench/profile-token.ts
//   BENCH_PROFILE_SECONDS=8  BENCH_PROFILE_INTERVAL_US=250  BENCH_AB_SECONDS=3  BENCH_AB_ROUNDS=3  BENCH_PROFILE_TOP=30
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { report, summarize, type CpuProfile } from "./cpuprofile-summary.ts";
import { closedLoop, median, quantile, send, target } from "./lib/http-load.ts";
import { startProcess, freePort, groupCpuSeconds, stopAll, waitFor200 } from "./lib/proc.ts";
import { API_TOKEN, RUN_DIR, USER, api, authorizedFlow, jsonAuth, newDir, serviceEnvFor, startBareServer, startService, startStandaloneSimulator, type RunningService } from "./lib/servers.ts";

const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 8);
const INTERVAL = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250);
const AB_SECONDS = Number(process.env.BENCH_AB_SECONDS ?? 3);
const AB_ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 3);
const CONNECTIONS = 32;

/** What the issue suspects, and the other parts of a token call, as patterns on "functionName url". */
export const SUSPECTS: Array<[string, RegExp]> = [
  ["access-log line: log() in run-server.ts → console.log (format, inspector hook, write)", /lifecycle\/run-server\.ts|node:internal\/console|^consoleCall /],
  ["  of which the write to stdout (fs.writeSync)", /^(writeSync|writeBuffer) /],
  ["full web Request + ReadableStream for the body (bodyLimit reads c.req.raw.body)", /newRequestFromIncoming|node:internal\/webstreams|Readable\.toWeb|^_Request |makeTransferable|^createAbortSignal /],
  ["async_hooks promise hooks (AsyncLocalStorage of oidc-provider, the embedded simulator)", /node:internal\/async_hooks|node:async_hooks/],
  ["JSON.parse / JSON.stringify builtins (anywhere)", /^(parse|stringify) $/],
  ["request body: jsonObject (validate.ts) / c.req.json", /^jsonObject |^json .*hono\/dist\/request/],
  ["response: c.json", /^json .*hono\/dist\/context/],
  ["settle wait: engine.written → #landed (Promise.race + a timer per call)", /^(written|#landed) .*flow-engine\.ts/],
  ["engine.current (cached actor's snapshot)", /^current .*flow-engine\.ts/],
  ["engine.exists", /^exists .*flow-engine\.ts/],
  ["store reads (lowdb store, row index, durable file)", /store\/(lowdb-store|row-index|durable-json-file|damage)\.ts/],
  ["secrets: seal/unseal (AES-GCM) and HMAC", /crypto\/secrets\.ts/],
  ["xstate", /node_modules\/xstate\//],
  ["bearer check: SHA-256 by crypto.subtle.digest", /node:internal\/crypto\/|^digest .*bearer-auth/],
  ["socket write of the answer (writev)", /^writev $/],
  ["tsx loader at run time (source maps, hooks)", /node_modules\/tsx\//],
  ["request validation: hono's validator and zod (@hono/zod-openapi routes)", /hono\/dist\/validator\/|node_modules\/zod\/|@hono\/zod-openapi/],
  ["  of which zod's parse", /node_modules\/zod\//],
  ["secure headers (security-headers.ts)", /server\/security-headers\.ts/],
  ["Headers objects (undici: set/get/has on a Response's headers)", /deps\/undici\/undici/],
  ["GC", /^\(garbage collector\) /],
];

function mainThreadProfile(dir: string): CpuProfile {
  // --import tsx may give the module-hooks thread a profile of its own: the main thread's is the largest.
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  const largest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  return JSON.parse(readFileSync(largest, "utf8")) as CpuProfile;
}

async function profileRun(name: string, base: string, flowId: string, stop: () => Promise<void>, profileDir: string) {
  const t = target(base, CONNECTIONS);
  const body = JSON.stringify({ user: USER });
  const request = () => send(t, "POST", `/api/flows/${flowId}/token`, jsonAuth, body);
  await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0, seconds: 2, request, expect: 200 }); // warm-up, not profiled
  const from = Number(process.hrtime.bigint() / 1000n);
  const run = await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0, seconds: SECONDS, request, expect: 200 });
  const to = Number(process.hrtime.bigint() / 1000n);
  t.agent.destroy();
  await stop();
  const profile = mainThreadProfile(profileDir);
  if (profile.startTime > from || profile.endTime < to) {
    process.stderr.write(`profile: ${name}: the profile's clock (${profile.startTime}–${profile.endTime} µs) does not cover the load's window (${from}–${to}); counting all of it\n`);
    return { run, summary: summarize(profile) };
  }
  return { run, summary: summarize(profile, { from, to }) };
}

/** Token calls/s of each variant, alternating rounds; each variant's median ÷ the service's as benched. */
async function abRounds(): Promise<string[]> {
  const tokenLoad = (base: string, flowId: string) => {
    const t = target(base, CONNECTIONS);
    const body = JSON.stringify({ user: USER });
    return () => send(t, "POST", `/api/flows/${flowId}/token`, jsonAuth, body);
  };
  const withFlow = async (name: string, service: RunningService) => ({
    name,
    service,
    pgid: service.proc.pid,
    load: tokenLoad(service.url, await authorizedFlow(service)),
    rates: [] as number[],
    cpu: [] as number[],
  });
  // One standalone simulator per service: the simulator's pairwise subjects refuse a client whose
  // redirect URIs name two hosts (oidc-provider: invalid_client_metadata without a sector identifier).
  const [port, port2] = [await freePort(), await freePort()];
  const simulator = await startStandaloneSimulator(`http://127.0.0.1:${port}/callback`);
  const simulator2 = await startStandaloneSimulator(`http://127.0.0.1:${port2}/callback`);
  const variants = [
    await withFlow("service as `npm run bench` runs it (embedded simulator)", await startService({ name: "ab as benched" })),
    await withFlow("  without the access-log line's console.log", await startService({ name: "ab quiet", preload: ["./bench/hooks/quiet-access-log.mjs"] })),
    await withFlow("  without hono's bodyLimit middleware", await startService({ name: "ab no bodyLimit", preload: ["./bench/hooks/no-body-limit.mjs"] })),
    await withFlow("  without the embedded simulator (standalone one, as with ID-porten)", await startService({ name: "ab standalone", port, env: serviceEnvFor(simulator) })),
    await withFlow(
      "  all three taken away",
      await startService({ name: "ab all", port: port2, env: serviceEnvFor(simulator2), preload: ["./bench/hooks/quiet-access-log.mjs", "./bench/hooks/no-body-limit.mjs"] }),
    ),
  ];
  const first = variants[0]!;
  const answer = (await first.load()).body;
  const bare = await startBareServer(JSON.parse(answer));
  variants.push({ name: "bare Hono route, same bearer check", service: undefined as never, pgid: bare.proc.pid, load: tokenLoad(bare.url, "00000000-0000-4000-8000-000000000000"), rates: [], cpu: [] });
  for (const v of variants) await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0, seconds: 2, request: v.load, expect: 200 }); // JIT
  for (let round = 0; round < AB_ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const run = await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0.5, seconds: AB_SECONDS, request: v.load, expect: 200, cpu: () => groupCpuSeconds(v.pgid) });
      if (run.failed > 0) throw new Error(`${v.name}: ${run.failed} token calls failed (${run.firstFailure})`);
      v.rates.push(run.perSecond);
      v.cpu.push((run.cpuSeconds! * 1e6) / run.ok);
      process.stderr.write(`profile: A/B round ${round + 1}/${AB_ROUNDS}: ${v.name.trim()} ${run.perSecond.toFixed(0)}/s, ${v.cpu.at(-1)!.toFixed(0)} µs CPU/call\n`);
    }
  }
  await Promise.all([...variants.map((v) => v.service?.proc.stop()), bare.proc.stop(), simulator.proc.stop(), simulator2.proc.stop()]);
  return variants.map((v) => {
    const ratios = v.rates.map((r, i) => r / first.rates[i]!);
    const saved = v.cpu.map((c, i) => first.cpu[i]! - c);
    return (
      `  ${median(v.cpu).toFixed(0).padStart(5)} µs CPU/call  ${v === first ? "          " : `${median(saved) >= 0 ? "−" : "+"}${Math.abs(median(saved)).toFixed(0).padStart(4)} µs  `}` +
      `${median(v.rates).toFixed(0).padStart(5)}/s ×${median(ratios).toFixed(2)} (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})  ${v.name}`
    );
  });
}

try {
  const ab = process.env.BENCH_AB_ROUNDS === "0" ? [] : await abRounds();
  const serviceProfiles = newDir("profile-service");
  // BENCH_PROFILE_PROVIDER=standalone: the profiled service talks to a standalone simulator, as the bench's token row runs it.
  const standalone = process.env.BENCH_PROFILE_PROVIDER === "standalone";
  const profiledPort = standalone ? await freePort() : undefined;
  const provider = standalone ? { port: profiledPort, env: serviceEnvFor(await startStandaloneSimulator(`http://127.0.0.1:${profiledPort}/callback`)) } : {};
  const service = await startService({ name: "profiled service", ...provider, nodeFlags: ["--cpu-prof", "--cpu-prof-dir", serviceProfiles, "--cpu-prof-interval", String(INTERVAL)] });
  const flowId = await authorizedFlow(service);
  const answer = (await api(service, "POST", `/api/flows/${flowId}/token`, { user: USER })).json;
  const s = await profileRun("service", service.url, flowId, () => service.proc.stop(10_000), serviceProfiles);

  const bareProfiles = newDir("profile-bare");
  const port = await freePort();
  const bare = startProcess("profiled bare route", process.execPath, ["--cpu-prof", "--cpu-prof-dir", bareProfiles, "--cpu-prof-interval", String(INTERVAL), "--import", "tsx", "bench/bare-server.ts"], {
    env: { PORT: String(port), API_TOKEN, BARE_ANSWER: JSON.stringify(answer) },
    logPath: join(RUN_DIR, "bare-profiled.log"),
  });
  await waitFor200(`http://127.0.0.1:${port}/healthz`, bare);
  const b = await profileRun("bare", `http://127.0.0.1:${port}`, "00000000-0000-4000-8000-000000000000", () => bare.stop(10_000), bareProfiles);

  const head = (name: string, r: typeof s) =>
    `${name}: ${r.run.ok} token calls in ${r.run.seconds.toFixed(1)} s = ${r.run.perSecond.toFixed(0)}/s, p50 ${quantile(r.run.latencies, 0.5).toFixed(1)} ms, p99 ${quantile(r.run.latencies, 0.99).toFixed(1)} ms (${CONNECTIONS} connections, sampling every ${INTERVAL} µs)`;
  if (ab.length) {
    console.log(
      `== A/B, no profiler: ${CONNECTIONS} connections, ${AB_ROUNDS} alternating rounds of ${AB_SECONDS} s. CPU/call = the server's process group (/proc), median;` +
        ` −/+ = CPU per call saved/added against the service as benched (median of the rounds' differences); calls/s and × (÷ the service as benched) move with the machine's other load`,
    );
    console.log(ab.join("\n"));
    console.log("");
  }
  console.log(`== profile of the ${head(standalone ? "service (standalone simulator)" : "service (embedded simulator)", s)}`);
  console.log(report(s.summary, { requests: s.run.ok, top: Number(process.env.BENCH_PROFILE_TOP ?? 30), suspects: SUSPECTS }));
  console.log(`\n== profile of the ${head("bare Hono route", b)}`);
  console.log(report(b.summary, { requests: b.run.ok, top: 12 }));
  if (process.env.BENCH_KEEP) console.log(`\nprofiles kept in ${RUN_DIR}`);
  else rmSync(RUN_DIR, { recursive: true, force: true });
} finally {
  await stopAll();
}
