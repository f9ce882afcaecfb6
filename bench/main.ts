// npm run bench — issue 7's figures in one table, each as a ratio or a difference against a
// baseline measured in the same run (these machines are shared and noisy: compare ratios between
// runs, not rates). Everything on 127.0.0.1; every process in its own process group, killed at the
// end and on any error. Progress goes to stderr, the table to stdout.
//
// Knobs (environment):
//   BENCH_SECONDS   measured seconds per token-call run (default 3; 0.5 s warm-up before each)
//   BENCH_AUTH_SECONDS  measured seconds per whole-authorization run (default 4)
//   BENCH_AUTH_WARMUP   unmeasured authorizations on each side before them (default 800)
//   BENCH_ROUNDS    alternating rounds for the ratio rows (default 4)
//   BENCH_FLOWS     flows to fill (default 10000; the first tenth unmeasured; the p99 compares FLOWS/10 with FLOWS)
//   BENCH_STARTS    start-ups of each kind for the start-up row (default 3)
//   BENCH_ONLY      rows to run, comma-separated: token,auth,deno,create,startup,memory,pg
//   BENCH_DATABASE_URL or DATABASE_URL   a PostgreSQL server: the bench creates its own database on it and drops it
//   BENCH_DENO      the deno binary (default: deno on PATH)
//   BENCH_KEEP=1    keep the run folder (logs, DATA_DIRs) instead of removing it
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { bareAuthorizer } from "./bare-oidc.ts";
import { closedLoop, fixedCount, median, quantile, send, target, type Answer, type Run } from "./lib/http-load.ts";
import { ROOT, freePort, groupCpuSeconds, rssMb, stopAll } from "./lib/proc.ts";
import {
  PID,
  RUN_DIR,
  USER,
  api,
  authorizeThroughService,
  authorizedFlow,
  jsonAuth,
  newDir,
  serviceEnvFor,
  startBareServer,
  startFloorServer,
  startService,
  startStandaloneSimulator,
  type RunningService,
} from "./lib/servers.ts";

const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const SECONDS = num("BENCH_SECONDS", 3);
const AUTH_SECONDS = num("BENCH_AUTH_SECONDS", 4);
const AUTH_WARMUP = num("BENCH_AUTH_WARMUP", 800);
const WARMUP = 0.5;
const ROUNDS = num("BENCH_ROUNDS", 4);
const FLOWS = num("BENCH_FLOWS", 10_000);
const STARTS = num("BENCH_STARTS", 3);
const CONNECTIONS = 32;
const AUTH_CONCURRENCY = 8;
const CREATE_CLIENTS = 16;
// The first FLOWS/10 creates of a fill are made but not counted in its rate: a freshly started
// service spends them compiling (its CPU per create falls by a third over its first ≈ 4,000; the
// first 4,000 of a fill ran at 767–883/s and the next 4,000s at 977–1,340/s, 2026-12-06). Their
// rate is printed beside the row.
const COLD_CREATES = Math.round(FLOWS / 10);
const ONLY = new Set((env.BENCH_ONLY ?? "token,auth,deno,create,startup,memory,pg").split(",").map((s) => s.trim()));
const DATABASE_URL = env.BENCH_DATABASE_URL || env.DATABASE_URL || "";

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

// ---- the table -------------------------------------------------------------------------------

