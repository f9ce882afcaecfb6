// What every part of the soak shares: the settings, the deadline, the tally, the violations found,
// the secrets seen (for the scan at the end), and the windows in which the soak itself disturbed
// the server (faults pending, a SIGKILL restart, a full disk) — a 503 is only excused inside one.

export interface SoakSettings {
  flows: number;
  durationMs: number;
  seed: number;
  /** Seconds: the lifetimes the server runs with, so renewals and keep-alives happen often. */
  accessTokenSeconds: number;
  refreshTokenSeconds: number;
  reuseGraceSeconds: number;
  loginTimeoutSeconds: number;
  outboundTimeoutSeconds: number;
  kills: boolean;
  diskFull: boolean;
  faults: boolean;
  /** Keep-alive pauses: a worker makes no call for ~90 % of the refresh token's inactivity window. */
  idle: boolean;
  /** Plants a token the soak received in a file under DATA_DIR before the scan: the scan must fail. */
  plantSecret: boolean;
  verbose: boolean;
}

export type SecretKind = "API token" | "control token" | "Altinn token" | "ID-porten access token" | "authorization code" | "login link secret" | "login cookie" | "pid";

export interface Violation {
  at: number;
  kind: string;
  detail: string;
}

export interface Window {
  kind: "fault" | "restart" | "disk-full";
  start: number;
  end: number; // Infinity while open
}

/** After a disturbance ends, this long still counts as its aftermath (retries, held writes, backoff). */
export const AFTERMATH_MS = 15_000;

export class SoakContext {
  startedAt = Date.now();
  deadline: number;
  /** Aborted at the deadline (or on Ctrl-C): loops end, requests in flight are cut. */
  readonly stop = new AbortController();
  readonly violations: Violation[] = [];
  readonly notes: string[] = [];
  readonly warnings: string[] = [];
  readonly secrets = new Map<string, SecretKind>();
  /** One whole Altinn token as received (what --plant-secret writes). */
  sampleToken: string | undefined;
  readonly windows: Window[] = [];
  readonly tally = {
    tokenCalls: 0,
    tokenByStatus: new Map<string, number>(),
    renewSent: 0,
    logins: 0,
    loginRetries: 0,
    abandoned: 0,
    revokes: 0,
    replacements: 0,
    idles: 0,
    faults: 0,
    kills: 0,
    restartDowntimesMs: [] as number[],
    diskWindows: 0,
    excusedExpiries: 0,
    unverifiableAcks: 0,
    acks: 0,
  };
  /** Bumped by every restart: a worker that sees a new epoch checks its flow again. */
  epoch = 0;
  serverUp = false;

  constructor(
    readonly settings: SoakSettings,
    readonly log: (line: string) => void,
  ) {
    this.deadline = this.startedAt + settings.durationMs;
  }

  /** The server is up: the run's duration starts now. */
  begin(): void {
    this.startedAt = Date.now();
    this.deadline = this.startedAt + this.settings.durationMs;
  }

  get running(): boolean {
    return !this.stop.signal.aborted && Date.now() < this.deadline;
  }

  violation(kind: string, detail: string): void {
    this.violations.push({ at: Date.now(), kind, detail });
    this.log(`soak: ${new Date().toISOString().slice(11, 23)} VIOLATION ${kind}: ${detail}`);
  }

  /** Worth a look, not an invariant broken. */
  warning(line: string): void {
    this.warnings.push(line);
    this.log(`soak: warning: ${line}`);
  }

  note(line: string): void {
    this.notes.push(line);
    if (this.settings.verbose) this.log(`soak: ${new Date().toISOString().slice(11, 23)} ${line}`);
  }

  /**
   * Remembers a secret for the scan. The scan matches whole runs of [A-Za-z0-9_-], so a JWT is kept
   * as its payload and its signature (each unique to the token; the header is shared by all).
   */
  secret(value: string | null | undefined, kind: SecretKind): void {
    if (!value) return;
    const parts = value.includes(".") ? value.split(".").slice(1) : [value];
    for (const part of parts) if (part.length >= 8 && /^[A-Za-z0-9_-]+$/.test(part) && !this.secrets.has(part)) this.secrets.set(part, kind);
  }

  open(kind: Window["kind"]): Window {
    const window = { kind, start: Date.now(), end: Infinity };
    this.windows.push(window);
    return window;
  }

  close(window: Window): void {
    window.end = Date.now();
  }

  /** The disturbance (if any) that explains trouble seen between t0 and t1. */
  disturbance(t0: number, t1 = Date.now()): Window | undefined {
    return this.windows.find((w) => w.start <= t1 && w.end + AFTERMATH_MS >= t0);
  }

  count(status: string): void {
    this.tally.tokenByStatus.set(status, (this.tally.tokenByStatus.get(status) ?? 0) + 1);
  }
}
