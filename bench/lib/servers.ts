// The processes the bench measures, each started as an operator would start it, on 127.0.0.1:
//   service   `node --import tsx src/main.node.ts` (npm start) or `deno task start`, with the embedded
//             simulator unless an issuer is given
//   simulator `node --import tsx src/simulator/main.node.ts` (npm run simulator), standalone
//   bare      bench/bare-server.ts: one Hono route behind the service's own bearer check
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freePort, startProcess, waitFor200, type Proc } from "./proc.ts";
import { withLoginHint, walk } from "./browser.ts";

export const API_TOKEN = `bench-api-token-${randomBytes(16).toString("hex")}`;
export const PID = "01817010055";
export const USER = "bench";
export const auth = { authorization: `Bearer ${API_TOKEN}` };
export const jsonAuth = { ...auth, "content-type": "application/json" };

/** One folder for the whole run (logs, DATA_DIRs, profiles); removed at the end unless BENCH_KEEP is set. */
export const RUN_DIR = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), "authflow-bench-"));
let dirs = 0;
export const newDir = (name: string) => mkdtempSync(join(RUN_DIR, `${name}-${++dirs}-`));

export interface RunningService {
  proc: Proc;
  url: string;
  port: number;
  dataDir: string;
  /** The provider it talks to (the embedded simulator's, or the given issuer). */
  issuer: string;
  /** ms from spawn to the first /healthz 200. */
  startupMs: number;
}

export interface ServiceOptions {
  runtime?: "node" | "deno";
  dataDir?: string;
  port?: number;
  /** Variables beyond the basics (IDPORTEN_ISSUER…, DATABASE_URL…). */
  env?: Record<string, string>;
  /** Extra node flags (--cpu-prof …). */
  nodeFlags?: string[];
  /** Modules imported after tsx (bench/hooks/…), Node only. */
  preload?: string[];
  name?: string;
  /** Another checkout to start the service from (bench/ab-revision.ts); this one by default. */
  cwd?: string;
}

export async function startService(options: ServiceOptions = {}): Promise<RunningService> {
  const runtime = options.runtime ?? "node";
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? newDir(`${runtime}-data`);
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = { PORT: String(port), PUBLIC_URL: url, DATA_DIR: dataDir, API_TOKEN, ...options.env };
  let issuer = env.IDPORTEN_ISSUER ?? "";
  if (!issuer) {
    const simulatorPort = await freePort();
    issuer = `http://127.0.0.1:${simulatorPort}`;
    Object.assign(env, { SIMULATOR_PORT: String(simulatorPort), SIMULATOR_PUBLIC_URL: issuer });
  }
  const name = options.name ?? `${runtime} service`;
  const logPath = join(RUN_DIR, `${name.replace(/\W+/g, "-")}-${port}.log`);
  const started = performance.now();
  const proc =
    runtime === "node"
      ? startProcess(name, process.execPath, [...(options.nodeFlags ?? []), "--import", "tsx", ...(options.preload ?? []).flatMap((m) => ["--import", m]), "src/main.node.ts"], { env, logPath, ...(options.cwd ? { cwd: options.cwd } : {}) })
      : startProcess(name, process.env.BENCH_DENO ?? "deno", ["task", "start"], { env, logPath, ...(options.cwd ? { cwd: options.cwd } : {}) });
  await waitFor200(`${url}/healthz`, proc);
  return { proc, url, port, dataDir, issuer, startupMs: performance.now() - started };
}

export interface RunningSimulator {
  proc: Proc;
  issuer: string;
  altinnExchangeUrl: string;
  clientId: string;
  clientSecret: string;
}