interface Row {
  figure: string;
  value: string;
  goal: string;
  met: boolean | null;
  detail: string;
  /** The rounds disagreed by more than ×1.5: the verdict is marked, not trusted. */
  noisy?: boolean;
}
const rows = new Map<string, Row>();
const ORDER = ["token", "auth", "floor", "own", "budget", "deno", "create", "p99", "startup", "memory", "pg"] as const;
const FIGURES: Record<(typeof ORDER)[number], [string, string]> = {
  token: [`token calls/s ÷ bare Hono route with the same bearer check (${CONNECTIONS} connections)`, "≥ 0.8"],
  auth: [`whole authorizations/s ÷ bare openid-client script, same simulator (${AUTH_CONCURRENCY} at a time)`, "≥ 0.8"],
  floor: [`  the same for a floor server ÷ bare script: the service's hops (4 requests served, 3 made), in memory, nothing else`, "context"],
  own: [`  the service ÷ that floor server: what the engine, the store, the log and the pages cost`, "≥ 0.8 (proposed)"],
  budget: [`  the machine's CPU per authorization (server + simulator + load driver): what 0.8 of the bare script leaves the server`, "context"],
  deno: ["token calls/s under Node ÷ under Deno, same load", "≥ 0.8"],
  create: [`flow creates/s, ${CREATE_CLIENTS} clients, filling from ${COLD_CREATES.toLocaleString("en")} to ${FLOWS.toLocaleString("en")} flows (lowdb)`, "≥ 1,000/s"],
  p99: [`create p99 at ${FLOWS.toLocaleString("en")} flows ÷ at ${(FLOWS / 10).toLocaleString("en")} (lowdb)`, "≤ 3"],
  startup: [`start-up with ${FLOWS.toLocaleString("en")} flows minus with none (spawn → /healthz 200)`, "< 2 s"],
  memory: [`resident memory with ${FLOWS.toLocaleString("en")} flows (VmRSS after start-up + GET /api/flows)`, "< 200 MB"],
  pg: [`flow creates/s, ${CREATE_CLIENTS} clients, filling from ${COLD_CREATES.toLocaleString("en")} to ${FLOWS.toLocaleString("en")} flows (PostgreSQL)`, "≥ 1,000/s"],
};

function set(key: (typeof ORDER)[number], value: string, met: boolean | null, detail = "", noisy = false) {
  const [figure, goal] = FIGURES[key];
  rows.set(key, { figure, value, goal, met, detail, noisy });
}
/** Round ratios further apart than ×1.5 say the machine's other load moved under the run. */
const NOISY_SPREAD = 1.5;
const isNoisy = (ratios: number[]) => Math.max(...ratios) / Math.min(...ratios) > NOISY_SPREAD;
const notRun = (key: (typeof ORDER)[number], why: string) => set(key, `not run (${why})`, null);
const fmt = (n: number, digits = 0) => n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function printTable() {
  const head = ["figure", "measured", "goal", "", "detail"];
  const body = ORDER.map((k) => rows.get(k) ?? { figure: FIGURES[k][0], value: "not run (BENCH_ONLY)", goal: FIGURES[k][1], met: null, detail: "" }).map((r) => [
    r.figure,
    r.value,
    r.goal,
    (r.met === null ? "–" : r.met ? "met" : "NOT met") + (r.noisy ? " (noisy)" : ""),
    r.detail,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of body) console.log(line(r));
}

function describeMachine(): string {
  let commit = "?";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: ROOT, encoding: "utf8" }).trim();
    if (dirty) commit += " + uncommitted src changes";
  } catch {
    // not a git checkout
  }
  let deno = "?";
  try {
    deno = /deno (\S+)/.exec(execFileSync(env.BENCH_DENO ?? "deno", ["--version"], { encoding: "utf8" }))?.[1] ?? "?";
  } catch {
    deno = "absent";
  }
  return `${commit} · node ${process.versions.node} · deno ${deno} · ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}`;
}

// ---- token calls: the service (Node, Deno) against the bare route, alternating -----------------

function tokenLoad(base: string, flowId: string): () => Promise<Answer> {
  const t = target(base, CONNECTIONS);
  const body = JSON.stringify({ user: USER });
  return () => send(t, "POST", `/api/flows/${flowId}/token`, jsonAuth, body);
}

function checkRun(name: string, run: Run) {
  if (run.ok === 0 || run.failed > run.ok / 100) throw new Error(`${name}: ${run.ok} answered 200, ${run.failed} did not (first: ${run.firstFailure})`);
}

