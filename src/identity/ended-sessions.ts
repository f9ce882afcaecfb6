// Sessions ended by sign-out, kept until they would have expired: a page session is a sealed cookie
// that any instance can open, so "signed out" must be a fact every instance (and a restarted one)
// can look up — a private file under DATA_DIR (one process per DATA_DIR), or a PostgreSQL table.
import type postgres from "postgres";
import { join } from "node:path";
import { DurableJsonFile } from "../store/durable-json-file.ts";
import { boundCalls, openMigrated } from "../store/postgres/connect.ts";

export interface EndedSessions {
  /** Whether this session was signed out (before `now`'s expiry). */
  has(sid: string): Promise<boolean>;
  /** Remembers the session as ended until `expiresAt` (ms); resolves once that is durable. */
  add(sid: string, expiresAt: number): Promise<void>;
  close(): Promise<void>;
}

export const ENDED_SESSIONS_FILE = "ended-sessions.json";

/** lowdb mode: one small durable file; the whole list is held in memory (entries leave once expired). */
export class FileEndedSessions implements EndedSessions {
  #ended = new Map<string, number>();
  #file: DurableJsonFile<Record<string, number>>;

  private constructor(
    file: DurableJsonFile<Record<string, number>>,
    private readonly now: () => number,
  ) {
    this.#file = file;
  }

  static async open(dataDir: string, now: () => number = Date.now): Promise<FileEndedSessions> {
    const file = new DurableJsonFile<Record<string, number>>(join(dataDir, ENDED_SESSIONS_FILE));
    const store = new FileEndedSessions(file, now);
    // A torn file loses sign-outs, not flows: start empty (the sessions still end within 8 hours).
    const saved = await file.read().catch(() => null);
    for (const [sid, until] of Object.entries(saved ?? {})) if (typeof until === "number") store.#ended.set(sid, until);
    return store;
  }

  async has(sid: string): Promise<boolean> {
    const until = this.#ended.get(sid);
    return until !== undefined && until > this.now();
  }

  async add(sid: string, expiresAt: number): Promise<void> {
    const now = this.now();
    for (const [id, until] of this.#ended) if (until <= now) this.#ended.delete(id);
    this.#ended.set(sid, expiresAt);
    await this.#file.write(Object.fromEntries(this.#ended));
  }

  async close(): Promise<void> {}
}

/** Several instances on one PostgreSQL: the table of migration 3. */
export class PostgresEndedSessions implements EndedSessions {
  private constructor(
    private readonly sql: postgres.Sql,
    private readonly now: () => number,
  ) {
    boundCalls(this, sql, ["has", "add"]);
  }

  /** `answerSeconds`: how long a call waits for the database (DATABASE_TIMEOUT_SECONDS; store/postgres/connect.ts). */
  static async open(databaseUrl: string, now: () => number = Date.now, answerSeconds?: number): Promise<PostgresEndedSessions> {
    const sql = await openMigrated(databaseUrl, "authflow-sessions", 1, answerSeconds);
    return new PostgresEndedSessions(sql, now);
  }

  async has(sid: string): Promise<boolean> {
    const [row] = await this.sql`SELECT 1 FROM ended_sessions WHERE sid = ${sid} AND expires_at > ${this.now()}`;
    return row !== undefined;
  }

  async add(sid: string, expiresAt: number): Promise<void> {
    await this.sql`INSERT INTO ended_sessions (sid, expires_at) VALUES (${sid}, ${expiresAt}) ON CONFLICT (sid) DO NOTHING`;
    await this.sql`DELETE FROM ended_sessions WHERE expires_at <= ${this.now()}`;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }
}
