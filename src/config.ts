// Configuration is read once, at start-up, into a frozen object (DESIGN §6).
// Pure: the entry passes its runtime's environment in (process.env or Deno.env.toObject()).
// Every problem is collected and reported at once, in one line, each naming its variable: a person
// setting up a real ID-porten client fixes the whole list in one go, not one restart per variable.

import { parseTrustedProxies } from "./identity/trusted-proxies.ts";
import { withLibpqTls } from "./store/postgres/url-tls.ts";

export type Env = Record<string, string | undefined>;

/** What a VAT client needs: validation (ID-porten token), submission through the Altinn app (Altinn token). */
export const VAT_SCOPES = "openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending altinn:instances.read altinn:instances.write";
export const DEFAULT_INTEGRATION = "default";
/** ID-porten's documented default inactivity lifetime of a refresh token. */
export const IDPORTEN_DEFAULT_REFRESH_TOKEN_LIFETIME_SECONDS = 600;
export const CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic", "private_key_jwt"] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

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
  /** Seconds a rotated refresh token is still accepted (Connect2id has such a grace; assume ID-porten none). */
  refreshReuseGraceSeconds: number;
  /** When set, the control API wants it as a bearer token. */
  controlToken: string | undefined;
}

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  /** Unset only with the embedded simulator (or with API_CLIENTS): the demo then generates one and keeps it in DATA_DIR. */
  apiToken: string | undefined;
  /** API_CLIENTS as given: inline JSON ("[…]") or the path of a JSON file; read at start-up (identity/api-clients.ts). */
  apiClients: string | undefined;
  /** The page's sign-in (identity/ui-users.ts): UI_USERS as given (inline JSON or a file), and/or a reverse proxy's header. */
  ui: {
    users: string | undefined;
    trustedUserHeader: string | undefined;
    /** TRUSTED_PROXIES as given (addresses or IPv4 ranges, comma-separated); checked here. */
    trustedProxies: string | undefined;
    /** INTEGRATION_ADMINS: the people who may add and change integrations on the page (user ids). */
    integrationAdmins: string[];
  };
  encryptionKey: string | undefined;
  /** PostgreSQL store shared by several instances (DATABASE_URL); lowdb under DATA_DIR when unset. */
  databaseUrl: string | undefined;
  /** DATABASE_TIMEOUT_SECONDS: how long a store call waits for PostgreSQL's answer before its connections are let go; at start-up, how long one wait for a lock lasts before it is named and tried again. */
  databaseTimeoutSeconds: number;
  idporten: {
    issuer: string;
    clientId: string;
    clientAuth: ClientAuthMethod;
    /** "" with private_key_jwt (no secret is needed then). */
    clientSecret: string;
    /** private_key_jwt: a JWK (JSON), a PEM, or a path to either, as given; the client parses it. */
    clientKey: string | undefined;
    clientKeyId: string | undefined;
    scope: string;
    /** "login" forces a fresh login, so a browser's SSO session never logs in whoever used it last. */
    prompt: "login" | undefined;
    redirectUri: string;
    registeredRedirectUris: string[];
    /** Inactivity lifetime of the provider's refresh tokens; the engine renews before it closes. */
    refreshTokenLifetimeSeconds: number | undefined;
  };
  altinnExchangeUrl: string;
  authorizationLifetimeSeconds: number;
  /** An authorization that ends within this many days says so; 0 turns the warning off. */
  authorizationWarningDays: number;
  loginTimeoutSeconds: number;
  outboundTimeoutMs: number;
  /** Outbound calls (to ID-porten and Altinn) this process has out at once; the rest wait their turn. */
  outboundConcurrency: number;
  exchangeMode: "auto" | "manual";
  simulatedClock: boolean;
  /** INSPECT=on: actors report to the Stately inspector server on this port. */
  inspectPort: number | undefined;
  /** Set when no IDPORTEN_ISSUER is given: the embedded simulator serves ID-porten and Altinn. */
  simulator: SimulatorSettings | undefined;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** Bad configuration: every problem found, joined into one line ("A is required; B must be …"). */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]);
  constructor(variable: string, problem: string);
  constructor(first: readonly ConfigProblem[] | string, problem?: string) {
    const problems = typeof first === "string" ? [{ variable: first, problem: problem ?? "is wrong" }] : first;
    super(problems.map((p) => `${p.variable} ${p.problem}`).join("; "));
    this.name = "ConfigError";
    this.problems = Object.freeze([...problems]);
  }

  /** The first variable named (kept for callers that looked at one). */
  get variable(): string {
    return this.problems[0]?.variable ?? "";
  }
}

