// A small pool of its own for a module that keeps a table beside the flows (ended sessions, sign-in
// failures), with the schema brought up to date first — the flow store has applied the migrations
// already when it opened first; then there is nothing to do.
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { migrate, type MigrationOutcome } from "./migrations.ts";
import { PoolSockets, type TlsSettings } from "./pool-sockets.ts";
import { rootCertificateOf } from "./url-tls.ts";
import { ensurePostgresClientGuarded } from "./client-guard.ts";

/** How long a call may wait for the database's answer before the pool's connections are taken for dead. Default of DATABASE_TIMEOUT_SECONDS. */
export const DEFAULT_ANSWER_SECONDS = 15;

/**
 * A pool of `max` connections, as every PostgreSQL module here opens it.
 * - While the database is out of reach, postgres.js waits between attempts to connect — by default
 *   up to 20 s, with queries queued meanwhile — so a request would wait that long for its 503, and
 *   the service that long to notice the database is back. Here the wait grows from 50 ms to at most
 *   1 s: an attempt a second per connection costs the database nothing, and the answer (and the
 *   recovery) comes at once.
 * - No array types are fetched on connect (`fetch_types: false`): postgres.js 3.4.9 runs that
 *   catalog query as each new connection's first statement and drops its promise, so a connection
 *   lost just then (a failover, a reset) rejects it unhandled and ends the process (porsager/postgres
 *   #1192, #1205, #1223; seen here in CI while the fault test cut the line). Nothing here sends or
 *   reads a PostgreSQL array: lists go as JSON (`sql.json`, `jsonb_array_elements_text`).
 * - The pool's sockets are made by pool-sockets.ts (postgres.js's `socket` option), so that they can
 *   be let go when the database has gone silent: each call waits at most `answerSeconds` (see
 *   `answerWithin`).
 */
export function openPool(databaseUrl: string, applicationName: string, max: number, answerSeconds = DEFAULT_ANSWER_SECONDS): postgres.Sql {
  ensurePostgresClientGuarded(); // else a connection closing under a transaction ends the process (client-guard.ts)
  const settings = {
    max,
    connect_timeout: 10,
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    fetch_types: false,
    onnotice: () => undefined, // "relation already exists, skipping" and the like
    connection: { application_name: applicationName },
  };
  // A root certificate file (sslrootcert=<path>, libpq's way to trust a managed database's own CA)
  // is read here; postgres.js would send the parameter to the server, which refuses it (url-tls.ts).
  const { url, path, system } = rootCertificateOf(databaseUrl);
  const ca = path === undefined ? undefined : readRootCertificate(path);
  // The URL's TLS settings as postgres.js reads them (sslmode or ssl, sslnegotiation), asked of a
  // pool that never connects; the sockets then do the TLS, and postgres.js sees them plain.
  const read = postgres(url, settings).options as unknown as TlsSettings;
  const ssl = tlsMode(read.ssl, ca !== undefined, system === true, path);
  const sockets = new PoolSockets({ ssl, sslnegotiation: read.sslnegotiation, ...(ca !== undefined ? { ca } : {}) }, settings.connect_timeout);
  // The LISTEN connection postgres.js opens for notifications copies the options: its socket is made here too.
  const sql = postgres(url, { ...settings, ssl: false, socket: sockets.make } as postgres.Options<Record<string, never>>);
  pools.set(sql, { sockets, answerSeconds });
  return sql;
}

/**
 * The TLS mode the sockets use, as libpq would: with a root certificate file, `require` checks the
 * chain (verify-ca); `sslrootcert=system` is verify-full. What would check less than it seems to is
 * refused (config.ts refuses it first, in words for the variable): verify-ca without a file of its
 * own (the chain against the system's CAs without the name: any certificate a public CA issued for
 * any name would pass), a root certificate with a mode that checks nothing.
 */
function tlsMode(ssl: unknown, file: boolean, system: boolean, path: string | undefined): unknown {
  if (system) {
    if (ssl && ssl !== "verify-full") throw new Error(`DATABASE_URL names sslrootcert=system with sslmode ${String(ssl)}: the system's CAs need sslmode=verify-full`);
    return "verify-full";
  }
  if (file && ssl === "require") return "verify-ca";
  if (file && ssl !== "verify-ca" && ssl !== "verify-full") throw new Error(`DATABASE_URL names sslrootcert ${path} but sslmode ${String(ssl || "disable")} checks no certificate: set sslmode=verify-full`);
  if (!file && ssl === "verify-ca") throw new Error("DATABASE_URL says sslmode=verify-ca without sslrootcert=<file>: the chain would be checked against the system's CAs without the name; use sslmode=verify-full, or name the CA's file");
  return ssl;
}

