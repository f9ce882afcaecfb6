// The machine's PostgreSQL for the store tests: a database of its own per test run
// (authflow_test_<random>), dropped at the end.
//
// Reachability: when the server cannot be reached, the PostgreSQL tests FAIL with the reason if
// CI is set or AUTHFLOW_PG_TESTS=required (CI has the server, so a silent skip there would hide
// that the shared store went untested); elsewhere they are skipped, and the skipped test's name
// says why. AUTHFLOW_PG_ADMIN_URL overrides where the server is (default: trust auth on
// 127.0.0.1:5432 as postgres).
import postgres from "postgres";
import { afterEach, describe } from "vitest";

export const ADMIN_URL = process.env.AUTHFLOW_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const PG_REQUIRED = Boolean(process.env.CI) || process.env.AUTHFLOW_PG_TESTS === "required";

export type Reachability = { ok: true } | { ok: false; reason: string };

/** Whether the server answers, within a few seconds. */
export async function probe(): Promise<Reachability> {
  const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => undefined });
  try {
    await sql`SELECT 1`;
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `PostgreSQL at ${new URL(ADMIN_URL).host} is not reachable (${(error as Error).message})` };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/**
 * `describe` for tests that need the machine's PostgreSQL: where it cannot be reached, skipped with
 * the reason in the name, or a failure with the reason where it is required (CI).
 */
export async function describeWithPostgres(name: string, body: () => void): Promise<void> {
  const reach = await probe();
  if (!reach.ok && PG_REQUIRED) throw new Error(reach.reason);
  (reach.ok ? describe : describe.skip)(`${name}${reach.ok ? "" : ` (skipped: ${reach.reason})`}`, body);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database for this run, named `<prefix>_<random>`; drop() removes it (FORCE). */
export async function createTestDatabase(prefix = "authflow_test"): Promise<TestDatabase> {
  const name = `${prefix}_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
      try {
        // FORCE: a store a failed test left open must not keep the database alive.
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  };
}

/**
 * For a test file: `database()` makes a database for the running test, dropped after it, and
 * `cleanups` takes what else it opened (closed after it, newest first, before the drop). Fails with
 * the reason when the server is out of reach (the tests are skipped before that unless required).
 */
export function databasesPerTest(reach: Reachability) {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  });
  async function database(): Promise<TestDatabase> {
    if (!reach.ok) throw new Error(`${reach.reason}. The PostgreSQL tests are required here (CI or AUTHFLOW_PG_TESTS=required).`);
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    return db;
  }
  return { cleanups, database };
}
