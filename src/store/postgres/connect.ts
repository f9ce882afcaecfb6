// A small pool of its own for a module that keeps a table beside the flows (ended sessions, sign-in
// failures), with the schema brought up to date first — the flow store has applied the migrations
// already when it opened first; then there is nothing to do.
import postgres from "postgres";
import { migrate } from "./migrations.ts";

export async function openMigrated(databaseUrl: string, applicationName: string, max = 1): Promise<postgres.Sql> {
  const sql = postgres(databaseUrl, { max, connect_timeout: 10, onnotice: () => undefined, connection: { application_name: applicationName } });
  try {
    await migrate(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
  return sql;
}
