// Client registrations, as at Digdir's self-service: each client has its redirect URIs, ONE token
// endpoint authentication method, and the scopes it is registered for.

import type { SimulatorStore } from "./adapter.ts";
import type { AdapterPayload } from "./oidc-types.ts";
import type { SimulatorClient, TokenEndpointAuthMethod } from "./types.ts";

/** What a VAT client registers: validation (ID-porten token) and submission through the Altinn app. */
export const DEFAULT_CLIENT_SCOPES: readonly string[] = Object.freeze([
  "openid",
  "skatteetaten:mvameldingvalidering",
  "skatteetaten:mvameldinginnsending",
  "altinn:instances.read",
  "altinn:instances.write",
]);

export const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ["client_secret_post", "client_secret_basic", "private_key_jwt"];

/** OIDC scopes oidc-provider handles itself; every other registered scope is a resource scope (in the JWT access token). */
export const OIDC_SCOPES: readonly string[] = ["openid"];

export function authMethodOf(client: SimulatorClient): TokenEndpointAuthMethod {
  return client.tokenEndpointAuthMethod ?? "client_secret_post";
}

export function scopesOf(client: SimulatorClient): readonly string[] {
  return client.scopes ?? DEFAULT_CLIENT_SCOPES;
}

/** Every scope some client is registered for that is not an OIDC scope: the resource server's scopes. */
export function resourceScopes(clients: readonly SimulatorClient[]): string[] {
  return [...new Set(clients.flatMap((client) => scopesOf(client)))].filter((scope) => !OIDC_SCOPES.includes(scope));
}

/** Throws an Error naming the client and what is wrong with its registration. */
export function checkClients(clients: SimulatorClient[]): void {
  if (!Array.isArray(clients) || clients.length === 0) throw new Error("clients: at least one client is needed");
  const ids = new Set<string>();
  for (const client of clients) {
    if (!client.clientId) throw new Error("clients: a client has no clientId");
    if (ids.has(client.clientId)) throw new Error(`clients: ${client.clientId} is registered twice`);
    ids.add(client.clientId);
    const method = authMethodOf(client);
    if (!AUTH_METHODS.includes(method)) {
      throw new Error(`clients: ${client.clientId} has tokenEndpointAuthMethod "${method}"; use one of ${AUTH_METHODS.join(", ")}`);
    }
    if (method === "private_key_jwt") {
      if (!client.jwks?.keys?.length) throw new Error(`clients: ${client.clientId} uses private_key_jwt and has no jwks`);
      if (client.jwks.keys.some((key) => "d" in key)) throw new Error(`clients: ${client.clientId} jwks holds a private key; register the public key only`);
    } else if (!client.clientSecret) {
      throw new Error(`clients: ${client.clientId} has no clientSecret (needed for ${method})`);
    }
    if (!client.redirectUris?.length) throw new Error(`clients: ${client.clientId} has no redirect URIs`);
    for (const uri of client.redirectUris) {
      if (!URL.canParse(uri)) throw new Error(`clients: ${client.clientId} has a redirect URI that is not an absolute URL: ${uri}`);
    }
    const scopes = scopesOf(client);
    if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== "string" || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))) {
      throw new Error(`clients: ${client.clientId} has a scope that is not a single scope token`);
    }
  }
}

/** The client metadata oidc-provider is given for a registration. */
export function providerClientMetadata(client: SimulatorClient): Record<string, unknown> {
  const method = authMethodOf(client);
  return {
    client_id: client.clientId,
    ...(method === "private_key_jwt" ? { jwks: client.jwks } : { client_secret: client.clientSecret }),
    redirect_uris: client.redirectUris,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: method,
    // No `scope`: oidc-provider's allow-list covers only its OIDC scopes; the registered scopes are
    // checked by the simulator (provider.ts, extraParams.scope).
    // ID-porten's sub is pairwise: a client sees a stable identifier for a person, never the pid.
    subject_type: "pairwise",
  };
}

/** The SimulatorStore model run-time registrations are kept under (sealed on disk, like the grants). */
const REGISTERED_MODEL = "RegisteredClient";

type RegistrationStore = Pick<SimulatorStore, "adapterFor" | "entriesOf">;

/**
 * Every client the provider knows: those given at start (configuration) and those registered at
 * run time through the control API, as Digdir's self-service registers a new integration's client.
 * Run-time registrations survive a restart (kept in the simulator's store) and may be replaced
 * (a new secret, as at Digdir); the clients given at start cannot be.
 */
export class ClientRegistry {
  readonly #fixed: Map<string, SimulatorClient>;
  readonly #registered = new Map<string, SimulatorClient>();
  readonly #store: RegistrationStore | undefined;

  constructor(clients: readonly SimulatorClient[], store?: RegistrationStore) {
    this.#fixed = new Map(clients.map((client) => [client.clientId, client]));
    this.#store = store;
    for (const { id, payload } of store?.entriesOf(REGISTERED_MODEL) ?? []) {
      if (!this.#fixed.has(id)) this.#registered.set(id, payload as unknown as SimulatorClient);
    }
  }

  get(clientId: string): SimulatorClient | undefined {
    return this.#fixed.get(clientId) ?? this.#registered.get(clientId);
  }

  /** A run-time registration (what oidc-provider's Client adapter looks up for ids it was not started with). */
  registered(clientId: string): SimulatorClient | undefined {
    return this.#registered.get(clientId);
  }

  all(): SimulatorClient[] {
    return [...this.#fixed.values(), ...this.#registered.values()];
  }

  /** The resource server's scopes now (a client registered later may bring new ones). */
  resourceScopes(): string[] {
    return resourceScopes(this.all());
  }

  /** Registers (or replaces) a client at run time; refuses one that was given at start. */
  async register(client: SimulatorClient): Promise<SimulatorClient> {
    if (this.#fixed.has(client.clientId)) throw new Error(`clients: ${client.clientId} is registered by configuration and cannot be replaced at run time`);
    checkClients([client]);
    this.#registered.set(client.clientId, client);
    await this.#store?.adapterFor(REGISTERED_MODEL).upsert(client.clientId, { ...client } as unknown as AdapterPayload);
    return client;
  }
}

/** What the control API shows of a client: never its secret. */
export function publicRegistration(client: SimulatorClient, source: "configuration" | "control"): Record<string, unknown> {
  return {
    clientId: client.clientId,
    tokenEndpointAuthMethod: authMethodOf(client),
    redirectUris: client.redirectUris,
    scopes: scopesOf(client),
    source,
  };
}
