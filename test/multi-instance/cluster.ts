// The multi-instance set-up of issue 7: a database of its own on the machine's PostgreSQL, one
// standalone simulator (`npm run simulator`), N server processes (`npm start`) on that database
// behind the round-robin balancer (balancer.ts), each spawned detached in its own process group
// (test/lifecycle/process-group.ts: killAll() SIGKILLs every group), each with its own DATA_DIR
// and port. Plus what the test needs to drive them: an HTTP client per base URL, a browser's
// login walk with a cookie jar, an SSE reader, and a LISTEN on the store's notification channel
// (its payload names the instance that wrote, which is how a test learns each instance's id).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { killAll, startProcess, type ServerProcess } from "../lifecycle/process-group.ts";
import { ADMIN_URL, createTestDatabase, type TestDatabase } from "../store/postgres-server.ts";
import { startPgWireCount, type PgWireCount } from "../support/pg-wire-count.ts";
import { freePort } from "../support/free-port.ts";
import type { Balancer } from "./balancer.ts";

export const API_TOKEN = "multi-instance-api-token-0123456789abcdef";
export const ENCRYPTION_KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
export const CLIENT_ID = "authflow-mi";
export const CLIENT_SECRET = "multi-instance-client-secret-0123456789abcdef";
/** Synthetic test persons the simulator knows (login_hint skips its login page). */
export const PIDS = ["01817010055"];
export const LEGAL_ENTITY = "999999999";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the database

export type MiDatabase = TestDatabase;

/** A new, empty database authflow_mi_<random> on the machine's server; drop() removes it (FORCE). */
export const createDatabase = (): Promise<MiDatabase> => createTestDatabase("authflow_mi");

export interface RelayedDatabase {
  db: MiDatabase;
  /** A relay in front of the machine's server that counts (and can hold) what its clients ask. */
  relay: PgWireCount;
  /** Kills every process the test started, closes the relay, drops the database, removes the temp folders. */
  teardown(): Promise<void>;
}

/** A database of its own, and a wire relay (test/support/pg-wire-count.ts) for the instances that should go through it. */
export async function relayedDatabase(): Promise<RelayedDatabase> {
  const db = await createDatabase();
  const admin = new URL(ADMIN_URL);
  const relay = await startPgWireCount({ host: admin.hostname, port: Number(admin.port || 5432) });
  return {
    db,
    relay,
    async teardown() {
      killAll();
      await relay.close();
      await db.drop();
      removeTempDirs();
    },
  };
}

// --- processes

const tempDirs: string[] = [];
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Waits until the process has printed a line matching `pattern`; throws with its output if it exits or `timeoutMs` passes. */
export async function waitForLine(proc: ServerProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = proc.output().stdout.match(pattern);
    if (match) return match;
    const out = proc.output();
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${what} exited (${proc.child.exitCode ?? proc.child.signalCode}) before it was ready:\n${out.stdout}\n${out.stderr}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${out.stdout}\n${out.stderr}`);
    await sleep(50);
  }
}

export interface Simulator {
  proc: ServerProcess;
  issuer: string;
  altinnExchangeUrl: string;
  controlUrl: string;
  control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** The simulator's own log lines (its stdout, time stamp removed). */
  lines(): string[];
  /** What its token endpoint and Altinn did, from its own log: never the service's counting. */
  saw(): { refreshes: number; codeExchanges: number; invalidGrants: number; reuses: number; faultedTokenCalls: number; altinnExchanges: number };
}

export async function startSimulator(env: Record<string, string>): Promise<Simulator> {
  const proc = startProcess("node", ["--import", "tsx", "src/simulator/main.node.ts"], {
    SIMULATOR_PORT: "0",
    DATA_DIR: tempDir("authflow-mi-sim-"),
    SIMULATOR_CLIENT_ID: CLIENT_ID,
    SIMULATOR_CLIENT_SECRET: CLIENT_SECRET,
    ...env,
  });
  const [, issuer] = await waitForLine(proc, /^\s*issuer\s+(\S+)/m, "the simulator");
  const [, altinnExchangeUrl] = await waitForLine(proc, /^\s*Altinn\s+(\S+)/m, "the simulator");
  const [, controlUrl] = await waitForLine(proc, /^\s*control API\s+(\S+)/m, "the simulator");
  const lines = () =>
    proc
      .output()
      .stdout.split("\n")
      .map((l) => /^\d{4}-\d\d-\d\dT\S+ (.*)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
  return {
    proc,
    issuer: issuer!,
    altinnExchangeUrl: altinnExchangeUrl!,
    controlUrl: controlUrl!,
    lines,
    async control(method, path, body) {
      const res = await fetch(`${controlUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
    saw() {
      const all = lines();
      return {
        refreshes: all.filter((l) => /^token: refresh_token for /.test(l)).length,
        codeExchanges: all.filter((l) => /^token: authorization_code for /.test(l)).length,
        invalidGrants: all.filter((l) => /^token: invalid_grant/.test(l)).length,
        reuses: all.filter((l) => /reuse grace/.test(l)).length,
        faultedTokenCalls: all.filter((l) => /^fault: token call/.test(l)).length,
        altinnExchanges: all.filter((l) => /^altinn: exchanged/.test(l)).length,
      };
    },
  };
}

