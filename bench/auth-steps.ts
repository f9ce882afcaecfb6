// Where a whole authorization through the service spends its time, step by step, as the bench's
// auth row makes it (standalone simulator, the service configured against it): create, AUTHORIZE
// (the pushed authorization request), the browser's walk at the provider up to the callback URL,
// and the callback page (code exchange and Altinn exchange, each written). Medians over N
// authorizations, one at a time and AUTH_CONCURRENCY at a time.
//
//   node --import tsx bench/auth-steps.ts        BENCH_AUTHS=40  BENCH_AUTH_CONCURRENCY=8  BENCH_DATABASE_URL=… (PostgreSQL store)
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { report, summarize, type CpuProfile } from "./cpuprofile-summary.ts";
import { walk, withLoginHint } from "./lib/browser.ts";
import { median, quantile } from "./lib/http-load.ts";
import { freePort, groupCpuSeconds, stopAll } from "./lib/proc.ts";
import { PID, USER, api, newDir, serviceEnvFor, startService, startStandaloneSimulator } from "./lib/servers.ts";

const N = Number(process.env.BENCH_AUTHS ?? 40);
const CONCURRENCY = Number(process.env.BENCH_AUTH_CONCURRENCY ?? 8);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "";
/** BENCH_PROFILE=1: the service runs under --cpu-prof; its main thread's profile is summarized at the end. */
const PROFILE = process.env.BENCH_PROFILE === "1";

/** The parts of an authorization, as patterns on "functionName url" (inclusive: samples with the part on the stack). */
const AUTH_PARTS: Array<[string, RegExp]> = [
  ["xstate (transitions, snapshots, inspection)", /node_modules\/xstate\//],
  ["  of which inspection events (sendInspectionEvent)", /^sendInspectionEvent /],
  ["engine: a write (#writeOnce: snapshot, seal, store)", /^#writeOnce .*flow-engine\.ts/],
  ["store (lowdb store, durable file)", /src\/store\//],
  ["  of which fsync/fdatasync", /^(fsync|fdatasync) /],
  ["secrets: seal/unseal, HMAC", /crypto\/(secrets|node-secret-box)\.ts/],
  ["openid-client / oauth4webapi", /node_modules\/(openid-client|oauth4webapi|jose)\//],
  ["outgoing fetch (undici)", /^(Fetch|fetch|_Request) .*undici|deps\/undici\/undici/],
  ["Altinn exchange (src/altinn)", /src\/altinn\//],
  ["hono (routing, context, middleware)", /node_modules\/hono\//],
  ["the page/callback HTML (src/web, callback-page)", /src\/web\/|callback-page\.ts/],
  ["access log and console", /lifecycle\/run-server\.ts|^consoleCall /],
  ["GC", /^\(garbage collector\) /],
];

type Steps = { create: number; authorize: number; provider: number; callback: number; total: number };

async function one(base: string, redirectUri: string): Promise<Steps> {
  const t0 = performance.now();
  const created = await api({ url: base }, "POST", "/api/flows", { legalEntity: "999999999" });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${created.text.slice(0, 200)}`);
  const t1 = performance.now();
  const started = await api({ url: base }, "POST", `/api/flows/${created.json.id}/events`, { type: "AUTHORIZE", user: USER });
  if (started.status !== 200) throw new Error(`AUTHORIZE answered ${started.status}: ${started.text.slice(0, 200)}`);
  const t2 = performance.now();
  const jar = new Map<string, string>();
  const back = await walk(withLoginHint(started.json.authorizationUrl, PID), { stopAt: redirectUri, jar });
  const t3 = performance.now();
  const page = await walk(back.url, { jar });
  if (page.status !== 200) throw new Error(`callback page answered ${page.status}: ${page.body.slice(0, 200)}`);
  const t4 = performance.now();
  return { create: t1 - t0, authorize: t2 - t1, provider: t3 - t2, callback: t4 - t3, total: t4 - t0 };
}

async function runs(base: string, redirectUri: string, concurrency: number): Promise<{ steps: Steps[]; perSecond: number }> {
  const steps: Steps[] = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < N) steps.push(await one(base, redirectUri));
    }),
  );
  return { steps, perSecond: steps.length / ((performance.now() - t) / 1000) };
}

let drop = async () => {};
try {
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const simulator = await startStandaloneSimulator(redirectUri);
  const env: Record<string, string> = { ...serviceEnvFor(simulator) };
  if (DATABASE_URL) {
    const name = `authflow_auth_steps_${randomBytes(6).toString("hex")}`;
    const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(DATABASE_URL);
    url.pathname = `/${name}`;
    Object.assign(env, { DATABASE_URL: url.toString(), ENCRYPTION_KEY: randomBytes(32).toString("base64") });
    drop = async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end({ timeout: 1 });
    };
  }
  const profiles = newDir("auth-steps-profile");
  const service = await startService({ port, env, name: "auth steps", nodeFlags: PROFILE ? ["--cpu-prof", "--cpu-prof-dir", profiles, "--cpu-prof-interval", "250"] : [] });
  let window = { from: 0, to: 0, count: 0 };
  await runs(service.url, redirectUri, CONCURRENCY); // JIT
  for (const concurrency of [1, CONCURRENCY]) {
    const cpu0 = [groupCpuSeconds(service.proc.pid), groupCpuSeconds(simulator.proc.pid), process.cpuUsage()] as const;
    const from = Number(process.hrtime.bigint() / 1000n);
    const { steps, perSecond } = await runs(service.url, redirectUri, concurrency);
    if (concurrency === CONCURRENCY) window = { from, to: Number(process.hrtime.bigint() / 1000n), count: steps.length };
    const own = process.cpuUsage(cpu0[2]);
    const per = (seconds: number) => ((seconds * 1000) / steps.length).toFixed(1);
    const cpu = `CPU per authorization: service ${per(groupCpuSeconds(service.proc.pid) - cpu0[0])} ms, simulator ${per(groupCpuSeconds(simulator.proc.pid) - cpu0[1])} ms, this client ${per((own.user + own.system) / 1e6)} ms`;
    const col = (k: keyof Steps) => `${k} ${median(steps.map((s) => s[k])).toFixed(1)} ms (p90 ${quantile(Float64Array.from(steps.map((s) => s[k])).sort(), 0.9).toFixed(1)})`;
    console.log(`${concurrency} at a time: ${perSecond.toFixed(1)}/s; medians: ${(["create", "authorize", "provider", "callback", "total"] as const).map(col).join(", ")}; ${cpu}`);
  }
  if (PROFILE) {
    await service.proc.stop(20_000);
    const files = readdirSync(profiles).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(profiles, f));
    const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    console.log(`\nthe service's main thread while ${CONCURRENCY} at a time ran (per authorization):`);
    console.log(report(summarize(JSON.parse(readFileSync(largest, "utf8")) as CpuProfile, window), { requests: window.count, top: 25, suspects: AUTH_PARTS }));
  }
} finally {
  await stopAll();
  await drop();
}
