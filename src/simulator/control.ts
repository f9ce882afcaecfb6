// The testers' controls (DESIGN §5): lifetimes, settings (the refresh-token reuse grace), "expire
// the codes issued so far", revoking a person's grants, faults, and Altinn's register of persons.
// One implementation, used in-process and behind /control.
//
// Over HTTP it takes JSON only: a POST, and any request with a body, must say
// `content-type: application/json` (else 415). A browser sends a cross-site form or a no-cors POST
// without a preflight, but never that content type — so a web page a tester visits cannot drive
// it (PUT and DELETE are preflighted and no CORS is answered). With a control token set, every
// request needs `Authorization: Bearer <token>` (else 401). Bad input answers 400 naming the problem.

import { Hono, type Context } from "hono";
import type { SimulatorStore } from "./adapter.ts";
import type { AltinnRegister } from "./altinn-register.ts";
import { checkFault, type FaultQueue } from "./faults.ts";
import { onlyKeys, plainObject, SimulatorInputError, wholeNumber } from "./input.ts";
import { checkLifetimes } from "./lifetimes.ts";
import { AUTH_METHODS, ClientRegistry, publicRegistration } from "./clients.ts";
import { maskPid, syntheticPidProblem } from "./persons.ts";
import type { FaultSpec, SimulatorClient, SimulatorControl, SimulatorLifetimes, SimulatorSettings, TokenEndpointAuthMethod } from "./types.ts";

/** An hour: far beyond any retry a client makes, short enough to stay a grace. */
export const MAX_REUSE_GRACE_SECONDS = 3600;

export interface ControlSetup {
  /** The live lifetimes the provider reads; changed in place. */
  lifetimes: SimulatorLifetimes;
  /** The live settings the provider reads; changed in place. */
  settings: SimulatorSettings;
  faults: FaultQueue;
  store: SimulatorStore;
  register: AltinnRegister;
  /** The provider's clients; run-time registrations go here. */
  clients?: ClientRegistry;
  log: (line: string) => void;
}

/** A client registration from the control API: checked field by field (the secret is never echoed). */
export function checkClientRegistration(input: unknown): SimulatorClient {
  const object = plainObject("client", input);
  onlyKeys("client", object, ["clientId", "clientSecret", "redirectUris", "tokenEndpointAuthMethod", "scopes", "jwks"]);
  const { clientId, clientSecret, redirectUris, tokenEndpointAuthMethod, scopes, jwks } = object;
  if (typeof clientId !== "string" || !/^[\x21-\x7E]{1,200}$/.test(clientId)) throw new SimulatorInputError("clientId must be 1–200 printable characters without spaces");
  const method = (tokenEndpointAuthMethod ?? "client_secret_post") as TokenEndpointAuthMethod;
  if (!AUTH_METHODS.includes(method)) throw new SimulatorInputError(`tokenEndpointAuthMethod must be one of ${AUTH_METHODS.join(", ")}`);
  if (method !== "private_key_jwt" && (typeof clientSecret !== "string" || clientSecret.length < 16 || clientSecret.length > 500)) {
    throw new SimulatorInputError(`clientSecret must be 16–500 characters (needed for ${method})`);
  }
  if (!Array.isArray(redirectUris) || redirectUris.length === 0 || redirectUris.some((u) => typeof u !== "string" || !URL.canParse(u))) {
    throw new SimulatorInputError("redirectUris must be a non-empty list of absolute URLs");
  }
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.some((x) => typeof x !== "string"))) throw new SimulatorInputError("scopes must be a list of scope names");
  if (method === "private_key_jwt" && (typeof jwks !== "object" || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))) {
    throw new SimulatorInputError('jwks must be {"keys": [<public JWK>]} with private_key_jwt');
  }
  return {
    clientId,
    redirectUris: redirectUris as string[],
    tokenEndpointAuthMethod: method,
    ...(method === "private_key_jwt" ? { jwks: jwks as { keys: JsonWebKey[] } } : { clientSecret: clientSecret as string }),
    ...(scopes !== undefined ? { scopes: scopes as string[] } : {}),
  };
}

export function checkSettings(input: unknown): Partial<SimulatorSettings> {
  const object = plainObject("settings", input);
  onlyKeys("settings", object, ["refreshReuseGraceSeconds"]);
  const checked: Partial<SimulatorSettings> = {};
  if (object.refreshReuseGraceSeconds !== undefined) {
    checked.refreshReuseGraceSeconds = wholeNumber("refreshReuseGraceSeconds", object.refreshReuseGraceSeconds, 0, MAX_REUSE_GRACE_SECONDS);
  }
  return checked;
}