export interface Instance {
  index: number;
  proc: ServerProcess;
  /** Direct URL of this instance (not through the balancer). */
  url: string;
  port: number;
  dataDir: string;
  /** Its id in the store's claims, leases and notifications (learnt from a notification). */
  instanceId: string;
  http: Http;
}

/** What every instance of a test cluster is started with: the store, the shared secrets and the simulator as ID-porten. */
export function instanceEnv(options: { databaseUrl: string; sim: Simulator; publicUrl: string }): Record<string, string> {
  return {
    HOST: "127.0.0.1",
    DATABASE_URL: options.databaseUrl,
    ENCRYPTION_KEY,
    API_TOKEN,
    IDPORTEN_ISSUER: options.sim.issuer,
    IDPORTEN_CLIENT_ID: CLIENT_ID,
    IDPORTEN_CLIENT_SECRET: CLIENT_SECRET,
    ALTINN_EXCHANGE_URL: options.sim.altinnExchangeUrl,
    PUBLIC_URL: options.publicUrl,
    IDPORTEN_REDIRECT_URI: `${options.publicUrl}/callback`,
    EXCHANGE_MODE: "auto",
    INSPECT: "off",
  };
}

export async function startInstance(index: number, env: Record<string, string>): Promise<Instance> {
  const dataDir = tempDir(`authflow-mi-${index}-`);
  const proc = startProcess("node", ["--import", "tsx", "src/main.node.ts"], { PORT: "0", DATA_DIR: dataDir, ...env });
  const [, url] = await waitForLine(proc, /authflow listening on (http:\/\/\S+?) /, `instance ${index}`);
  const port = Number(new URL(url!).port);
  return { index, proc, url: url!, port, dataDir, instanceId: "", http: httpClient(url!) };
}

/**
 * Two instances on one database of their own, behind one public URL (A listens on it: a login's
 * callback comes to A), sharing a standalone simulator (`simulatorEnv` added to its settings), both
 * ready. `relayB`: B reaches the database through the cluster's wire relay, which can hold its writes.
 */
export async function pairBehindOneUrl(options: { simulatorEnv?: Record<string, string>; relayB?: boolean } = {}): Promise<{ cluster: RelayedDatabase; sim: Simulator; a: Instance; b: Instance }> {
  const cluster = await relayedDatabase();
  const { db, relay } = cluster;
  const port = await freePort();
  const sim = await startSimulator({ SIMULATOR_REDIRECT_URIS: `http://127.0.0.1:${port}/callback`, ...options.simulatorEnv });
  const env = { ...instanceEnv({ databaseUrl: db.url, sim, publicUrl: `http://127.0.0.1:${port}` }), SIMULATED_CLOCK: "off" };
  const a = await startInstance(0, { ...env, PORT: String(port) });
  const b = await startInstance(1, options.relayB ? { ...env, DATABASE_URL: relay.url(db.name) } : env);
  for (const instance of [a, b]) {
    await eventually(async () => (await fetch(`${instance.url}/readyz`)).status === 200, () => `instance ${instance.index} is not ready`, 15_000);
  }
  return { cluster, sim, a, b };
}