/** `npm run simulator` with one client, registered for `redirectUris`, client_secret_post with a known secret. */
export async function startStandaloneSimulator(...redirectUris: string[]): Promise<RunningSimulator> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = "authflow-bench";
  const clientSecret = randomBytes(32).toString("base64url");
  const logPath = join(RUN_DIR, `simulator-${port}.log`);
  const proc = startProcess("simulator", process.execPath, ["--import", "tsx", "src/simulator/main.node.ts"], {
    env: {
      SIMULATOR_PORT: String(port),
      SIMULATOR_PUBLIC_URL: issuer,
      DATA_DIR: newDir("simulator-data"),
      SIMULATOR_CLIENT_ID: clientId,
      SIMULATOR_CLIENT_SECRET: clientSecret,
      SIMULATOR_CLIENT_AUTH: "client_secret_post",
      SIMULATOR_REDIRECT_URIS: redirectUris.join(","),
    },
    logPath,
  });
  await waitFor200(`${issuer}/.well-known/openid-configuration`, proc);
  const altinn = /Altinn\s+(http\S+)/.exec(readFileSync(logPath, "utf8"))?.[1];
  if (!altinn) throw new Error(`simulator: its start-up lines name no Altinn URL:\n${proc.tail()}`);
  return { proc, issuer, altinnExchangeUrl: altinn, clientId, clientSecret };
}

/** The service configured against a standalone simulator, as against ID-porten (IDPORTEN_ISSUER …). */
export function serviceEnvFor(simulator: RunningSimulator): Record<string, string> {
  return {
    IDPORTEN_ISSUER: simulator.issuer,
    IDPORTEN_CLIENT_ID: simulator.clientId,
    IDPORTEN_CLIENT_SECRET: simulator.clientSecret,
    IDPORTEN_CLIENT_AUTH: "client_secret_post",
    ALTINN_EXCHANGE_URL: simulator.altinnExchangeUrl,
  };
}

export async function api(service: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(service.url + path, { method, headers: body === undefined ? auth : jsonAuth, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/**
 * One whole authorization through the service, as a client and a browser do it: create, AUTHORIZE,
 * open the login link with login_hint and follow every redirect (cookie jar) to the callback page,
 * which answers once the code exchange and the Altinn exchange have settled.
 */
export async function authorizeThroughService(service: { url: string }, legalEntity = "999999999"): Promise<{ id: string; page: number }> {
  const created = await api(service, "POST", "/api/flows", { legalEntity });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${created.text.slice(0, 300)}`);
  const id = created.json.id as string;
  const started = await api(service, "POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: USER });
  const link = started.json?.authorizationUrl as string | undefined;
  if (started.status !== 200 || !link) throw new Error(`AUTHORIZE answered ${started.status}: ${started.text.slice(0, 300)}`);
  const page = await walk(withLoginHint(link, PID));
  if (page.status !== 200) throw new Error(`the callback page answered ${page.status}: ${page.body.slice(0, 300)}`);
  return { id, page: page.status };
}

/** A flow in altinnAuthorized, checked. */
export async function authorizedFlow(service: { url: string }): Promise<string> {
  const { id } = await authorizeThroughService(service);
  const view = await api(service, "GET", `/api/flows/${id}`);
  if (view.json?.state !== "altinnAuthorized") throw new Error(`flow ${id} is ${view.json?.state ?? view.status} after the login, not altinnAuthorized: ${view.text.slice(0, 300)}`);
  return id;
}

/**
 * bench/floor-server.ts on `port` against `simulator`: the service's hops (four requests served,
 * three made) and nothing else. Its redirect URI must be registered at that simulator.
 */
export async function startFloorServer(port: number, simulator: RunningSimulator): Promise<{ proc: Proc; url: string }> {
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess("floor server", process.execPath, ["--import", "tsx", "bench/floor-server.ts"], {
    env: { PORT: String(port), API_TOKEN, ...serviceEnvFor(simulator) },
    logPath: join(RUN_DIR, `floor-${port}.log`),
  });
  await waitFor200(`${url}/healthz`, proc);
  return { proc, url };
}

export async function startBareServer(answer: unknown): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess("bare Hono route", process.execPath, ["--import", "tsx", "bench/bare-server.ts"], {
    env: { PORT: String(port), API_TOKEN, BARE_ANSWER: JSON.stringify(answer) },
    logPath: join(RUN_DIR, `bare-${port}.log`),
  });
  await waitFor200(`${url}/healthz`, proc);
  return { proc, url };
}
