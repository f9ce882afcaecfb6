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

const userKey = (user: string) => `u:${user.toLowerCase()}`;
const addressKey = (address: string) => `a:${address}`;

/** Seconds until one more attempt is allowed under `limit`, given the failures' times (oldest first); 0 if now. */
function waitFor(times: readonly number[], limit: number, now: number, windowMs: number): number {
  if (times.length < limit) return 0;
  return Math.max(1, Math.ceil((times[times.length - limit]! + windowMs - now) / 1000));
}

export class MemorySignInAttempts implements SignInAttempts {
  #failures = new Map<string, number[]>();
  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits: SignInLimits = SIGN_IN_LIMITS,
  ) {}

  async attempt(user: string, address: string): Promise<number> {
    const now = this.now();
    const [u, a] = [this.#recent(userKey(user), now), this.#recent(addressKey(address), now)];
    const wait = Math.max(waitFor(u, this.limits.perUser, now, this.limits.windowMs), waitFor(a, this.limits.perAddress, now, this.limits.windowMs));
    if (wait === 0) {
      this.#failures.set(userKey(user), [...u, now]);
      this.#failures.set(addressKey(address), [...a, now]);
    }
    return wait;
  }

  async withdraw(user: string, address: string): Promise<void> {
    for (const key of [userKey(user), addressKey(address)]) this.#failures.get(key)?.pop();
  }

  async succeeded(user: string, address?: string): Promise<void> {
    this.#failures.delete(userKey(user));
    if (address !== undefined) this.#failures.get(addressKey(address))?.pop();
  }

  async close(): Promise<void> {}

  #recent(key: string, now: number): number[] {
    const recent = (this.#failures.get(key) ?? []).filter((at) => at > now - this.limits.windowMs);
    if (recent.length === 0) this.#failures.delete(key);
    return recent;
  }
}

/** Several instances on one PostgreSQL: the table of migration 4, each key's count under its own lock. */
export class PostgresSignInAttempts implements SignInAttempts {
  private constructor(
    private readonly sql: postgres.Sql,
    private readonly now: () => number,
    private readonly limits: SignInLimits,
  ) {
    boundCalls(this, sql, ["attempt", "withdraw", "succeeded"]);
  }

  /** `answerSeconds`: how long a call waits for the database (DATABASE_TIMEOUT_SECONDS; store/postgres/connect.ts). */
  static async open(databaseUrl: string, now: () => number = Date.now, limits: SignInLimits = SIGN_IN_LIMITS, answerSeconds?: number): Promise<PostgresSignInAttempts> {
    const sql = await openMigrated(databaseUrl, "authflow-sign-in", 2, answerSeconds);
    return new PostgresSignInAttempts(sql, now, limits);
  }

  async attempt(user: string, address: string): Promise<number> {
    const now = this.now();
    const keys = [userKey(user), addressKey(address)];
    return this.sql.begin(async (tx) => {
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
    }) as Promise<number>;
  }

  async withdraw(user: string, address: string): Promise<void> {
    await this.#dropNewest([userKey(user), addressKey(address)]);
  }

  async succeeded(user: string, address?: string): Promise<void> {
    await this.sql`DELETE FROM sign_in_failures WHERE key = ${userKey(user)}`;
    if (address !== undefined) await this.#dropNewest([addressKey(address)]);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }

  /** The newest failure of each key (the one this attempt added, or one as recent). */
  async #dropNewest(keys: string[]): Promise<void> {
    await this.sql`
      DELETE FROM sign_in_failures WHERE id IN (
        SELECT DISTINCT ON (key) id FROM sign_in_failures WHERE key IN (SELECT jsonb_array_elements_text(${this.sql.json(keys)})) ORDER BY key, at DESC, id DESC)`;
  }
}
