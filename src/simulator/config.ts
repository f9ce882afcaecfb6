// The simulator's environment (DESIGN §5, §6), read once. Pure: the entry passes the environment in.
// Every problem is thrown as an Error whose message names the variable and what is wrong, so an
// entry can print it as the one line that stops start-up.

import { decodeKey } from "../crypto/secrets.ts";
import type { SimulatorClient, SimulatorLifetimes } from "./types.ts";

export type Env = Record<string, string | undefined>;

const LIFETIME_VARIABLES: Record<keyof SimulatorLifetimes, string> = {
  authorizationSeconds: "SIMULATOR_AUTHORIZATION_LIFETIME_SECONDS",
  accessTokenSeconds: "SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS",
  refreshTokenSeconds: "SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS",
  codeSeconds: "SIMULATOR_CODE_TTL_SECONDS",
};

/** The SIMULATOR_*_SECONDS variables that are set; the rest stay at the simulator's defaults. */
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
}

/** Everything `npm run simulator` needs. */
export function readStandaloneConfig(env: Env): StandaloneSimulatorConfig {
  const port = readPort(env.SIMULATOR_PORT, 8788);
  const host = env.SIMULATOR_HOST?.trim() || "127.0.0.1";
  const publicUrl = env.SIMULATOR_PUBLIC_URL?.trim() ? readBaseUrl("SIMULATOR_PUBLIC_URL", env.SIMULATOR_PUBLIC_URL.trim()) : undefined;

  let encryptionKey: Uint8Array<ArrayBuffer> | undefined;
  if (env.ENCRYPTION_KEY?.trim()) {
    try {
      encryptionKey = decodeKey(env.ENCRYPTION_KEY);
    } catch (error) {
      throw new Error(`ENCRYPTION_KEY ${(error as Error).message}`);
    }
  }

  const clientId = env.SIMULATOR_CLIENT_ID?.trim() || "authflow-local";
  let clientSecret = env.SIMULATOR_CLIENT_SECRET ?? "";
  const clientSecretGenerated = clientSecret === "";
  if (clientSecretGenerated) {
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
    client: { clientId, clientSecret, redirectUris },
    clientSecretGenerated,
    lifetimes: readSimulatorLifetimes(env),
  };
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
