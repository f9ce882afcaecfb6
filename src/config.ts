// Configuration is read once, at start-up, into a frozen object (DESIGN §6).
// Bad values stop start-up with one line that names the variable and what is wrong.
// Pure: the entry passes its runtime's environment in (process.env or Deno.env.toObject()).

export type Env = Record<string, string | undefined>;

export const VAT_SCOPES = "openid skatteetaten:mvameldinginnsending skatteetaten:mvameldingvalidering";
export const DEFAULT_INTEGRATION = "default";

export interface SimulatorSettings {
  port: number;
  /** Unset with port 0: the simulator then names itself after the port it got. */
  publicUrl: string | undefined;
  clientSecret: string;
  lifetimes: {
    authorizationSeconds?: number;
    accessTokenSeconds?: number;
    refreshTokenSeconds?: number;
    codeSeconds?: number;
  };
}

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  /** Unset only with the embedded simulator: the demo then generates one and keeps it in DATA_DIR. */
  apiToken: string | undefined;
  encryptionKey: string | undefined;
  idporten: {
    issuer: string;
    clientId: string;
    clientSecret: string;
    scope: string;
    redirectUri: string;
    registeredRedirectUris: string[];
    /** Inactivity lifetime of the provider's refresh tokens; the engine renews before it closes. */
    refreshTokenLifetimeSeconds: number | undefined;
  };
  altinnExchangeUrl: string;
  authorizationLifetimeSeconds: number;
  loginTimeoutSeconds: number;
  outboundTimeoutMs: number;
  exchangeMode: "auto" | "manual";
  simulatedClock: boolean;
  /** INSPECT=on: actors report to the Stately inspector server on this port. */
  inspectPort: number | undefined;
  /** Set when no IDPORTEN_ISSUER is given: the embedded simulator serves ID-porten and Altinn. */
  simulator: SimulatorSettings | undefined;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