/** Reads variables, noting each problem and going on with a stand-in value so all are found. */
class EnvReader {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly env: Env) {}

  report(variable: string, problem: string): void {
    this.problems.push({ variable, problem });
  }

  /** The value, or undefined when unset or empty. */
  text(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === "" ? undefined : raw;
  }

  integer(name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    return this.optionalInteger(name, min, max) ?? fallback;
  }

  optionalInteger(name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const raw = this.text(name)?.trim();
    if (raw === undefined || raw === "") return undefined;
    if (!/^\d+$/.test(raw)) return void this.report(name, `must be a whole number, got "${this.env[name]}"`);
    const value = Number(raw);
    if (value < min || value > max) return void this.report(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  }

  /** An absolute http(s) URL, or undefined (reported) when it is missing or not one. */
  url(name: string, options: { fallback?: string; required?: string } = {}): string | undefined {
    const raw = this.text(name) ?? options.fallback;
    if (!raw) return void this.report(name, options.required ?? "is required");
    return checkUrl(raw, (problem) => this.report(name, problem));
  }

  /**
   * A URL that a credential travels to: https, plain http only to this machine (a local test
   * provider), since anyone on the path could read it otherwise.
   */
  secureUrl(name: string, required: string, carries: string): string | undefined {
    const value = this.url(name, { required });
    if (value === undefined) return undefined;
    const parsed = new URL(value);
    if (parsed.protocol === "http:" && !LOOPBACK_HOSTS.includes(parsed.hostname)) {
      return void this.report(name, `must be https (${carries}, so plain http is only accepted for localhost), got "${value}"`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = (this.env[name] ?? "").trim();
    if (raw === "") return fallback;
    if (values.includes(raw as T)) return raw as T;
    this.report(name, `must be one of ${values.join(", ")}, got "${raw}"`);
    return fallback;
  }
}

function checkUrl(raw: string, report: (problem: string) => void): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return void report(`must be an absolute URL, got "${raw}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return void report(`must be an http(s) URL, got "${raw}"`);
  return raw;
}

/** A base URL that paths are appended to: no trailing slash. */
const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");
/** A database URL past its scheme ("user:password@host:port/db?…"). */
const afterScheme = (url: string) => url.replace(/^postgres(ql)?:\/\//, "");

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function readConfig(env: Env): Readonly<Config> {
  const read = new EnvReader(env);
  const port = read.integer("PORT", 8787, 0, 65535);
  const host = env.HOST || "127.0.0.1";
  const publicUrl = withoutTrailingSlash(read.url("PUBLIC_URL", { fallback: `http://localhost:${port}` }) ?? `http://localhost:${port}`);
  const dataDir = env.DATA_DIR || "./data";
  const embedded = !env.IDPORTEN_ISSUER;

  const apiToken = read.text("API_TOKEN");
  const apiClients = read.text("API_CLIENTS")?.trim();
  if (!apiToken) {
    if (!embedded && !apiClients) read.report("API_TOKEN", "is required when a real ID-porten is configured (at least 32 characters), unless API_CLIENTS lists the callers");
  } else if (apiToken.length < 32) {
    read.report("API_TOKEN", `must be at least 32 characters, got ${apiToken.length}`);
  }

  const uiUsers = read.text("UI_USERS")?.trim();
  const trustedUserHeader = read.text("TRUSTED_USER_HEADER")?.trim().toLowerCase();
  const trustedProxies = read.text("TRUSTED_PROXIES")?.trim();
  if (trustedUserHeader !== undefined) {
    if (!/^[a-z0-9-]{1,64}$/.test(trustedUserHeader)) read.report("TRUSTED_USER_HEADER", `must be an HTTP header name (letters, digits, "-"), got "${trustedUserHeader.slice(0, 40)}"`);
    if (!trustedProxies) read.report("TRUSTED_PROXIES", "is required with TRUSTED_USER_HEADER: the addresses of the reverse proxies allowed to say who is signed in (anyone else could set the header)");
  }
  for (const problem of parseTrustedProxies(trustedProxies).problems) read.report("TRUSTED_PROXIES", problem);
  const integrationAdmins = (read.text("INTEGRATION_ADMINS") ?? "").split(",").map((u) => u.trim()).filter(Boolean);

  const encryptionKey = read.text("ENCRYPTION_KEY")?.trim();
  if (encryptionKey !== undefined && (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encryptionKey) || atobLength(encryptionKey) !== 32)) {
    read.report("ENCRYPTION_KEY", "must be 32 random bytes in base64 (openssl rand -base64 32)");
  }

  // Several instances share flows through PostgreSQL: each must open the others' sealed snapshots
  // and accept the same callers, so the key and the token cannot be generated per instance.
  let databaseUrl = read.text("DATABASE_URL")?.trim();
  if (databaseUrl !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) read.report("DATABASE_URL", `must be a postgres:// or postgresql:// URL, got "${databaseUrl.replace(/\/\/[^@/]*@/, "//…@").slice(0, 80)}"`);
    // An "@" past the host's end means a user name or password with "@" or "/" in clear: read one
    // way the host is part of the password, and the log line naming the host showed it (review).
    else if (/@/.test(afterScheme(databaseUrl).split(/[?#]/)[0]!.replace(/^[^/]*/, ""))) {
      read.report("DATABASE_URL", 'has an "@" after the host: percent-encode "@", "/", "?", "#" and ":" in the user name and password (%40, %2F, %3F, %23, %3A)');
    } else if (/[?#]/.test(afterScheme(databaseUrl).split("/")[0]!.split("@").slice(0, -1).join("@"))) {
      // A "?" or "#" in the user name or password cuts the URL in two: start-up failed with "Invalid URL" and nothing more.
      read.report("DATABASE_URL", 'has a "?" or "#" in its user name or password: percent-encode "@", "/", "?", "#" and ":" there (%40, %2F, %3F, %23, %3A)');
    }
    // TLS as libpq reads it: PGSSLMODE and PGSSLROOTCERT where the URL says nothing (url-tls.ts).
    const tls = withLibpqTls(databaseUrl, { PGSSLMODE: env.PGSSLMODE, PGSSLROOTCERT: env.PGSSLROOTCERT });
    databaseUrl = tls.url;
    for (const { variable, problem } of tls.problems) read.report(variable, problem);
    if (encryptionKey === undefined) read.report("ENCRYPTION_KEY", "is required with DATABASE_URL (every instance must open the flows the others sealed)");
    if (!apiToken && !apiClients) read.report("API_TOKEN", "or API_CLIENTS is required with DATABASE_URL (every instance must accept the same callers)");
  }

  const fallbackRedirectUri = `${publicUrl}/callback`;
  const redirectUri = read.url("IDPORTEN_REDIRECT_URI", { fallback: fallbackRedirectUri }) ?? fallbackRedirectUri;
  const registeredRedirectUris = (env.IDPORTEN_REGISTERED_REDIRECT_URIS ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean)
    .filter((u) => checkUrl(u, (problem) => read.report("IDPORTEN_REGISTERED_REDIRECT_URIS", problem)) !== undefined);
  if (registeredRedirectUris.length === 0) registeredRedirectUris.push(redirectUri);

  const scope = (env.IDPORTEN_SCOPE || VAT_SCOPES).trim().split(/\s+/).join(" ");
  if (!scope.split(" ").includes("openid")) read.report("IDPORTEN_SCOPE", `must include "openid", got "${scope}"`);
  const prompt = read.oneOf("IDPORTEN_PROMPT", ["login", "off"] as const, "login") === "login" ? ("login" as const) : undefined;
  const clientAuth = read.oneOf("IDPORTEN_CLIENT_AUTH", CLIENT_AUTH_METHODS, "client_secret_post");
  const simulatedClock = read.oneOf("SIMULATED_CLOCK", ["on", "off"] as const, "off") === "on";
  let refreshTokenLifetimeSeconds = read.optionalInteger("IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS");

  // private_key_jwt: the key (and the id the provider knows it by) replace the secret, in both modes.
  let clientKey: string | undefined;
  let clientKeyId: string | undefined;
  if (clientAuth === "private_key_jwt") {
    clientKey = read.text("IDPORTEN_CLIENT_KEY");
    clientKeyId = read.text("IDPORTEN_CLIENT_KEY_ID")?.trim();
    if (!clientKey) read.report("IDPORTEN_CLIENT_KEY", "is required with IDPORTEN_CLIENT_AUTH=private_key_jwt (a JWK, a PEM, or a path to either)");
    if (!clientKeyId) read.report("IDPORTEN_CLIENT_KEY_ID", "is required with IDPORTEN_CLIENT_AUTH=private_key_jwt (the key's kid as registered at Digdir)");
  }

  let simulator: SimulatorSettings | undefined;
  let issuer: string;
  let clientId: string;
  let clientSecret: string;
  let altinnExchangeUrl: string;
  if (embedded) {
    const simulatorPort = read.integer("SIMULATOR_PORT", port === 0 ? 0 : port + 1, 0, 65535);
    if (simulatorPort !== 0 && simulatorPort === port) read.report("SIMULATOR_PORT", `must differ from PORT (both are ${port})`);
    const simulatorUrl =
      env.SIMULATOR_PUBLIC_URL || simulatorPort !== 0
        ? withoutTrailingSlash(read.url("SIMULATOR_PUBLIC_URL", { fallback: `http://localhost:${simulatorPort}` }) ?? `http://localhost:${simulatorPort}`)
        : undefined;
    const lifetimes = {
      authorizationSeconds: read.optionalInteger("SIMULATOR_AUTHORIZATION_LIFETIME_SECONDS"),
      accessTokenSeconds: read.optionalInteger("SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS"),
      refreshTokenSeconds: read.optionalInteger("SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS"),
      codeSeconds: read.optionalInteger("SIMULATOR_CODE_TTL_SECONDS"),
    };
    const controlToken = read.text("SIMULATOR_CONTROL_TOKEN");
    if (controlToken !== undefined && controlToken.length < 16) read.report("SIMULATOR_CONTROL_TOKEN", `must be at least 16 characters, got ${controlToken.length}`);
    simulator = {
      port: simulatorPort,
      publicUrl: simulatorUrl,
      clientSecret: randomToken(),
      lifetimes,
      refreshReuseGraceSeconds: read.integer("SIMULATOR_REFRESH_REUSE_GRACE_SECONDS", 0, 0, 3600),
      controlToken,
    };
    // The simulator's own addresses are known once it listens (service.ts takes them from it).
    issuer = simulatorUrl ?? "";
    clientId = env.IDPORTEN_CLIENT_ID || "authflow-local";
    clientSecret = clientAuth === "private_key_jwt" ? "" : simulator.clientSecret;
    altinnExchangeUrl = "";
    // The engine must renew before the simulator's refresh tokens die of inactivity.
    refreshTokenLifetimeSeconds ??= lifetimes.refreshTokenSeconds;
  } else {
    const required = "is required when IDPORTEN_ISSUER is set";
    issuer = read.secureUrl("IDPORTEN_ISSUER", required, "the client's credentials travel to it") ?? "";
    clientId = env.IDPORTEN_CLIENT_ID ?? "";
    if (!clientId) read.report("IDPORTEN_CLIENT_ID", required);
    clientSecret = env.IDPORTEN_CLIENT_SECRET ?? "";
    if (!clientSecret && clientAuth !== "private_key_jwt") {
      read.report("IDPORTEN_CLIENT_SECRET", `${required} and IDPORTEN_CLIENT_AUTH is ${clientAuth} (or use private_key_jwt with IDPORTEN_CLIENT_KEY)`);
    }
    altinnExchangeUrl = read.secureUrl("ALTINN_EXCHANGE_URL", required, "the ID-porten access token travels in it") ?? "";
    // Keep-alive on by default: an idle authorization would otherwise die after ID-porten's 600 s.
    refreshTokenLifetimeSeconds ??= IDPORTEN_DEFAULT_REFRESH_TOKEN_LIFETIME_SECONDS;
    if (simulatedClock) {
      read.report("SIMULATED_CLOCK", "must be off with a real ID-porten (IDPORTEN_ISSUER is set): moving the engine's clock against a real provider expires real authorizations for good");
    }
  }

  const inspect = read.oneOf("INSPECT", ["on", "off"] as const, "off") === "on";
  const inspectPort = inspect ? read.integer("INSPECT_PORT", port === 0 ? 0 : port + 2, 0, 65535) : undefined;
  if (inspectPort && (inspectPort === port || inspectPort === simulator?.port)) {
    read.report("INSPECT_PORT", `must differ from PORT and SIMULATOR_PORT (it is ${inspectPort})`);
  }

  const authorizationLifetimeSeconds = read.integer("AUTHORIZATION_LIFETIME_SECONDS", 31536000);
  const authorizationWarningDays = read.integer("AUTHORIZATION_WARNING_DAYS", 30, 0, 3650);
  const loginTimeoutSeconds = read.integer("LOGIN_TIMEOUT_SECONDS", 600);
  const outboundTimeoutMs = read.integer("OUTBOUND_TIMEOUT_SECONDS", 10, 1, 300) * 1000;
  const outboundConcurrency = read.integer("OUTBOUND_CONCURRENCY", 16, 1, 1000);
  const databaseTimeoutSeconds = read.integer("DATABASE_TIMEOUT_SECONDS", 15, 1, 300); // = DEFAULT_ANSWER_SECONDS in store/postgres/connect.ts
  const exchangeMode = read.oneOf("EXCHANGE_MODE", ["auto", "manual"] as const, "auto");

  if (read.problems.length > 0) throw new ConfigError(read.problems);

  return Object.freeze({
    port,
    host,
    publicUrl,
    dataDir,
    databaseUrl,
    databaseTimeoutSeconds,
    apiToken,
    apiClients,
    ui: Object.freeze({ users: uiUsers, trustedUserHeader, trustedProxies, integrationAdmins: Object.freeze(integrationAdmins) as string[] }),
    encryptionKey,
    idporten: Object.freeze({
      issuer,
      clientId,
      clientAuth,
      clientSecret,
      clientKey,
      clientKeyId,
      scope,
      prompt,
      redirectUri,
      registeredRedirectUris: Object.freeze(registeredRedirectUris) as string[],
      refreshTokenLifetimeSeconds,
    }),
    altinnExchangeUrl,
    authorizationLifetimeSeconds,
    authorizationWarningDays,
    loginTimeoutSeconds,
    outboundTimeoutMs,
    outboundConcurrency,
    exchangeMode,
    simulatedClock,
    inspectPort,
    simulator: simulator && Object.freeze({ ...simulator, lifetimes: Object.freeze(simulator.lifetimes) }),
  });
}

function atobLength(b64: string): number {
  try {
    return atob(b64.replace(/-/g, "+").replace(/_/g, "/")).length;
  } catch {
    return -1;
  }
}
