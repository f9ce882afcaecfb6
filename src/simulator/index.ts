// The ID-porten + Altinn simulator (DESIGN §5): an OpenID Provider that behaves like ID-porten,
// Altinn's token exchange, a login page with synthetic test persons, and a control API for
// testers — on one node:http server (Node and Deno 2).
//
// Requests are dispatched by path: faults first (token, revocation, PAR, exchange), then the
// one-method-per-client check on the endpoints that authenticate clients (client-auth.ts), then
// the simulator's own pages and APIs (a small Hono app), and everything else to oidc-provider.

import { mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { SimulatorStore } from "./adapter.ts";
import { AltinnRegister } from "./altinn-register.ts";
import { ALTINN_EXCHANGE_PATH, altinnRoutes } from "./altinn.ts";
import { authMismatch, presentedAuth, readBody, replayRequest } from "./client-auth.ts";
import { checkClients, ClientRegistry } from "./clients.ts";
import { checkSettings, controlRoutes, createControl } from "./control.ts";
import { correlationIdOf, idportenErrorBody } from "./errors.ts";
import { applyFault, FaultQueue } from "./faults.ts";
import { SimulatorInputError } from "./input.ts";
import { loadKeys, openSecretBox } from "./keys.ts";
import { initialLifetimes } from "./lifetimes.ts";
import { LoginRecords } from "./login-record.ts";
import { loginRoutes } from "./login.ts";
import { TEST_PERSONS } from "./persons.ts";
import { createProvider, LOGIN_PATH, ROUTES } from "./provider.ts";
import { pairwiseSubjects } from "./subjects.ts";
import type { FaultEndpoint, RunningSimulator, SimulatorOptions, SimulatorSettings } from "./types.ts";

export type {
  FaultEndpoint,
  FaultSpec,
  PendingFault,
  RunningSimulator,
  SimulatorClient,
  SimulatorControl,
  SimulatorLifetimes,
  SimulatorOptions,
  SimulatorSettings,
  SimulatorState,
  TestPerson,
  TokenEndpointAuthMethod,
} from "./types.ts";
export { DEFAULT_SIMULATOR_LIFETIMES } from "./lifetimes.ts";
export { DEFAULT_CLIENT_SCOPES } from "./clients.ts";
export { SimulatorInputError } from "./input.ts";
export { ALTINN_EXCHANGE_PATH } from "./altinn.ts";

const CONTROL_PATH = "/control";

/** Which fault endpoint (and client-authenticating endpoint, but for altinn) a path is. */
const ENDPOINTS: Record<string, FaultEndpoint> = {
  [ROUTES.token]: "token",
  [ROUTES.revocation]: "revocation",
  [ROUTES.pushed_authorization_request]: "par",
  [ALTINN_EXCHANGE_PATH]: "altinn",
};

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const log = options.log ?? (() => {});
  const lifetimes = initialLifetimes(options.lifetimes);
  checkClients(options.clients);
  const settings = initialSettings(options);
  if (options.controlToken !== undefined && options.controlToken.length < 16) {
    throw new Error("controlToken must be at least 16 characters");
  }

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

    const register = await AltinnRegister.open(store);
    // The clients given at start, and those registered since through the control API (kept in the store).
    const clients = new ClientRegistry(options.clients, store);
    const provider = await createProvider({
      issuer,
      clients: options.clients,
      registry: clients,
      lifetimes,
      settings,
      store,
      signingKey: keys.idporten,
      cookieKeys: keys.cookieKeys,
      pairwiseSubject: await pairwiseSubjects(keys.pairwise),
      loginRecords: new LoginRecords(store),
      log,
    });
    const faults = new FaultQueue();
    const control = createControl({ lifetimes, settings, faults, store, register, clients, log });

    const web = new Hono();
    web.route(LOGIN_PATH, loginRoutes(provider, log));
    web.route("/", altinnRoutes({ issuer, idportenKey: keys.idporten, altinnKey: keys.altinn, register, log }));
    web.route(CONTROL_PATH, controlRoutes(control, options.controlToken));
    // Leave the global Request/Response alone: the simulator may share its process with the service.
    const handleWeb = getRequestListener(web.fetch, { overrideGlobalObjects: false });
    const handleOidc = provider.callback();

    ready = async (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const endpoint = ENDPOINTS[path] as FaultEndpoint | undefined;
      const fault = endpoint && faults.take(endpoint);
      if (fault) {
        log(`fault: ${endpoint} call answered by a fault (${fault.drop ? "drop" : fault.status ?? "delay"})`);
        if (await applyFault(fault, req, res)) return;
      }
      if (path.startsWith(`${LOGIN_PATH}/`) || path === ALTINN_EXCHANGE_PATH || path === CONTROL_PATH || path.startsWith(`${CONTROL_PATH}/`)) {
        return handleWeb(req, res);
      }
      if (endpoint && req.method === "POST" && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers["content-type"] ?? "")) {
        const body = await readBody(req);
        if (!body) return answerError(res, endpoint, 400, "invalid_request", "the request body is too large");
        const presented = presentedAuth(req.headers.authorization, new URLSearchParams(body.toString("utf8")));
        const mismatch = presented && authMismatch(clients.all(), presented);
        if (mismatch) return answerError(res, endpoint, 401, "invalid_client", mismatch);
        req = replayRequest(req, body);
      }
      // The issuer is the one truth: endpoints are advertised under it however we are reached.
      req.headers["x-forwarded-host"] = issuerUrl.host;
      req.headers["x-forwarded-proto"] = issuerUrl.protocol.slice(0, -1);
      handleOidc(req, res);
    };

    /** An error answered before oidc-provider sees the request, in ID-porten's shape (errors.ts). */
    const answerError = (res: ServerResponse, endpoint: string, status: number, error: string, reason: string) => {
      const body = idportenErrorBody(error);
      log(`${endpoint}: ${error} (${reason}), correlation id ${correlationIdOf(body)}`);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
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

function initialSettings(options: SimulatorOptions): SimulatorSettings {
  try {
    return { refreshReuseGraceSeconds: 0, ...checkSettings({ refreshReuseGraceSeconds: options.refreshReuseGraceSeconds ?? 0 }) };
  } catch (error) {
    throw error instanceof SimulatorInputError ? new Error(error.message) : error;
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