function integer(env: Env, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function optionalInteger(env: Env, name: string, min = 1): number | undefined {
  return env[name] === undefined || env[name] === "" ? undefined : integer(env, name, 0, min);
}

function url(env: Env, name: string, fallback?: string): string {
  const raw = env[name] || fallback;
  if (!raw) throw new ConfigError(name, "is required");
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got "${raw}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  return raw;
}

/** A base URL that paths are appended to: no trailing slash. */
const baseUrl = (env: Env, name: string, fallback: string) => url(env, name, fallback).replace(/\/+$/, "");

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = (env[name] ?? "").trim();
  if (raw === "") return fallback;
  if (!values.includes(raw as T)) throw new ConfigError(name, `must be one of ${values.join(", ")}, got "${raw}"`);
  return raw as T;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function readConfig(env: Env): Readonly<Config> {
  const port = integer(env, "PORT", 8787, 0, 65535);
  const host = env.HOST || "127.0.0.1";
  const publicUrl = baseUrl(env, "PUBLIC_URL", `http://localhost:${port}`);
  const dataDir = env.DATA_DIR || "./data";
  const embedded = !env.IDPORTEN_ISSUER;

  const apiToken = env.API_TOKEN || undefined;
  if (!apiToken) {
    if (!embedded) throw new ConfigError("API_TOKEN", "is required when a real ID-porten is configured (at least 32 characters)");
  } else if (apiToken.length < 32) {
    throw new ConfigError("API_TOKEN", `must be at least 32 characters, got ${apiToken.length}`);
  }

  const encryptionKey = env.ENCRYPTION_KEY || undefined;
  if (encryptionKey !== undefined) {
    const clean = encryptionKey.trim();
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(clean) || atobLength(clean) !== 32) {
      throw new ConfigError("ENCRYPTION_KEY", "must be 32 random bytes in base64 (openssl rand -base64 32)");
    }
  }

  const redirectUri = url(env, "IDPORTEN_REDIRECT_URI", `${publicUrl}/callback`);
  const registeredRedirectUris = (env.IDPORTEN_REGISTERED_REDIRECT_URIS ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean)
    .map((u) => url({ IDPORTEN_REGISTERED_REDIRECT_URIS: u }, "IDPORTEN_REGISTERED_REDIRECT_URIS"));
  if (registeredRedirectUris.length === 0) registeredRedirectUris.push(redirectUri);

  let simulator: SimulatorSettings | undefined;
  let issuer: string;
  let clientId: string;
  let clientSecret: string;
  let altinnExchangeUrl: string;
  let refreshTokenLifetimeSeconds = optionalInteger(env, "IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS");
  if (embedded) {
    const simulatorPort = integer(env, "SIMULATOR_PORT", port === 0 ? 0 : port + 1, 0, 65535);
    const simulatorUrl =
      env.SIMULATOR_PUBLIC_URL || simulatorPort !== 0 ? baseUrl(env, "SIMULATOR_PUBLIC_URL", `http://localhost:${simulatorPort}`) : undefined;
    const lifetimes = {
      authorizationSeconds: optionalInteger(env, "SIMULATOR_AUTHORIZATION_LIFETIME_SECONDS"),
      accessTokenSeconds: optionalInteger(env, "SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS"),
      refreshTokenSeconds: optionalInteger(env, "SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS"),
      codeSeconds: optionalInteger(env, "SIMULATOR_CODE_TTL_SECONDS"),
    };
    simulator = { port: simulatorPort, publicUrl: simulatorUrl, clientSecret: randomToken(), lifetimes };
    // The simulator's own addresses are known once it listens (service.ts takes them from it).
    issuer = simulatorUrl ?? "";
    clientId = env.IDPORTEN_CLIENT_ID || "authflow-local";
    clientSecret = simulator.clientSecret;
    altinnExchangeUrl = "";
    // The engine must renew before the simulator's refresh tokens die of inactivity.
    refreshTokenLifetimeSeconds ??= lifetimes.refreshTokenSeconds;
  } else {
    issuer = url(env, "IDPORTEN_ISSUER");
    // The client secret travels to the issuer: plain http only to this machine (a local test OP).
    const issuerUrl = new URL(issuer);
    if (issuerUrl.protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(issuerUrl.hostname)) {
      throw new ConfigError("IDPORTEN_ISSUER", `must be https (plain http is only accepted for localhost), got "${issuer}"`);
    }
    clientId = env.IDPORTEN_CLIENT_ID ?? "";
    if (!clientId) throw new ConfigError("IDPORTEN_CLIENT_ID", "is required when IDPORTEN_ISSUER is set");
    clientSecret = env.IDPORTEN_CLIENT_SECRET ?? "";
    if (!clientSecret) throw new ConfigError("IDPORTEN_CLIENT_SECRET", "is required when IDPORTEN_ISSUER is set");
    altinnExchangeUrl = url(env, "ALTINN_EXCHANGE_URL");
  }

  const scope = (env.IDPORTEN_SCOPE || VAT_SCOPES).trim().split(/\s+/).join(" ");
  if (!scope.split(" ").includes("openid")) throw new ConfigError("IDPORTEN_SCOPE", `must include "openid", got "${scope}"`);

  return Object.freeze({
    port,
    host,
    publicUrl,
    dataDir,
    apiToken,
    encryptionKey: encryptionKey?.trim(),
    idporten: Object.freeze({ issuer, clientId, clientSecret, scope, redirectUri, registeredRedirectUris, refreshTokenLifetimeSeconds }),
    altinnExchangeUrl,
    authorizationLifetimeSeconds: integer(env, "AUTHORIZATION_LIFETIME_SECONDS", 31536000),
    loginTimeoutSeconds: integer(env, "LOGIN_TIMEOUT_SECONDS", 600),
    outboundTimeoutMs: integer(env, "OUTBOUND_TIMEOUT_SECONDS", 10, 1, 300) * 1000,
    exchangeMode: oneOf(env, "EXCHANGE_MODE", ["auto", "manual"] as const, "auto"),
    simulatedClock: oneOf(env, "SIMULATED_CLOCK", ["on", "off"] as const, "off") === "on",
    simulator,
    inspectPort:
      oneOf(env, "INSPECT", ["on", "off"] as const, "off") === "on" ? integer(env, "INSPECT_PORT", port === 0 ? 0 : port + 2, 0, 65535) : undefined,
  });
}

function atobLength(b64: string): number {
  try {
    return atob(b64.replace(/-/g, "+").replace(/_/g, "/")).length;
  } catch {
    return -1;
  }
}