async function tokenRows() {
  const wantDeno = ONLY.has("deno");
  // As in production, ID-porten is another process: the services talk to a standalone simulator.
  // (Embedded, the simulator's oidc-provider wraps its requests in AsyncLocalStorage, which turns on
  // promise tracking for the whole process and costs every token call ≈ 60–75 µs that a real
  // deployment never pays — BENCH_TOKEN_PROVIDER=embedded measures that set-up instead.)
  const embedded = process.env.BENCH_TOKEN_PROVIDER === "embedded";
  const [nodePort, denoPort] = [await freePort(), await freePort()];
  // One simulator per service: a pairwise-subject client with redirect URIs on two hosts (ports)
  // would need a sector_identifier_uri, as at ID-porten.
  const simulator = embedded ? undefined : await startStandaloneSimulator(`http://127.0.0.1:${nodePort}/callback`);
  const denoSimulator = embedded || !wantDeno ? undefined : await startStandaloneSimulator(`http://127.0.0.1:${denoPort}/callback`);
  const providerEnv = simulator ? serviceEnvFor(simulator) : {};
  progress(`token calls: starting the Node service (${embedded ? "embedded" : "standalone"} simulator) and authorizing a flow`);
  const node = await startService({ name: "node service", port: nodePort, env: providerEnv });
  const nodeFlow = await authorizedFlow(node);
  const first = await api(node, "POST", `/api/flows/${nodeFlow}/token`, { user: USER });
  if (first.status !== 200) throw new Error(`token call answered ${first.status}: ${first.text.slice(0, 300)}`);
  const bare = await startBareServer(first.json);
  let deno: RunningService | undefined;
  let denoFlow = "";
  if (wantDeno) {
    progress("token calls: starting the Deno service (deno task start) and authorizing a flow");
    try {
      deno = await startService({ runtime: "deno", name: "deno service", port: denoPort, env: denoSimulator ? serviceEnvFor(denoSimulator) : {} });
      denoFlow = await authorizedFlow(deno);
    } catch (error) {
      notRun("deno", `Deno service: ${(error as Error).message.split("\n")[0]}`);
      await deno?.proc.stop();
      deno = undefined;
    }
  }
  type Side = { name: string; pgid: number; load: () => Promise<Answer>; rates: number[]; cpu: number[] };
  const side = (name: string, pgid: number, base: string, flow: string): Side => ({ name, pgid, load: tokenLoad(base, flow), rates: [], cpu: [] });
  const sides: Side[] = [
    side("node", node.proc.pid, node.url, nodeFlow),
    ...(ONLY.has("token") ? [side("bare", bare.proc.pid, bare.url, "00000000-0000-4000-8000-000000000000")] : []),
    ...(deno ? [side("deno", deno.proc.pid, deno.url, denoFlow)] : []),
  ];
  // Once each, unmeasured: the first seconds of load are the JIT's, not the steady state's.
  for (const s of sides) await closedLoop({ workers: CONNECTIONS, warmupSeconds: 0, seconds: 2, request: s.load, expect: 200 });
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round, so no side always follows the same one.
    for (let k = 0; k < sides.length; k++) {
      const s = sides[(round + k) % sides.length]!;
      const run = await closedLoop({ workers: CONNECTIONS, warmupSeconds: WARMUP, seconds: SECONDS, request: s.load, expect: 200, cpu: () => groupCpuSeconds(s.pgid) });
      checkRun(`token calls (${s.name})`, run);
      s.rates.push(run.perSecond);
      s.cpu.push((run.cpuSeconds! * 1e6) / run.ok);
      progress(`token calls round ${round + 1}/${ROUNDS}: ${s.name} ${fmt(run.perSecond)}/s, ${fmt(s.cpu.at(-1)!)} µs CPU/call (p99 ${fmt(quantile(run.latencies, 0.99), 1)} ms)`);
    }
  }
  await Promise.all([node.proc.stop(), bare.proc.stop(), deno?.proc.stop(), simulator?.proc.stop(), denoSimulator?.proc.stop()]);
  const get = (name: string) => sides.find((s) => s.name === name)!;
  // The ratio of each round's runs, then the median of those: noise that lasts a few seconds hits
  // both sides of a round. CPU per call (the server's process group, from /proc) is beside it: it
  // moves much less with the machine's other load than calls/s do.
  const compare = (a: Side, b: Side, label: [string, string]) => {
    const ratios = a.rates.map((x, i) => x / b.rates[i]!);
    const r = median(ratios);
    const detail =
      `${label[0]} ${fmt(median(a.rates))}/s at ${fmt(median(a.cpu))} µs CPU/call, ${label[1]} ${fmt(median(b.rates))}/s at ${fmt(median(b.cpu))} µs; ` +
      `rounds ${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}; CPU/call ratio ${fmt(median(b.cpu) / median(a.cpu), 2)}`;
    return { r, detail, noisy: isNoisy(ratios) };
  };
  if (ONLY.has("token")) {
    const { r, detail, noisy } = compare(get("node"), get("bare"), ["service", "bare"]);
    set("token", fmt(r, 2), r >= 0.8, detail, noisy);
  }
  if (deno) {
    const { r, detail, noisy } = compare(get("node"), get("deno"), ["Node", "Deno"]);
    set("deno", fmt(r, 2), r >= 0.8, detail, noisy);
  }
}

