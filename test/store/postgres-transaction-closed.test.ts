// A transaction whose connection goes away must fail as one call, not end the process. postgres.js
// 3.4.9 answers a failed transaction with a `rollback` on the same connection; when that connection
// was closed (a failover, pg_terminate_backend, or our own letting go of a silent database's
// sockets), the rollback's write ran on a socket that was no longer there, from a setImmediate, and
// the TypeError it threw ("Cannot read properties of null (reading 'write')") ended the process
// (porsager/postgres#1154, #1208; unfixed upstream in 3.4.x). scripts/patch-postgres.mjs guards it at
// install time; this test is what fails without that guard — vitest reports the uncaught error.
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { PostgresSignInAttempts } from "../../src/identity/sign-in-attempts.ts";
import { databasesPerTest, PG_REQUIRED, probe } from "./postgres-server.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;

const { cleanups, database } = databasesPerTest(reach);

/** Another session holding every advisory lock a sign-in attempt for `user` from `address` takes (so the attempt waits inside its transaction). */
async function holdSignInLocks(url: string, user: string, address: string) {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  cleanups.push(() => sql.end({ timeout: 1 }));
  const holder = await sql.reserve();
  await holder`SELECT pg_advisory_lock(hashtextextended('authflow sign-in ' || k, 0)) FROM unnest(${[`u:${user.toLowerCase()}`, `a:${address}`]}::text[]) AS k`;
  const waiting = async () => (await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)[0]!.n as number;
  return {
    terminateWaiters: () => sql`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
    waiting,
    release: async () => {
      await holder`SELECT pg_advisory_unlock_all()`;
      holder.release();
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skip)("a transaction whose connection is closed under it (PostgreSQL)", { timeout: 20_000 }, () => {
  it("the server ends the connection (pg_terminate_backend): the call fails, the process lives, the next call works", async () => {
    const db = await database();
    const attempts = await PostgresSignInAttempts.open(db.url);
    cleanups.push(() => attempts.close());
    const locks = await holdSignInLocks(db.url, "ada", "10.0.0.1");
    cleanups.push(() => locks.release());
    const attempt = attempts.attempt("ada", "10.0.0.1").then(
      () => "answered",
      (error: Error) => `failed: ${error.message}`,
    );
    await until("the attempt to wait for its lock", async () => (await locks.waiting()) > 0);
    await locks.terminateWaiters();
    expect(await attempt).toMatch(/^failed: /);
    // The rollback postgres.js sends after it would have been written on the next turn of the loop.
    await new Promise((r) => setTimeout(r, 200));
    await locks.release();
    expect(await attempts.attempt("ada", "10.0.0.1")).toBe(0);
  });

  it("the database stops answering inside the transaction and its sockets are let go: 503-class error, the process lives, the next call works", async () => {
    const db = await database();
    const attempts = await PostgresSignInAttempts.open(db.url, Date.now, undefined, 1); // answer within 1 s
    cleanups.push(() => attempts.close());
    const locks = await holdSignInLocks(db.url, "bea", "10.0.0.2");
    cleanups.push(() => locks.release());
    const failed = await attempts.attempt("bea", "10.0.0.2").then(
      () => "answered",
      (error: Error) => `failed: ${error.name}: ${error.message}`,
    );
    expect(failed).toMatch(/^failed: .*did not answer/);
    await new Promise((r) => setTimeout(r, 200));
    await locks.release();
    expect(await attempts.attempt("bea", "10.0.0.2")).toBe(0);
  });
});
