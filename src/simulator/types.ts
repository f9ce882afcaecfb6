// The simulator's public vocabulary: what callers pass in and get back (re-exported by index.ts).

import type { TestPerson } from "./persons.ts";

export type { TestPerson };

/** How a client authenticates at the token, revocation and PAR endpoints. ID-porten registers one per client. */
export type TokenEndpointAuthMethod = "client_secret_post" | "client_secret_basic" | "private_key_jwt";

export interface SimulatorClient {
  clientId: string;
  /** Required for client_secret_post and client_secret_basic; not used with private_key_jwt. */
  clientSecret?: string;
  redirectUris: string[];
  /** Default client_secret_post (what Dynamics registers). Any other method is refused with invalid_client. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** The client's public keys, for private_key_jwt. */
  jwks?: { keys: JsonWebKey[] };
  /**
   * The scopes the client is registered for; asking for another answers invalid_scope (as ID-porten
   * does). Default: DEFAULT_CLIENT_SCOPES, the VAT set.
   */
  scopes?: string[];
}

export interface SimulatorLifetimes {
  /** Hard maximum of a grant, counted from the login; after it refresh answers invalid_grant. */
  authorizationSeconds: number;
  accessTokenSeconds: number;
  /** Inactivity lifetime of a refresh token, never beyond the grant's authorization lifetime. */
  refreshTokenSeconds: number;
  /** Authorization code TTL. */
  codeSeconds: number;
  /** The browser's SSO session, counted from the login (ID-porten: 30–120 min). */
  sessionSeconds: number;
}

export interface SimulatorOptions {
  /** Bind address, e.g. "127.0.0.1". */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Base URL it is reached at, and so the issuer; default `http://${host}:${actualPort}`. */
  publicUrl?: string;
  /** Grants, sessions and keys persist under `${dataDir}/simulator`; undefined keeps them in memory. */
  dataDir?: string;
  /** 32 raw bytes sealing what is kept under dataDir; default a key file there (mode 0600). */
  encryptionKey?: Uint8Array;
  clients: SimulatorClient[];
  lifetimes?: Partial<SimulatorLifetimes>;
  /**
   * Seconds a rotated one-time refresh token is still accepted (each reuse answers a fresh
   * rotation, as Connect2id's grace does); default 0: reuse answers invalid_grant at once and ends
   * the grant, which is what to assume of ID-porten.
   */
  refreshReuseGraceSeconds?: number;
  /** When set, the control API requires `Authorization: Bearer <controlToken>`. */
  controlToken?: string;
  /** One line per notable event; never a token, code, secret or full pid. */
  log?: (line: string) => void;
}

export type FaultEndpoint = "token" | "altinn" | "revocation" | "par";

/** What the next `count` calls to an endpoint answer instead of the real thing. */
export interface FaultSpec {
  endpoint: FaultEndpoint;
  /** How many calls it answers; default 1. */
  count?: number;
  /** HTTP status to answer with; without it (and without drop) the call is only delayed. */
  status?: number;
  /** JSON body (object) or text body (string); a default error body goes with a status. */
  body?: string | Record<string, unknown>;
  delayMs?: number;
  /** Destroy the connection without an answer (after the delay). */
  drop?: boolean;
}

export interface PendingFault extends FaultSpec {
  count: number;
  /** Calls this fault still answers. */
  remaining: number;
}

/** Settings testers may change while the simulator runs. */
export interface SimulatorSettings {
  refreshReuseGraceSeconds: number;
}

export interface SimulatorState {
  lifetimes: SimulatorLifetimes;
  settings: SimulatorSettings;
  faults: PendingFault[];
  /** The persons Altinn knows (its register): the exchange answers 401 for anyone else. */
  altinnPersons: string[];
}

/** The testers' controls; the HTTP control API under /control calls exactly these. */
export interface SimulatorControl {
  state(): SimulatorState;
  /** Applies to what is issued afterwards; returns the lifetimes now in force. */
  setLifetimes(lifetimes: Partial<SimulatorLifetimes>): SimulatorLifetimes;
  setSettings(settings: Partial<SimulatorSettings>): SimulatorSettings;
  /** Every authorization code issued so far is expired; returns how many there were. */
  expireCodes(): Promise<number>;
  /** Revokes every grant of that person (their refresh tokens then answer invalid_grant); returns how many. */
  revoke(pid: string): Promise<number>;
  addFault(fault: FaultSpec): SimulatorState;
  clearFaults(): SimulatorState;
  /** Altinn's register: add or remove a person (a synthetic number); returns the register. */
  addAltinnPerson(pid: string): Promise<string[]>;
  removeAltinnPerson(pid: string): Promise<string[]>;
  /**
   * Registers a client at run time, as Digdir's self-service does for a new integration (or
   * replaces one registered so; a new secret, say). Kept across restarts. Returns it without its secret.
   */
  registerClient(client: SimulatorClient): Promise<Record<string, unknown>>;
  /** Every client the provider knows, without secrets. */
  clients(): Array<Record<string, unknown>>;
}

export interface RunningSimulator {
  issuer: string;
  altinnExchangeUrl: string;
  controlUrl: string;
  persons: TestPerson[];
  control: SimulatorControl;
  close(): Promise<void>;
}