// ---- whole authorizations: the service against a bare openid-client script, one simulator ------

async function authRow() {
  // Both sides must talk to the same provider with the same client registration. The embedded
  // simulator registers the service's client with a secret generated per process and never shown,
  // and it shares the service's event loop; so the simulator runs standalone (npm run simulator)
  // with a client whose secret the bench sets, and the service is configured against it as against
  // ID-porten (IDPORTEN_ISSUER, IDPORTEN_CLIENT_ID/SECRET, ALTINN_EXCHANGE_URL). The bare script
  // uses the same client and redirect URI, and stops before the redirect URI is called.
  //
  // A third side, the floor server (bench/floor-server.ts), makes the service's hops and nothing
  // else: what the four requests served and three made cost, whoever serves them. It splits the
  // ratio in two: floor ÷ bare (the hops), service ÷ floor (what the service adds to them). It needs
  // a simulator of its own (a pairwise-subject client with redirect URIs on two ports would need a
  // sector_identifier_uri, as at ID-porten); the two simulators are the same program, equally warm.
  progress("authorizations: starting two standalone simulators, the service and the floor server against them");
  const [port, floorPort] = [await freePort(), await freePort()];
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const simulator = await startStandaloneSimulator(redirectUri);
  const floorSimulator = await startStandaloneSimulator(`http://127.0.0.1:${floorPort}/callback`);
  const service = await startService({ port, env: serviceEnvFor(simulator), name: "service (standalone simulator)" });
  const floor = await startFloorServer(floorPort, floorSimulator);
  const bare = await bareAuthorizer({ ...simulator, redirectUri, pid: PID });
  await authorizedFlow(service); // checked end to end once: altinnAuthorized
  await authorizeThroughService(floor);
  await bare();
  const ok: Answer = { status: 200, body: "" };
  const sides = [
    { name: "service", pgid: service.proc.pid, simulator: simulator.proc.pid, rates: [] as number[], cpu: [] as number[], whole: [] as number[], request: async () => (await authorizeThroughService(service), ok) },
    { name: "floor", pgid: floor.proc.pid, simulator: floorSimulator.proc.pid, rates: [] as number[], cpu: [] as number[], whole: [] as number[], request: async () => (await authorizeThroughService(floor), ok) },
    { name: "bare", pgid: 0, simulator: simulator.proc.pid, rates: [] as number[], cpu: [] as number[], whole: [] as number[], request: async () => (await bare(), ok) },
  ];
  // Unmeasured, until each side's CPU per authorization has settled: the service's fell from ≈ 25 ms
  // over its first ≈ 750 authorizations to 15–17 ms, and stayed there for the next 2,250 (batches
  // of 250 alternating with the bare script's, whose client settled within 250). A two-second
  // warm-up (≈ 70 authorizations) measured the service while V8 was still compiling it (on the
  // ratio itself the change is small: 0.58 and 0.61 with 70, 0.62–0.67 with 800, one machine).
  for (const side of sides) {
    const warm = await fixedCount({ workers: AUTH_CONCURRENCY, total: AUTH_WARMUP, request: side.request, expect: 200 });
    if (warm.failed > 0) throw new Error(`authorizations (${side.name} warm-up): ${warm.failed} of ${AUTH_WARMUP} failed (first: ${warm.firstFailure})`);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length]!;
      // The whole machine's CPU per authorization on this side: its server, its simulator and this
      // process (the load driver, which for the bare side is also the client). On these 2-core
      // machines the three together bound authorizations/s, so the ratio follows their sum.
      const otherCpu = () => {
        const driver = process.cpuUsage();
        return groupCpuSeconds(side.simulator) + (driver.user + driver.system) / 1e6;
      };
      const run = await closedLoop({ workers: AUTH_CONCURRENCY, warmupSeconds: WARMUP, seconds: AUTH_SECONDS, request: side.request, expect: 200, cpu: () => (side.pgid ? groupCpuSeconds(side.pgid) : 0), otherCpu });
      checkRun(`authorizations (${side.name})`, run);
      side.rates.push(run.perSecond);
      side.cpu.push(((run.cpuSeconds ?? 0) * 1000) / run.ok); // the server's, per authorization (bare: none)
      side.whole.push((((run.cpuSeconds ?? 0) + (run.otherCpuSeconds ?? 0)) * 1000) / run.ok);
      progress(`authorizations round ${round + 1}/${ROUNDS}: ${side.name} ${fmt(run.perSecond, 1)}/s (p50 ${fmt(quantile(run.latencies, 0.5))} ms)`);
    }
  }
  await Promise.all([service.proc.stop(), floor.proc.stop(), simulator.proc.stop(), floorSimulator.proc.stop()]);
  const [s, f, b] = sides;
  const ratio = (x: typeof s, y: typeof s) => x!.rates.map((v, i) => v / y!.rates[i]!);
  const spread = (ratios: number[]) => `rounds ${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}`;
  const [sb, fb, sf] = [ratio(s, b), ratio(f, b), ratio(s, f)];
  set("auth", fmt(median(sb), 2), median(sb) >= 0.8, `service ${fmt(median(s!.rates), 1)}/s, bare ${fmt(median(b!.rates), 1)}/s; ${spread(sb)}`, isNoisy(sb));
  set("floor", fmt(median(fb), 2), null, `floor ${fmt(median(f!.rates), 1)}/s; ${spread(fb)}; its CPU per authorization ${fmt(median(f!.cpu), 1)} ms`, isNoisy(fb));
  set("own", fmt(median(sf), 2), median(sf) >= 0.8, `${spread(sf)}; CPU per authorization: service ${fmt(median(s!.cpu), 1)} ms, floor ${fmt(median(f!.cpu), 1)} ms`, isNoisy(sf));
  // 0.8 of the bare script's rate allows the service's side 1.25 times the bare side's CPU per
  // authorization; what its simulator and the driver take of that is not the server's to spend.
  // Of the service's and the floor's sides the smaller such share is taken (the simulators do not
  // cost the same per authorization from run to run): the allowance errs in the goal's favour.
  const whole = (x: typeof s) => median(x!.whole);
  const notServer = Math.min(whole(s) - median(s!.cpu), whole(f) - median(f!.cpu));
  const leaves = 1.25 * whole(b) - notServer;
  set("budget", `${fmt(leaves, 1)} ms`, null, `whole machine per authorization: bare ${fmt(whole(b), 1)} ms, floor ${fmt(whole(f), 1)} (its server ${fmt(median(f!.cpu), 1)}), service ${fmt(whole(s), 1)} (its server ${fmt(median(s!.cpu), 1)}); 0.8 of the bare rate leaves the server ${fmt(leaves, 1)} ms`);
}

