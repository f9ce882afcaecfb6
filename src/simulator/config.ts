// The simulator's environment (DESIGN §5, §6), read once. Pure: the entry passes the environment in.
// Every problem is thrown as an Error whose message names the variable and what is wrong, so an
// entry can print it as the one line that stops start-up.

import { readFileSync } from "node:fs";
import { decodeKey } from "../crypto/secrets.ts";
import { AUTH_METHODS } from "./clients.ts";
import { MAX_REUSE_GRACE_SECONDS } from "./control.ts";
import type { SimulatorClient, SimulatorLifetimes, TokenEndpointAuthMethod } from "./types.ts";

export type Env = Record<string, string | undefined>;

const LIFETIME_VARIABLES: Record<keyof SimulatorLifetimes, string> = {
  authorizationSeconds: "SIMULATOR_AUTHORIZATION_LIFETIME_SECONDS",
  accessTokenSeconds: "SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS",
  refreshTokenSeconds: "SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS",
  codeSeconds: "SIMULATOR_CODE_TTL_SECONDS",
  sessionSeconds: "SIMULATOR_SESSION_LIFETIME_SECONDS",
};

/** The SIMULATOR_* lifetime variables that are set; the rest stay at the simulator's defaults. */
export function readSimulatorLifetimes(env: Env): Partial<SimulatorLifetimes> {
  const lifetimes: Partial<SimulatorLifetimes> = {};
  for (const [key, variable] of Object.entries(LIFETIME_VARIABLES) as [keyof SimulatorLifetimes, string][]) {
    const raw = env[variable]?.trim();
    if (!raw) continue;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
      throw new Error(`${variable} must be a whole number of seconds, at least 1 (got "${raw}")`);
    }
    lifetimes[key] = Number(raw);
  }
  return lifetimes;
}

export interface StandaloneSimulatorConfig {
  host: string;
  port: number;
  publicUrl: string | undefined;
  dataDir: string;
  encryptionKey: Uint8Array<ArrayBuffer> | undefined;
  client: SimulatorClient;
  /** True when no SIMULATOR_CLIENT_SECRET was given and one was made up for this run. */
  clientSecretGenerated: boolean;
  lifetimes: Partial<SimulatorLifetimes>;
  refreshReuseGraceSeconds: number;
  controlToken: string | undefined;
}

/** Everything `npm run simulator` needs. */
export function readStandaloneConfig(env: Env): StandaloneSimulatorConfig {
  const port = readPort(env.SIMULATOR_PORT, 8788);
  const host = env.SIMULATOR_HOST?.trim() || "127.0.0.1";
  // Spelled as the embedded simulator spells itself (http://localhost:<port>), so a dress rehearsal
  // against the standalone one uses the same IDPORTEN_ISSUER (an issuer is compared exactly).
  const publicUrl = env.SIMULATOR_PUBLIC_URL?.trim()
    ? readBaseUrl("SIMULATOR_PUBLIC_URL", env.SIMULATOR_PUBLIC_URL.trim())
    : port !== 0 && (host === "127.0.0.1" || host === "localhost")
      ? `http://localhost:${port}`
      : undefined;

  let encryptionKey: Uint8Array<ArrayBuffer> | undefined;
  if (env.ENCRYPTION_KEY?.trim()) {
    try {
      encryptionKey = decodeKey(env.ENCRYPTION_KEY);
    } catch (error) {
      throw new Error(`ENCRYPTION_KEY ${(error as Error).message}`);
    }
  }

  const clientId = env.SIMULATOR_CLIENT_ID?.trim() || "authflow-local";
  const authMethod = readAuthMethod(env.SIMULATOR_CLIENT_AUTH);
  let clientSecret = env.SIMULATOR_CLIENT_SECRET ?? "";
  let clientSecretGenerated = false;
  let jwks: SimulatorClient["jwks"];
  if (authMethod === "private_key_jwt") {
    jwks = readJwks(env.SIMULATOR_CLIENT_JWKS);
    clientSecret = "";
  } else if (clientSecret === "") {
    clientSecretGenerated = true;
    clientSecret = randomSecret();
  } else if (clientSecret.length < 32) {
    throw new Error(`SIMULATOR_CLIENT_SECRET must be at least 32 characters (got ${clientSecret.length})`);
  }

  const redirectUris = (env.SIMULATOR_REDIRECT_URIS?.trim() || "http://localhost:8787/callback")
    .split(",")
    .map((uri) => uri.trim())
    .filter(Boolean);
  for (const uri of redirectUris) readRedirectUri(uri);

  return {
    host,
    port,
    publicUrl,
    dataDir: env.DATA_DIR?.trim() || "./data",
    encryptionKey,
    client: {
      clientId,
      redirectUris,
      tokenEndpointAuthMethod: authMethod,
      ...(jwks ? { jwks } : { clientSecret }),
    },
    clientSecretGenerated,
    lifetimes: readSimulatorLifetimes(env),
    refreshReuseGraceSeconds: readGrace(env.SIMULATOR_REFRESH_REUSE_GRACE_SECONDS),
    controlToken: readControlToken(env.SIMULATOR_CONTROL_TOKEN),
  };
}

