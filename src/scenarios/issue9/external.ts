// The service against an ID-porten it does not run: a standalone simulator (as `npm run simulator`
// starts it, here in-process) registered as at Digdir's self-service — one client, one auth method,
// the VAT scopes — and the service configured as for TT02 (IDPORTEN_ISSUER, client id and secret,
// ALTINN_EXCHANGE_URL). What only a real registration shows (a scope Skatteetaten has not granted)
// is played here; the embedded simulator registers whatever IDPORTEN_SCOPE asks for.
import { serve, type ServerType } from "@hono/node-server";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { readConfig, type Env } from "../../config.ts";
import { startService, type Service } from "../../service.ts";
import { startSimulator, type RunningSimulator, type SimulatorClient } from "../../simulator/index.ts";
import { API_TOKEN } from "../harness.ts";

export interface ExternalSetup {
  url: string;
  service: Service;
  simulator: RunningSimulator;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

const CLIENT_ID = "authflow-tt02-rehearsal";
const CLIENT_SECRET = "rehearsal-secret-0123456789abcdef0123456789";

/** `registration` changes the simulator's client (scopes, method); `env` the service's configuration (given the simulator's issuer). */
export async function startAgainstSimulator(env: Env | ((simulator: RunningSimulator) => Env) = {}, registration: Partial<SimulatorClient> = {}): Promise<ExternalSetup> {
  const dir = await mkdtemp(join(tmpdir(), "authflow-external-"));
  const handler = { fetch: (_req: Request): Response | Promise<Response> => new Response("starting", { status: 503 }) };
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: (req) => handler.fetch(req), port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closeServer = () => new Promise<void>((r) => server.close(() => r()));
  let simulator: RunningSimulator | undefined;
  try {
    simulator = await startSimulator({
      host: "127.0.0.1",
      port: 0,
      dataDir: join(dir, "simulator-data"),
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/callback`], tokenEndpointAuthMethod: "client_secret_post", ...registration }],
    });
    const config = readConfig({
      PORT: "0",
      PUBLIC_URL: url,
      DATA_DIR: join(dir, "service-data"),
      API_TOKEN,
      IDPORTEN_ISSUER: simulator.issuer,
      IDPORTEN_CLIENT_ID: CLIENT_ID,
      IDPORTEN_CLIENT_SECRET: CLIENT_SECRET,
      ALTINN_EXCHANGE_URL: simulator.altinnExchangeUrl,
      ...(typeof env === "function" ? env(simulator) : env),
    });
    const service = await startService(config);
    handler.fetch = (req) => service.app.fetch(req);
    const sim = simulator;
    return {
      url,
      service,
      simulator: sim,
      async api(method, path, body) {
        const res = await fetch(url + path, {
          method,
          headers: { authorization: `Bearer ${API_TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        return { status: res.status, json: text ? JSON.parse(text) : null };
      },
      async close() {
        await service.close();
        await sim.close();
        await closeServer();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await simulator?.close();
    await closeServer();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