/** The PEM certificates of a root certificate file, or an error that names the file and what is wrong with it. */
function readRootCertificate(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`the root certificate file ${path} (sslrootcert) cannot be read (${(error as { code?: string }).code ?? (error as Error).message})`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`the root certificate file ${path} (sslrootcert) holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return text;
}

/** Each pool's sockets, and how long its calls wait for an answer. */
const pools = new WeakMap<postgres.Sql, { sockets: PoolSockets; answerSeconds: number }>();

/** The database did not answer in time: the call is answered 503 (store-unreachable.ts) and the pool's connections are let go. */
export class DatabaseSilentError extends Error {
  readonly code = "DATABASE_SILENT";
  constructor(seconds: number) {
    super(`the database did not answer within ${seconds} s`);
    this.name = "DatabaseSilentError";
  }
}

/**
 * `work` (calls on the pool `sql`), or a DatabaseSilentError once the pool's answer time
 * (DATABASE_TIMEOUT_SECONDS) passes without its answer.
 *
 * A database can go silent rather than refuse: a network partition, a failover that leaves the
 * socket half-open. postgres.js has no timeout for a statement already sent (porsager/postgres#1089,
 * open), and TCP gives up on unanswered data only after ≈ 15 minutes — every call on that connection
 * would wait that long, and the pool fills with such connections. So a call answered by nothing
 * within `seconds` lets go of every connection of its pool: their calls fail at once (a 503 that
 * says so), postgres.js connects afresh for the next call, and the service works again as soon as
 * the database answers. Every connection, not only the silent one: which connection a call went out
 * on is not known here, and a database that left one call unanswered that long has most likely left
 * them all. A write given up this way may still have been applied; the engine then meets its own
 * write as a moved revision and reloads the flow, as after a race (flow-engine.ts).
 */
export function answerWithin<T>(sql: postgres.Sql, work: Promise<T>, seconds?: number): Promise<T> {
  const pool = pools.get(sql);
  if (!pool) return work;
  const bound = seconds ?? pool.answerSeconds;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DatabaseSilentError(bound);
      pool.sockets.letGo();
      reject(error);
    }, bound * 1000);
  });
  return Promise.race([work, silent]).finally(() => clearTimeout(timer));
}

/**
 * Bounds the named calls of `target` (a module's methods that use the pool `sql`) with answerWithin.
 * Every module with a pool does this for every call that waits for the database: a call on a pool
 * whose connections went silent would otherwise wait forever, whichever module made it (the flows,
 * the integrations every page's policy lists, the sessions, the sign-in attempts).
 */
export function boundCalls<T extends object>(target: T, sql: postgres.Sql, names: ReadonlyArray<keyof T & string>): void {
  for (const name of names) {
    const call = (target[name] as (...args: unknown[]) => Promise<unknown>).bind(target);
    (target as Record<string, unknown>)[name] = (...args: unknown[]) => answerWithin(sql, call(...args));
  }
}

/**
 * Applies the migrations this database lacks, on a pool made by openPool: every statement but a
 * migration's own waits at most the pool's answer time (a database that does not answer fails
 * start-up in words), and a wait for a lock is named in `log` each answer time and tried again.
 */
export function migrateAtStartUp(sql: postgres.Sql, log?: (line: string) => void): Promise<MigrationOutcome> {
  const seconds = pools.get(sql)?.answerSeconds ?? DEFAULT_ANSWER_SECONDS;
  return migrate(sql, undefined, { ...(log ? { log } : {}), lockWaitSeconds: seconds, bound: (work, bound) => answerWithin(sql, work, bound) });
}

export async function openMigrated(databaseUrl: string, applicationName: string, max = 1, answerSeconds = DEFAULT_ANSWER_SECONDS): Promise<postgres.Sql> {
  const sql = openPool(databaseUrl, applicationName, max, answerSeconds);
  try {
    await migrateAtStartUp(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
  return sql;
}