export function createControl({ lifetimes, settings, faults, store, register, clients, log }: ControlSetup): SimulatorControl {
  const control: SimulatorControl = {
    state: () => ({ lifetimes: { ...lifetimes }, settings: { ...settings }, faults: faults.list(), altinnPersons: register.list() }),
    setLifetimes(input) {
      Object.assign(lifetimes, checkLifetimes("lifetimes", input));
      log(`control: lifetimes now ${JSON.stringify(lifetimes)}`);
      return { ...lifetimes };
    },
    setSettings(input) {
      Object.assign(settings, checkSettings(input));
      log(`control: settings now ${JSON.stringify(settings)}`);
      return { ...settings };
    },
    async expireCodes() {
      const expired = await store.expireAll("AuthorizationCode");
      log(`control: expired ${expired} authorization code(s)`);
      return expired;
    },
    async revoke(pid) {
      checkPid(pid);
      const revoked = await store.revokeAccount(pid);
      log(`control: revoked ${revoked} grant(s) of ${maskPid(pid)}`);
      return revoked;
    },
    addFault(input) {
      const fault = checkFault(input);
      faults.add(fault);
      log(`control: fault on ${fault.endpoint} for the next ${fault.count} call(s)`);
      return control.state();
    },
    clearFaults() {
      faults.clear();
      log("control: faults cleared");
      return control.state();
    },
    async addAltinnPerson(pid) {
      checkPid(pid);
      log(`control: ${maskPid(pid)} added to Altinn's register`);
      return register.add(pid);
    },
    async removeAltinnPerson(pid) {
      checkPid(pid);
      log(`control: ${maskPid(pid)} removed from Altinn's register`);
      return register.remove(pid);
    },
    async registerClient(input) {
      if (!clients) throw new SimulatorInputError("this simulator takes no client registrations at run time");
      const client = checkClientRegistration(input);
      try {
        await clients.register(client);
      } catch (error) {
        throw new SimulatorInputError((error as Error).message);
      }
      log(`control: client ${client.clientId} registered (${client.tokenEndpointAuthMethod}, redirect URIs ${client.redirectUris.join(" ")})`);
      return publicRegistration(client, "control");
    },
    clients: () => (clients?.all() ?? []).map((client) => publicRegistration(client, clients?.registered(client.clientId) ? "control" : "configuration")),
  };
  return control;
}

function checkPid(pid: unknown): asserts pid is string {
  const problem = typeof pid === "string" ? syntheticPidProblem(pid) : "must be a string";
  if (problem) throw new SimulatorInputError(`pid ${problem}`);
}

export function controlRoutes(control: SimulatorControl, controlToken: string | undefined): Hono {
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof SimulatorInputError) return c.json({ error: "bad_request", detail: error.message }, 400);
    throw error;
  });

  app.use(async (c, next) => {
    if (controlToken !== undefined && !(await bearerMatches(c.req.header("authorization"), controlToken))) {
      c.header("www-authenticate", 'Bearer realm="simulator control"');
      return c.json({ error: "unauthorized", detail: "the control API needs Authorization: Bearer <SIMULATOR_CONTROL_TOKEN>" }, 401);
    }
    const length = c.req.header("content-length");
    const hasBody = (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
    if ((c.req.method === "POST" || hasBody) && !isJson(c.req.header("content-type"))) {
      return c.json({ error: "unsupported_media_type", detail: "the control API takes JSON only: send content-type: application/json" }, 415);
    }
    await next();
  });

  app.get("/", (c) => c.json(control.state()));
  app.put("/lifetimes", async (c) => c.json({ lifetimes: control.setLifetimes((await jsonBody(c)) as Partial<SimulatorLifetimes>) }));
  app.put("/settings", async (c) => c.json({ settings: control.setSettings((await jsonBody(c)) as Partial<SimulatorSettings>) }));
  app.post("/expire-codes", async (c) => c.json({ expired: await control.expireCodes() }));
  app.post("/revoke", async (c) => c.json({ revokedGrants: await control.revoke(pidIn(await jsonBody(c))) }));
  // addFault checks its input, typed or not.
  app.post("/faults", async (c) => c.json(control.addFault((await jsonBody(c)) as FaultSpec)));
  app.delete("/faults", (c) => c.json(control.clearFaults()));
  app.get("/altinn/persons", (c) => c.json({ altinnPersons: control.state().altinnPersons }));
  app.post("/altinn/persons", async (c) => c.json({ altinnPersons: await control.addAltinnPerson(pidIn(await jsonBody(c))) }));
  app.delete("/altinn/persons/:pid", async (c) => c.json({ altinnPersons: await control.removeAltinnPerson(c.req.param("pid")) }));
  // Digdir's self-service in miniature: register a new integration's client (or a new secret for one registered so).
  app.get("/clients", (c) => c.json({ clients: control.clients() }));
  app.post("/clients", async (c) => c.json({ client: await control.registerClient((await jsonBody(c)) as SimulatorClient) }, 201));
  app.all("*", (c) =>
    c.json(
      {
        error: "not_found",
        detail:
          "control routes: GET /control, PUT /control/lifetimes, PUT /control/settings, POST /control/expire-codes, POST /control/revoke, " +
          "POST|DELETE /control/faults, GET|POST /control/altinn/persons, DELETE /control/altinn/persons/<pid>, GET|POST /control/clients",
      },
      404,
    ),
  );

  return app;
}

function isJson(contentType: string | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType?.trim() ?? "");
}

function pidIn(body: unknown): string {
  const pid = typeof body === "object" && body !== null ? (body as { pid?: unknown }).pid : undefined;
  if (pid === undefined) throw new SimulatorInputError('body must be {"pid": "<11-digit synthetic number>"}');
  return pid as string;
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new SimulatorInputError("body must be JSON");
  }
}

/** Compares digests, so the time taken says nothing about how much of the token was right. */
async function bearerMatches(authorization: string | undefined, token: string): Promise<boolean> {
  const presented = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!presented) return false;
  const digest = async (value: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  const [a, b] = await Promise.all([digest(presented), digest(token)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