// ---- creates, start-up, memory ----------------------------------------------------------------

async function fill(service: RunningService, total: number, offset = 0) {
  const t = target(service.url, CREATE_CLIENTS);
  const body = JSON.stringify({ legalEntity: "999999999" });
  const run = await fixedCount({ workers: CREATE_CLIENTS, total, request: () => send(t, "POST", "/api/flows", jsonAuth, body), expect: 201 });
  if (run.failed > 0) throw new Error(`creates: ${run.failed} of ${total} failed (first: ${run.firstFailure})`);
  t.agent.destroy();
  // p99 of the creates made while the store held about FLOWS/10 flows, and while it held about FLOWS.
  const window = Math.max(100, Math.round(FLOWS / 20));
  const at = (flows: number) => quantile(run.latencies.subarray(Math.max(0, flows - offset), Math.max(0, flows - offset) + window), 0.99);
  const small = at(Math.round(FLOWS / 10));
  const large = at(FLOWS - window);
  return { ...run, small, large, window };
}

async function measuredStart(dataDir: string, name: string): Promise<{ startupMs: number; rss: number; restored: number }> {
  const service = await startService({ dataDir, name });
  try {
    const list = await api(service, "GET", "/api/flows");
    if (list.status !== 200) throw new Error(`GET /api/flows answered ${list.status}: ${list.text.slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 500));
    const rss = rssMb(service.proc.pid);
    // The start-up line names how many flows the store holds ("… 10000 flow(s) in /data" or "… restored …").
    const restored = Number(/(\d+) flow\(s\)/.exec(readFileSync(service.proc.logPath, "utf8"))?.[1] ?? NaN);
    return { startupMs: service.startupMs, rss, restored };
  } finally {
    await service.proc.stop();
  }
}

async function storeRows() {
  const emptyDir = newDir("empty");
  const fullDir = newDir("full");
  if (ONLY.has("startup") || ONLY.has("memory")) {
    progress("start-up: priming an empty DATA_DIR (key file, simulator folder) with one unmeasured start");
    await (await startService({ dataDir: emptyDir, name: "empty" })).proc.stop();
  }
  progress(`creates: filling ${fmt(FLOWS)} flows with ${CREATE_CLIENTS} clients (lowdb)`);
  const filler = await startService({ dataDir: fullDir, name: "fill lowdb" });
  const cold = await fill(filler, COLD_CREATES);
  const run = await fill(filler, FLOWS - COLD_CREATES, COLD_CREATES);
  await filler.proc.stop();
  progress(`creates: first ${fmt(COLD_CREATES)} ${fmt(cold.perSecond)}/s, then ${fmt(run.perSecond)}/s; p99 ${fmt(run.small, 1)} ms at ${fmt(FLOWS / 10)}, ${fmt(run.large, 1)} ms at ${fmt(FLOWS)}`);
  if (ONLY.has("create")) {
    set("create", `${fmt(run.perSecond)}/s`, run.perSecond >= 1000, `${fmt(FLOWS - COLD_CREATES)} in ${fmt(run.seconds, 1)} s; p50 ${fmt(quantile(run.latencies, 0.5), 1)} ms; the first ${fmt(COLD_CREATES)} (cold start) ${fmt(cold.perSecond)}/s`);
    const r = run.large / run.small;
    set("p99", fmt(r, 2), r <= 3, `${fmt(run.large, 1)} ms ÷ ${fmt(run.small, 1)} ms (p99 of ${run.window} creates each)`);
  }
  if (!ONLY.has("startup") && !ONLY.has("memory")) return;

  const full: Array<{ startupMs: number; rss: number; restored: number }> = [];
  const empty: Array<{ startupMs: number; rss: number; restored: number }> = [];
  for (let i = 0; i < STARTS; i++) {
    // Alternate which kind goes first.
    for (const kind of i % 2 === 0 ? (["full", "empty"] as const) : (["empty", "full"] as const)) {
      const m = await measuredStart(kind === "full" ? fullDir : emptyDir, kind);
      (kind === "full" ? full : empty).push(m);
      progress(`start-up ${i + 1}/${STARTS}: ${kind} ${fmt(m.startupMs)} ms, ${m.restored} flow(s), VmRSS ${fmt(m.rss, 1)} MB`);
    }
  }
  // A start that does not see the filled store would make both rows meaningless.
  if (full.some((m) => m.restored !== FLOWS && !Number.isNaN(m.restored))) throw new Error(`a start with the filled DATA_DIR reported ${full.map((m) => m.restored).join(", ")} flows, not ${FLOWS}`);
  const fullMs = median(full.map((m) => m.startupMs));
  const emptyMs = median(empty.map((m) => m.startupMs));
  const diff = (fullMs - emptyMs) / 1000;
  if (ONLY.has("startup")) {
    const range = (ms: number[]) => `${fmt(Math.min(...ms))}–${fmt(Math.max(...ms))}`;
    const [fullAll, emptyAll] = [full.map((m) => m.startupMs), empty.map((m) => m.startupMs)];
    set(
      "startup",
      `${diff >= 0 ? "+" : ""}${fmt(diff, 2)} s`,
      diff < 2,
      `median of ${STARTS}: ${fmt(fullMs)} ms with (${range(fullAll)}), ${fmt(emptyMs)} ms without (${range(emptyAll)})`,
      // Noisy when the spread of either kind is larger than the difference measured.
      Math.max(Math.max(...fullAll) - Math.min(...fullAll), Math.max(...emptyAll) - Math.min(...emptyAll)) > Math.abs(fullMs - emptyMs),
    );
  }
  if (ONLY.has("memory")) {
    const rss = median(full.map((m) => m.rss));
    set("memory", `${fmt(rss)} MB`, rss < 200, `median of ${STARTS}; ${fmt(median(empty.map((m) => m.rss)))} MB with no flows`);
  }
}

// ---- PostgreSQL --------------------------------------------------------------------------------

async function pgRow() {
  if (!DATABASE_URL) return notRun("pg", "no DATABASE_URL");
  const name = `authflow_bench_${randomBytes(6).toString("hex")}`;
  const admin = postgres(DATABASE_URL, { max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => undefined);
    return notRun("pg", `cannot create a database on ${new URL(DATABASE_URL).host}: ${(error as Error).message}`);
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  let service: RunningService | undefined;
  try {
    progress(`PostgreSQL: database ${name}; starting the service with DATABASE_URL`);
    const dataDir = newDir("pg-data");
    try {
      service = await startService({ dataDir, name: "pg service", env: { DATABASE_URL: url.toString(), ENCRYPTION_KEY: randomBytes(32).toString("base64") } });
    } catch (error) {
      return notRun("pg", `the service did not start with DATABASE_URL: ${(error as Error).message.split("\n").slice(-1)[0]}`);
    }
    // The store exists only if the flows go there: one create, and the lowdb folder must stay empty.
    const probe = await api(service, "POST", "/api/flows", { legalEntity: "999999999" });
    if (probe.status !== 201) return notRun("pg", `create answered ${probe.status}`);
    let inLowdb = 0;
    try {
      inLowdb = readdirSync(join(dataDir, "flows")).length;
    } catch {
      // no lowdb folder: good
    }
    if (inLowdb > 0) return notRun("pg", "the service still keeps flows in lowdb with DATABASE_URL set: no PostgreSQL store wired yet");
    progress(`PostgreSQL: filling ${fmt(FLOWS)} flows with ${CREATE_CLIENTS} clients`);
    const cold = await fill(service, COLD_CREATES - 1, 1);
    const run = await fill(service, FLOWS - COLD_CREATES, COLD_CREATES);
    set("pg", `${fmt(run.perSecond)}/s`, run.perSecond >= 1000, `p99 ${fmt(run.large, 1)} ms at ${fmt(FLOWS)} ÷ ${fmt(run.small, 1)} ms at ${fmt(FLOWS / 10)} = ${fmt(run.large / run.small, 2)}; the first ${fmt(COLD_CREATES)} (cold start) ${fmt(cold.perSecond)}/s`);
  } finally {
    await service?.proc.stop();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end({ timeout: 1 }).catch(() => undefined);
  }
}

// ---- run ---------------------------------------------------------------------------------------

const started = performance.now();
const load0 = loadavg()[0]!;
let failure: unknown;
try {
  if (ONLY.has("token") || ONLY.has("deno")) await tokenRows();
  if (ONLY.has("auth")) await authRow();
  if (ONLY.has("create") || ONLY.has("startup") || ONLY.has("memory")) await storeRows();
  if (ONLY.has("pg")) await pgRow();
} catch (error) {
  failure = error;
} finally {
  await stopAll();
}
console.log(
  `authflow bench · ${new Date().toISOString()} · ${describeMachine()} · load average ${fmt(load0, 2)} → ${fmt(loadavg()[0]!, 2)} · ${fmt((performance.now() - started) / 1000)} s`,
);
console.log(`knobs: BENCH_SECONDS=${SECONDS} BENCH_AUTH_SECONDS=${AUTH_SECONDS} BENCH_ROUNDS=${ROUNDS} BENCH_FLOWS=${FLOWS} BENCH_STARTS=${STARTS}`);
const busiest = Math.max(load0, loadavg()[0]!);
if (busiest > cpus().length) {
  console.log(`note: the machine was busy (load average up to ${fmt(busiest, 1)} on ${cpus().length} cores): calls/s ratios move with it; the CPU/call ratios beside them move far less.`);
}
console.log("");
printTable();
if (failure) {
  console.error(`\nbench failed: ${(failure as Error)?.stack ?? failure}\n(logs and DATA_DIRs kept in ${RUN_DIR})`);
  process.exitCode = 1;
} else if (env.BENCH_KEEP) {
  console.log(`\nlogs and DATA_DIRs kept in ${RUN_DIR}`);
} else {
  rmSync(RUN_DIR, { recursive: true, force: true });
}