function readAuthMethod(raw: string | undefined): TokenEndpointAuthMethod {
  const value = raw?.trim();
  if (!value) return "client_secret_post";
  if (!(AUTH_METHODS as readonly string[]).includes(value)) {
    throw new Error(`SIMULATOR_CLIENT_AUTH must be one of ${AUTH_METHODS.join(", ")} (got "${value}")`);
  }
  return value as TokenEndpointAuthMethod;
}

/** The client's public key(s) for private_key_jwt: a JWK Set or one JWK, as JSON or in a file. */
function readJwks(raw: string | undefined): { keys: JsonWebKey[] } {
  const value = raw?.trim();
  if (!value) throw new Error("SIMULATOR_CLIENT_JWKS is required with SIMULATOR_CLIENT_AUTH=private_key_jwt (the client's public JWK or JWK Set, or a path to a file holding it)");
  let text = value;
  if (!value.startsWith("{")) {
    try {
      text = readFileSync(value, "utf8");
    } catch (error) {
      throw new Error(`SIMULATOR_CLIENT_JWKS: cannot read ${value} (${(error as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error("SIMULATOR_CLIENT_JWKS must be a JWK or JWK Set in JSON");
  }
  const keys = (parsed as { keys?: unknown }).keys ?? [parsed];
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((key) => typeof key !== "object" || key === null || !("kty" in key))) {
    throw new Error("SIMULATOR_CLIENT_JWKS must be a JWK or JWK Set in JSON");
  }
  if (keys.some((key) => "d" in key)) throw new Error("SIMULATOR_CLIENT_JWKS holds a private key; give the public key only");
  return { keys: keys as JsonWebKey[] };
}

function readGrace(raw: string | undefined): number {
  const value = raw?.trim();
  if (!value) return 0;
  if (!/^\d+$/.test(value) || Number(value) > MAX_REUSE_GRACE_SECONDS) {
    throw new Error(`SIMULATOR_REFRESH_REUSE_GRACE_SECONDS must be a whole number of seconds from 0 to ${MAX_REUSE_GRACE_SECONDS} (got "${value}")`);
  }
  return Number(value);
}

function readControlToken(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw.length < 16) throw new Error(`SIMULATOR_CONTROL_TOKEN must be at least 16 characters (got ${raw.length})`);
  return raw;
}

function readPort(raw: string | undefined, fallback: number): number {
  const value = raw?.trim();
  if (!value) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new Error(`SIMULATOR_PORT must be a port number from 0 to 65535 (got "${value}")`);
  }
  return Number(value);
}

function readBaseUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${variable} must be an absolute http(s) URL (got "${value}")`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${variable} must be an http or https URL (got "${value}")`);
  }
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new Error(`${variable} must be a base URL without path, query or fragment: it is the issuer (got "${value}")`);
  }
  return url.origin;
}

function readRedirectUri(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`SIMULATOR_REDIRECT_URIS must be comma-separated absolute URLs ("${value}" is not one)`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hash) {
    throw new Error(`SIMULATOR_REDIRECT_URIS must hold http(s) URLs without a fragment ("${value}" is not one)`);
  }
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
