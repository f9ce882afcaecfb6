// The failed sign-in attempts the page's limit counts: after 5 failures for one user name, or 20
// from one address, within 15 minutes, further attempts wait until the oldest failure ages out.
// In memory for one process (lowdb: one process per DATA_DIR); in PostgreSQL when several instances
// share the flows — a limit kept per process would give a guesser as many tries as there are
// instances behind the balancer, so there the count is the database's, taken under a lock per key.
import type postgres from "postgres";
import { boundCalls, openMigrated } from "../store/postgres/connect.ts";

export interface SignInLimits {
  perUser: number;
  perAddress: number;
  windowMs: number;
}

export const SIGN_IN_LIMITS: SignInLimits = { perUser: 5, perAddress: 20, windowMs: 15 * 60_000 };

export interface SignInAttempts {
  /**
   * An attempt begins: 0, and it counts as a failure until it succeeds (so attempts made at once,
   * on any instance, all count), or the seconds to wait when the limit is reached (not counted).
   */
  attempt(user: string, address: string): Promise<number>;
  /** Takes back an attempt that was never checked (the server was busy). */
  withdraw(user: string, address: string): Promise<void>;
  /** The attempt was right: the user's count starts over, and it no longer counts against the address. */
  succeeded(user: string, address?: string): Promise<void>;
  close(): Promise<void>;
}

// A key names what was typed. In memory it is the text itself; in PostgreSQL only its keyed digest
// is kept (PostgresSignInAttempts): a person who types their password into the user-name field
// leaves it in the failed attempt's key, and a row is also in the WAL, replicas and backups.
const userKey = (user: string) => `u:${user.toLowerCase()}`;
const addressKey = (address: string) => `a:${address}`;

/**
 * What PostgreSQL keeps of a key: a MAC under the service's key (every instance has the same key, so
 * every instance counts the same user under the same digest), never the typed text.
 */
export type SignInKeyDigest = (key: string) => Promise<string>;

/** Seconds until one more attempt is allowed under `limit`, given the failures' times (oldest first); 0 if now. */
function waitFor(times: readonly number[], limit: number, now: number, windowMs: number): number {
  if (times.length < limit) return 0;
  return Math.max(1, Math.ceil((times[times.length - limit]! + windowMs - now) / 1000));
}

export class MemorySignInAttempts implements SignInAttempts {
  // Each key's failures, oldest first, never an empty list. The map is kept in the order of each
  // key's newest failure (a key that fails again is moved to the end), so the keys whose failures
  // have all aged out are at its front: every attempt sweeps them from there and stops at the first
  // key still in the window. Without that, a key was dropped only when the same key came back, and
  // the distinct user names of a guesser and the addresses of successful sign-ins stayed for good
  // (review: 100,000 failures with distinct names, +61.5 MB, still there 10 days later).
  // A withdrawn failure only makes a key's newest failure older than its place says, so a key is
  // swept at most one window after its last failure, once the keys before it have aged out too.
  #failures = new Map<string, number[]>();
  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits: SignInLimits = SIGN_IN_LIMITS,
  ) {}

  /** How many keys (user names and addresses) have failures held. */
  get size(): number {
    return this.#failures.size;
  }

  async attempt(user: string, address: string): Promise<number> {
    const now = this.now();
    this.#sweep(now);
    const [u, a] = [this.#recent(userKey(user), now), this.#recent(addressKey(address), now)];
    const wait = Math.max(waitFor(u, this.limits.perUser, now, this.limits.windowMs), waitFor(a, this.limits.perAddress, now, this.limits.windowMs));
    if (wait === 0) {
      this.#setNewest(userKey(user), [...u, now]);
      this.#setNewest(addressKey(address), [...a, now]);
    }
    return wait;
  }

  async withdraw(user: string, address: string): Promise<void> {
    for (const key of [userKey(user), addressKey(address)]) this.#dropNewest(key);
  }

  async succeeded(user: string, address?: string): Promise<void> {
    this.#failures.delete(userKey(user));
    if (address !== undefined) this.#dropNewest(addressKey(address));
  }

  async close(): Promise<void> {}

  #recent(key: string, now: number): number[] {
    const recent = (this.#failures.get(key) ?? []).filter((at) => at > now - this.limits.windowMs);
    if (recent.length === 0) this.#failures.delete(key);
    return recent;
  }

  /** Stores a key's failures at the end of the map (its newest failure is the newest of all). */
  #setNewest(key: string, times: number[]): void {
    this.#failures.delete(key);
    this.#failures.set(key, times);
  }

  #dropNewest(key: string): void {
    const times = this.#failures.get(key);
    times?.pop();
    if (times?.length === 0) this.#failures.delete(key);
  }

  /**
   * Drops the keys at the front whose failures have all aged out: at most SWEEP_KEYS per call, so
   * one attempt after a quiet hour does a bounded amount of work (an attempt adds at most two keys,
   * so the sweep always gains on them, and a map left by a burst drains within a few attempts).
   */
  #sweep(now: number): void {
    let swept = 0;
    for (const [key, times] of this.#failures) {
      if (swept === SWEEP_KEYS || times.at(-1)! > now - this.limits.windowMs) break;
      this.#failures.delete(key);
      swept++;
    }
  }
}

const SWEEP_KEYS = 10_000;

const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 1_000;
const SWEEP_BATCHES = 10;

