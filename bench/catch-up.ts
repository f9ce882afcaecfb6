// The catch-up after a stop: N authorized flows, the service SIGKILLed and kept down until every
// renewal is due, then started again (one instance on lowdb, or two on one PostgreSQL with
// CATCHUP_INSTANCES=2 and BENCH_DATABASE_URL). A review ran this by hand and saw 519 of 2,000
// authorizations end: every renewal left at once, the provider queued them past the client's
// timeout and rotated each token all the same (engine/outbound-gate.ts bounds them now), and the
// service listened only 7–12 s after it started. This prints what a year of real outages needs:
// how soon it listens, how slow a token call and /readyz get meanwhile, and how many renewals were
// lost (the figure that must be 0).
//
//   node --import tsx bench/catch-up.ts
//   CATCHUP_FLOWS=2000 CATCHUP_DOWN_SECONDS=100 CATCHUP_INSTANCES=2 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/catch-up.ts
//   CATCHUP_OUTBOUND_TIMEOUT_SECONDS=2 …: the service's OUTBOUND_TIMEOUT_SECONDS, a slower provider in effect
//
// The simulator's refresh tokens live a year; only the service is told of a short inactivity window
// (CATCHUP_WINDOW_SECONDS, renewed at 80 %), so a renewal lost here is lost to the service's own doing.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { walk, withLoginHint } from "./lib/browser.ts";
import { freePort, startProcess, stopAll, waitFor200, type Proc } from "./lib/proc.ts";

const FLOWS = Number(process.env.CATCHUP_FLOWS ?? 500);
const WINDOW = Number(process.env.CATCHUP_WINDOW_SECONDS ?? 120);
const DOWN = Number(process.env.CATCHUP_DOWN_SECONDS ?? WINDOW * 0.85);
const INSTANCES = Number(process.env.CATCHUP_INSTANCES ?? 1);
const PID = "01817010055";
if (INSTANCES > 1 && !process.env.BENCH_DATABASE_URL) throw new Error("CATCHUP_INSTANCES=2 needs BENCH_DATABASE_URL (the instances share a PostgreSQL database)");

const dir = mkdtempSync(join(tmpdir(), "authflow-catch-up-"));
const t0 = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
let admin: postgres.Sql | undefined;
let database: string | undefined;

