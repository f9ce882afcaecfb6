// The ID-porten + Altinn simulator (DESIGN §5): an OpenID Provider that behaves like ID-porten,
// Altinn's token exchange, a login page with synthetic test persons, and a control API for
// testers — on one node:http server (Node and Deno 2).
//
// Requests are dispatched by path: faults first (token, exchange), then the simulator's own pages
// and APIs (a small Hono app), and everything else to oidc-provider.

import { mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { SimulatorStore } from "./adapter.ts";
import { ALTINN_EXCHANGE_PATH, altinnRoutes } from "./altinn.ts";
import { controlRoutes, createControl } from "./control.ts";
import { applyFault, FaultQueue } from "./faults.ts";
import { loadKeys, openSecretBox } from "./keys.ts";
import { initialLifetimes } from "./lifetimes.ts";
import { loginRoutes } from "./login.ts";
import { TEST_PERSONS } from "./persons.ts";
import { createProvider, LOGIN_PATH, ROUTES } from "./provider.ts";
import type { RunningSimulator, SimulatorClient, SimulatorOptions } from "./types.ts";

export type {
  FaultEndpoint,
  FaultSpec,
  PendingFault,
  RunningSimulator,
  SimulatorClient,
  SimulatorControl,
  SimulatorLifetimes,
  SimulatorOptions,
  SimulatorState,
  TestPerson,
} from "./types.ts";
export { DEFAULT_SIMULATOR_LIFETIMES } from "./lifetimes.ts";
export { SimulatorInputError } from "./input.ts";
export { ALTINN_EXCHANGE_PATH } from "./altinn.ts";

const CONTROL_PATH = "/control";

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const log = options.log ?? (() => {});
  const lifetimes = initialLifetimes(options.lifetimes);
  checkClients(options.clients);

  const dir = options.dataDir ? join(options.dataDir, "simulator") : undefined;
  let store: SimulatorStore;
  let keys;
  if (dir) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const box = await openSecretBox(dir, options.encryptionKey);
    const opened = await SimulatorStore.open(join(dir, "store"), box);
    store = opened.store;
    if (opened.unreadable > 0) log(`store: ${opened.unreadable} stored entries could not be opened (another encryption key?) and are ignored`);
    keys = await loadKeys(dir, box);
  } else {
    store = SimulatorStore.inMemory();
    keys = await loadKeys(undefined, undefined);
  }

  // Listen first: with port 0 the issuer holds the port we get. Until the provider is ready, a
  // request gets 503.
  let ready: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    if (!ready) return void res.writeHead(503, { "retry-after": "1" }).end();
    ready(req, res).catch((error: unknown) => {
      log(`server error on ${req.method} ${req.url?.split("?")[0]}: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  try {
    const { port } = server.address() as AddressInfo;
    const issuer = options.publicUrl ? checkPublicUrl(options.publicUrl) : `http://${urlHost(options.host)}:${port}`;
    const issuerUrl = new URL(issuer);

    const provider = await createProvider({
      issuer,
      clients: options.clients,
      lifetimes,
      store,
      signingKey: keys.idporten,
      cookieKeys: keys.cookieKeys,
      log,
    });
    const faults = new FaultQueue();
    const control = createControl({ lifetimes, faults, store, log });

    const web = new Hono();
    web.route(LOGIN_PATH, loginRoutes(provider, log));
    web.route("/", altinnRoutes({ issuer, idportenKey: keys.idporten, altinnKey: keys.altinn, log }));
    web.route(CONTROL_PATH, controlRoutes(control));
    // Leave the global Request/Response alone: the simulator may share its process with the service.
    const handleWeb = getRequestListener(web.fetch, { overrideGlobalObjects: false });
    const handleOidc = provider.callback();

    ready = async (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const endpoint = path === ROUTES.token ? "token" : path === ALTINN_EXCHANGE_PATH ? "altinn" : undefined;
      const fault = endpoint && faults.take(endpoint);
      if (fault) {
        log(`fault: ${endpoint} call answered by a fault (${fault.drop ? "drop" : fault.status ?? "delay"})`);
        if (await applyFault(fault, req, res)) return;
      }
      if (path.startsWith(`${LOGIN_PATH}/`) || path === ALTINN_EXCHANGE_PATH || path === CONTROL_PATH || path.startsWith(`${CONTROL_PATH}/`)) {
        return handleWeb(req, res);
      }
      // The issuer is the one truth: endpoints are advertised under it however we are reached.
      req.headers["x-forwarded-host"] = issuerUrl.host;
      req.headers["x-forwarded-proto"] = issuerUrl.protocol.slice(0, -1);
      handleOidc(req, res);
    };

    return {
      issuer,
      altinnExchangeUrl: `${issuer}${ALTINN_EXCHANGE_PATH}`,
      controlUrl: `${issuer}${CONTROL_PATH}`,
      persons: TEST_PERSONS.map((person) => ({ ...person })),
      control,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
        });
        await store.flush();
      },
    };
  } catch (error) {
    server.close();
    throw error;
  }
}

function checkClients(clients: SimulatorClient[]): void {
  if (!Array.isArray(clients) || clients.length === 0) throw new Error("clients: at least one client is needed");
  for (const client of clients) {
    if (!client.clientId) throw new Error("clients: a client has no clientId");
    if (!client.clientSecret) throw new Error(`clients: ${client.clientId} has no clientSecret`);
    if (!client.redirectUris?.length) throw new Error(`clients: ${client.clientId} has no redirect URIs`);
    for (const uri of client.redirectUris) {
      if (!URL.canParse(uri)) throw new Error(`clients: ${client.clientId} has a redirect URI that is not an absolute URL: ${uri}`);
    }
  }
}

function checkPublicUrl(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search || url.hash) {
    throw new Error(`publicUrl must be an http(s) base URL without path (it is the issuer), got "${value}"`);
  }
  return url.origin;
}

/** A bind address as it goes in a URL: a wildcard address is reached as localhost. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}