/** Several instances on one PostgreSQL: the table of migration 4 (its index by time: 6), each key's count under its own lock. */
export class PostgresSignInAttempts implements SignInAttempts {
  // When this instance last swept rows older than the window, on its clock (see #sweep), and the sweep under way.
  #sweptAt = -Infinity;
  #sweeping: Promise<void> = Promise.resolve();
  private constructor(
    private readonly sql: postgres.Sql,
    private readonly digest: SignInKeyDigest,
    private readonly now: () => number,
    private readonly limits: SignInLimits,
  ) {
    boundCalls(this, sql, ["attempt", "withdraw", "succeeded"]);
  }

  /**
   * `digest`: what a key is kept as (SignInKeyDigest; the service's is its SecretBox's MAC).
   * `answerSeconds`: how long a call waits for the database (DATABASE_TIMEOUT_SECONDS; store/postgres/connect.ts).
   */
  static async open(databaseUrl: string, digest: SignInKeyDigest, now: () => number = Date.now, limits: SignInLimits = SIGN_IN_LIMITS, answerSeconds?: number): Promise<PostgresSignInAttempts> {
    const sql = await openMigrated(databaseUrl, "authflow-sign-in", 2, answerSeconds);
    return new PostgresSignInAttempts(sql, digest, now, limits);
  }

  /** The stored keys of a user name and an address, in that order. */
  #keys(user: string, address: string): Promise<string[]> {
    return Promise.all([this.digest(userKey(user)), this.digest(addressKey(address))]);
  }

  async attempt(user: string, address: string): Promise<number> {
    const now = this.now();
    const keys = await this.#keys(user, address);
    const wait = (await this.sql.begin(async (tx) => {
      // One transaction per attempt, holding a lock per key (taken in one order: no deadlock), so
      // attempts made at once on several instances are counted one after another, never past the limit.
      await tx`SELECT pg_advisory_xact_lock(hashtextextended('authflow sign-in ' || k, 0)) FROM jsonb_array_elements_text(${tx.json([...keys].sort())}) AS k ORDER BY k`;
      await tx`DELETE FROM sign_in_failures WHERE key IN (SELECT jsonb_array_elements_text(${tx.json(keys)})) AND at <= ${now - this.limits.windowMs}`;
      const rows = await tx`SELECT key, at FROM sign_in_failures WHERE key IN (SELECT jsonb_array_elements_text(${tx.json(keys)})) ORDER BY at, id`;
      const times = (key: string) => rows.filter((r) => r.key === key).map((r) => Number(r.at));
      const wait = Math.max(
        waitFor(times(keys[0]!), this.limits.perUser, now, this.limits.windowMs),
        waitFor(times(keys[1]!), this.limits.perAddress, now, this.limits.windowMs),
      );
      if (wait === 0) await tx`INSERT INTO sign_in_failures (key, at) SELECT k, ${now} FROM jsonb_array_elements_text(${tx.json(keys)}) AS k`;
      return wait;
    })) as number;
    // Not awaited: the attempt is answered now, and its bounded call (boundCalls) does not include
    // the sweep's statements (a long sweep past the answer time would have let the pool go).
    if (now - this.#sweptAt >= SWEEP_EVERY_MS) {
      this.#sweptAt = now;
      this.#sweeping = this.#sweep(now);
    }
    return wait;
  }

  async withdraw(user: string, address: string): Promise<void> {
    await this.#dropNewest(await this.#keys(user, address));
  }

  async succeeded(user: string, address?: string): Promise<void> {
    await this.sql`DELETE FROM sign_in_failures WHERE key = ${await this.digest(userKey(user))}`;
    if (address !== undefined) await this.#dropNewest([await this.digest(addressKey(address))]);
  }

  /** Resolves when the sweep under way (if any) has ended: for close, and for tests. */
  swept(): Promise<void> {
    return this.#sweeping;
  }

  async close(): Promise<void> {
    // A sweep under way gets as long as the pool's end gives its queries (a silent database must not hold the stop).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#sweeping, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    await this.sql.end({ timeout: 2 });
  }

  /**
   * Deletes rows older than the window whatever their key: the delete in attempt() only reaches the
   * two keys it locks, and a user name or address that never came back (a guesser's made-up names,
   * the address of a successful sign-in) kept its rows for good (review: 300 failures and 100
   * sign-ins left 602 rows 30 days later). At most once a minute per instance, after an attempt,
   * outside its transaction and locks: a statement more on every sign-in would buy nothing, since an
   * aged-out row never counts (the count deletes its own keys' old rows first); the sweep only keeps
   * the table near one window's failures. Bounded: batches of SWEEP_BATCH rows found by the index on
   * `at` (migration 8), at most SWEEP_BATCHES a minute, so 10,000 rows a minute per instance — more
   * than two password checks at a time can add (two rows a failure). Rows another instance's sweep
   * is deleting are skipped, not waited for. A failed sweep leaves the attempt's answer as it was
   * and is tried a minute later (the rows wait; they never count).
   */
  async #sweep(now: number): Promise<void> {
    try {
      for (let batch = 0; batch < SWEEP_BATCHES; batch++) {
        const deleted = await this.sql`
          DELETE FROM sign_in_failures WHERE id IN (
            SELECT id FROM sign_in_failures WHERE at <= ${now - this.limits.windowMs} ORDER BY at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        if (deleted.count < SWEEP_BATCH) break;
      }
    } catch {
      // Tried again at the next sweep; the attempt itself was answered.
    }
  }

  /** The newest failure of each key (the one this attempt added, or one as recent). */
  async #dropNewest(keys: string[]): Promise<void> {
    await this.sql`
      DELETE FROM sign_in_failures WHERE id IN (
        SELECT DISTINCT ON (key) id FROM sign_in_failures WHERE key IN (SELECT jsonb_array_elements_text(${this.sql.json(keys)})) ORDER BY key, at DESC, id DESC)`;
  }
}