/** The instance's own log lines (time stamp removed). */
export const instanceLines = (instance: Instance) =>
  instance.proc
    .output()
    .stdout.split("\n")
    .map((l) => /^\d{4}-\d\d-\d\dT\S+ (.*)$/.exec(l)?.[1] ?? l);

// --- HTTP

export interface Answer {
  status: number;
  json: any;
  text: string;
}

export interface Http {
  base: string;
  api(method: string, path: string, body?: unknown): Promise<Answer>;
}

export function httpClient(base: string): Http {
  return {
    base,
    async api(method, path, body) {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${API_TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
  };
}

/**
 * A browser's walk through a login: opens the login link (through the balancer), follows the
 * redirects to the simulator (login_hint skips its page) and back to the callback, with a cookie
 * jar per host:port. Answers the last page.
 */
export async function browserLogin(loginUrl: string, pid = PIDS[0]!): Promise<{ status: number; url: string; body: string; hops: string[] }> {
  const jars = new Map<string, Map<string, string>>();
  const start = new URL(loginUrl);
  start.searchParams.set("login_hint", pid);
  let next = start.toString();
  const hops: string[] = [];
  for (let hop = 0; hop < 20; hop++) {
    hops.push(next);
    const host = new URL(next).host;
    const jar = jars.get(host) ?? new Map<string, string>();
    jars.set(host, jar);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(next, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
    const location = res.headers.get("location");
    if (!location) return { status: res.status, url: next, body: await res.text(), hops };
    await res.body?.cancel();
    next = new URL(location, next).toString();
  }
  throw new Error(`too many redirects: ${hops.join(" → ")}`);
}

/** Polls `check` until it answers something truthy; throws `what` after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null> | T | undefined | false | null, what: () => string, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await sleep(everyMs);
  }
}

// --- SSE

export interface SseReader {
  /** Every `event: flow` data received so far, parsed. */
  flows: any[];
  close(): void;
}

/** Opens GET <base>/api/flows/:id/stream with the bearer and collects its `flow` events. */
export async function openStream(base: string, id: string): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/flows/${id}/stream`, { headers: { authorization: `Bearer ${API_TOKEN}`, accept: "text/event-stream" }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`stream answered ${res.status}: ${await res.text()}`);
  const reader: SseReader = { flows: [], close: () => abort.abort() };
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = block
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.replace(/^data: ?/, ""))
            .join("\n");
          if (event === "flow") reader.flows.push(JSON.parse(data));
        }
      }
    } catch {
      // aborted
    }
  })();
  return reader;
}

// --- the store's notifications

export interface Notifications {
  /** Every payload `<flow id>:<revision>:<instance id>[:<legal entity of a gone flow>]` heard so far. */
  heard: { flowId: string; revision: number; instanceId: string }[];
  close(): Promise<void>;
}

export async function listenToStore(databaseUrl: string): Promise<Notifications> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const heard: Notifications["heard"] = [];
  await sql.listen("authflow_flows", (payload) => {
    const match = /^([^:]+):(\d+):([^:]*)/.exec(payload);
    if (match) heard.push({ flowId: match[1]!, revision: Number(match[2]), instanceId: match[3]! });
  });
  return { heard, close: () => sql.end({ timeout: 1 }) };
}

/** Balancer requests that served a given flow's login link and callback. */
export function loginHops(balancer: Balancer, flowId: string): { link: number[]; callback: number[] } {
  const link = balancer.log.filter((f) => f.url.startsWith(`/login/${flowId}.`)).map((f) => f.upstream);
  const callback = balancer.log.filter((f) => f.url.startsWith("/callback") && new URL(f.url, "http://x").searchParams.get("state")?.startsWith(`${flowId}.`)).map((f) => f.upstream);
  return { link, callback };
}
