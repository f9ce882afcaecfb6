// Boots the whole service as `npm start` does — embedded simulator over real HTTP on 127.0.0.1,
// lowdb in a temp folder — listening on a free port, so browsers and redirects work for real.
// Shared by the tests and by the scenario runner (npm run scenario). Node only (it listens).
import { serve, type ServerType } from "@hono/node-server";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { readConfig, type Env } from "../config.ts";
import { startService, type Service, type StartOptions } from "../service.ts";

export const API_TOKEN = "test-api-token-0123456789abcdef0123456789";
export const PID = "01817010055";

export interface TestService {
  url: string;
  service: Service;
  dataDir: string;
  lines: string[];
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; type: string; json: any; text: string }>;
  /**
   * Follows the authorization URL's redirects with a cookie jar until the callback page answers
   * (or, with `stopAt`, until the next hop would start with it: the browser's callback, not sent).
   */
  /** A browser's walk through the login (redirects followed with a cookie jar); `cookie` is the jar as a Cookie header. */
  login(authorizationUrl: string, pid?: string, stopAt?: string): Promise<{ status: number; url: string; body: string; cookie: string }>;
  /** Calls the simulator's control API (faults, lifetimes, expire codes, revoke). */
  control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Polls the flow view until its state is one of `states` (or `timeoutMs` passes). */
  waitForState(id: string, states: string[], timeoutMs?: number): Promise<any>;
  restart(extraEnv?: Env): Promise<void>;
  close(): Promise<void>;
}

// The node server's bindings (the socket: the peer's address, which TRUSTED_PROXIES is checked against) go through to the app.
async function listen(handler: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> }): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: (req, env) => handler.fetch(req, env), port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve({ server, port: info.port }));
  });
}

export async function startTestService(env: Env = {}, dataDir?: string, options: StartOptions = {}): Promise<TestService> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "authflow-test-")));
  const lines: string[] = [];
  const handler = { fetch: (_req: Request, _env?: unknown): Response | Promise<Response> => new Response("starting", { status: 503 }) };
  const { server, port } = await listen(handler);
  const url = `http://127.0.0.1:${port}`;
  // The first start lets the simulator pick a port; a restart keeps that issuer, as ID-porten's never changes.
  let simulator: Env = { SIMULATOR_PORT: "0" };
  const boot = async (extra: Env) => {
    const config = readConfig({ PORT: String(port), PUBLIC_URL: url, DATA_DIR: dir, API_TOKEN, ...simulator, ...env, ...extra });
    const service = await startService(config, (line) => lines.push(line), options);
    const issuer = service.simulator!.issuer;
    simulator = { SIMULATOR_PORT: new URL(issuer).port, SIMULATOR_PUBLIC_URL: issuer };
    handler.fetch = (req, env) => service.app.fetch(req, env);
    return service;
  };
  let service = await boot({});

  const api: TestService["api"] = async (method, path, body, token = API_TOKEN) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, type: res.headers.get("content-type") ?? "", json, text };
  };

  const login: TestService["login"] = async (authorizationUrl, pid = PID, stopAt) => {
    const jar = new Map<string, string>();
    const start = new URL(authorizationUrl);
    if (pid) start.searchParams.set("login_hint", pid);
    let next = start.toString();
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    for (let hop = 0; hop < 20; hop++) {
      const res = await fetch(next, { redirect: "manual", headers: jar.size ? { cookie: cookie() } : {} });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const i = pair!.indexOf("=");
        jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
      }
      const location = res.headers.get("location");
      if (!location) return { status: res.status, url: next, body: await res.text(), cookie: cookie() };
      next = new URL(location, next).toString();
      if (stopAt && next.startsWith(stopAt)) return { status: res.status, url: next, body: "", cookie: cookie() };
    }
    throw new Error("too many redirects");
  };

  const control: TestService["control"] = async (method, path, body) => {
    const res = await fetch(`${service.simulator!.controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };

  const waitForState: TestService["waitForState"] = async (id, states, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = (await api("GET", `/api/flows/${id}`)).json;
      if (states.includes(view?.state) || Date.now() > deadline) return view;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return {
    url,
    control,
    waitForState,
    get service() {
      return service;
    },
    dataDir: dir,
    lines,
    api,
    login,
    async restart(extraEnv: Env = {}) {
      await service.close();
      service = await boot(extraEnv);
    },
    async close() {
      await service.close();
      await new Promise((r) => {
        server.close(r);
        (server as { closeAllConnections?: () => void }).closeAllConnections?.(); // a page still waiting on the old service
      });
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  } as TestService;
}
