// A small pool of its own for a module that keeps a table beside the flows (ended sessions, sign-in
// failures), with the schema brought up to date first — the flow store has applied the migrations
// already when it opened first; then there is nothing to do.
import postgres from "postgres";
import { migrate } from "./migrations.ts";

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
 */
export function openPool(databaseUrl: string, applicationName: string, max: number): postgres.Sql {
  return postgres(databaseUrl, {
    max,
    connect_timeout: 10,
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    fetch_types: false,
    onnotice: () => undefined, // "relation already exists, skipping" and the like
    connection: { application_name: applicationName },
  });
}

export async function openMigrated(databaseUrl: string, applicationName: string, max = 1): Promise<postgres.Sql> {
  const sql = openPool(databaseUrl, applicationName, max);
  try {
    await migrate(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
  return sql;
}