try {
  let databaseUrl: string | undefined;
  if (process.env.BENCH_DATABASE_URL) {
    admin = postgres(process.env.BENCH_DATABASE_URL, { max: 1, onnotice: () => undefined });
    database = `authflow_catchup_${randomBytes(4).toString("hex")}`;
    await admin.unsafe(`CREATE DATABASE ${database}`);
    const url = new URL(process.env.BENCH_DATABASE_URL);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
  }
  const [simPort, ...ports] = await Promise.all([freePort(), ...Array.from({ length: INSTANCES }, () => freePort())]);
  const issuer = `http://127.0.0.1:${simPort}`;
  const url = `http://127.0.0.1:${ports[0]}`;
  const secret = randomBytes(32).toString("base64url");
  const apiToken = randomBytes(24).toString("hex");
  const headers = { authorization: `Bearer ${apiToken}`, "content-type": "application/json" };
  const sim = startProcess("simulator", process.execPath, ["--import", "tsx", "src/simulator/main.node.ts"], {
    env: { SIMULATOR_PORT: String(simPort), SIMULATOR_PUBLIC_URL: issuer, DATA_DIR: join(dir, "sim"), SIMULATOR_CLIENT_ID: "catch-up", SIMULATOR_CLIENT_SECRET: secret, SIMULATOR_REDIRECT_URIS: `${url}/callback` },
    logPath: join(dir, "simulator.log"),
  });
  await waitFor200(`${issuer}/.well-known/openid-configuration`, sim);
  const altinn = /Altinn\s+(http\S+)/.exec(readFileSync(join(dir, "simulator.log"), "utf8"))?.[1];
  if (!altinn) throw new Error(`the simulator did not print Altinn's address:\n${sim.tail()}`);
  const env = (i: number) => ({
    PORT: String(ports[i]),
    PUBLIC_URL: url, // the first instance's: the logins' callbacks go there
    DATA_DIR: join(dir, `service-${i}`),
    API_TOKEN: apiToken,
    IDPORTEN_ISSUER: issuer,
    IDPORTEN_CLIENT_ID: "catch-up",
    IDPORTEN_CLIENT_SECRET: secret,
    ALTINN_EXCHANGE_URL: altinn,
    IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS: String(WINDOW),
    // A shorter timeout stands in for a slower provider (the review's run lost its renewals at 10 s on a busy machine).
    ...(process.env.CATCHUP_OUTBOUND_TIMEOUT_SECONDS ? { OUTBOUND_TIMEOUT_SECONDS: process.env.CATCHUP_OUTBOUND_TIMEOUT_SECONDS } : {}),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("base64") } : {}),
  });
  let started = 0;
  const start = (i: number): Proc => startProcess(`service ${i}`, process.execPath, ["--import", "tsx", "src/main.node.ts"], { env: env(i), logPath: join(dir, `service-${i}-${++started}.log`) });

  let first = start(0);
  await waitFor200(`${url}/healthz`, first, 120_000);
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < FLOWS) {
        const id = ((await (await fetch(`${url}/api/flows`, { method: "POST", headers, body: JSON.stringify({ legalEntity: "999999999" }) })).json()) as { id: string }).id;
        const login = ((await (await fetch(`${url}/api/flows/${id}/events`, { method: "POST", headers, body: JSON.stringify({ type: "AUTHORIZE", user: "erp" }) })).json()) as { authorizationUrl: string }).authorizationUrl;
        const page = await walk(withLoginHint(login, PID));
        if (page.status !== 200) throw new Error(`login of ${id}: ${page.status}`);
        ids.push(id);
      }
    }),
  );
  say(`${ids.length} flows authorized; SIGKILL, down ${DOWN} s (renewal due at 80 % of the ${WINDOW} s window)`);
  process.kill(-first.pid, "SIGKILL");
  await first.exited;
  await new Promise((r) => setTimeout(r, DOWN * 1000));

  const spawnedAt = Date.now();
  first = start(0);
  for (let i = 1; i < INSTANCES; i++) start(i);
  for (;;) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const listening = Date.now() - spawnedAt;
  // 30 s of a token call and /readyz, one after the other, while the renewals catch up.
  const probe = ids.at(-1)!;
  const slowest = { token: 0, readyz: 0 };
  const statuses = new Map<string, number>();
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    for (const [what, call] of [
      ["readyz", () => fetch(`${url}/readyz`)],
      ["token", () => fetch(`${url}/api/flows/${probe}/token`, { method: "POST", headers, body: JSON.stringify({ user: "erp" }) })],
    ] as const) {
      const begun = Date.now();
      const status = await call().then(async (r) => (await r.arrayBuffer(), String(r.status)), (e: Error) => e.message);
      slowest[what] = Math.max(slowest[what], Date.now() - begun);
      statuses.set(`${what} ${status}`, (statuses.get(`${what} ${status}`) ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // Each flow's trail since the restart: renewed, or lost (expired).
  let renewed = 0;
  let failedRefreshes = 0;
  let lost = 0;
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) => {
        const trail = ((await (await fetch(`${url}/api/flows/${id}/audit`, { headers })).json()) as { transitions: { at: string; event: string; to: string }[] }).transitions.filter((e) => Date.parse(e.at) >= spawnedAt - 1000);
        if (trail.some((e) => e.event === "done: refreshIdporten")) renewed++;
        if (trail.some((e) => e.event.startsWith("error: refreshIdporten"))) failedRefreshes++;
        if (trail.some((e) => e.to === "expired")) lost++;
      }),
    );
  }
  say(
    `catch-up, ${INSTANCES} instance(s) on ${databaseUrl ? "PostgreSQL" : "lowdb"}: listening ${(listening / 1000).toFixed(1)} s after the start; ` +
      `in the next 30 s the slowest token call ${slowest.token} ms, /readyz ${slowest.readyz} ms (${[...statuses].map(([k, n]) => `${k} ×${n}`).join(", ")}); ` +
      `${renewed} of ${ids.length} renewed, ${failedRefreshes} with a failed refresh, ${lost} lost (expired)`,
  );
  if (lost > 0) process.exitCode = 1;
} finally {
  await stopAll();
  if (admin && database) await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  await admin?.end({ timeout: 2 });
  rmSync(dir, { recursive: true, force: true });
}
