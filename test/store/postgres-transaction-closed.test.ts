// A transaction whose connection goes away must fail as one call, not end the process. postgres.js
// 3.4.9 answers a failed transaction with a `rollback` on the same connection; when that connection
// was closed (a failover, pg_terminate_backend, or our own letting go of a silent database's
// sockets), the rollback's write ran on a socket that was no longer there, from a setImmediate, and
// the TypeError it threw ("Cannot read properties of null (reading 'write')") ended the process
// (porsager/postgres#1154, #1208; unfixed upstream in 3.4.x). scripts/patch-postgres.mjs guards it at
// install time; this test is what fails without that guard — vitest reports the uncaught error —
// or with its first version, which parked each such connection in its pool for good.
import net from "node:net";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { PostgresSignInAttempts } from "../../src/identity/sign-in-attempts.ts";
import { databasesPerTest, PG_REQUIRED, probe } from "./postgres-server.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;

const { cleanups, database } = databasesPerTest(reach);

/** Another session that takes (hold) and lets go of (release) every advisory lock a sign-in attempt for `user` from `address` takes, so the attempt waits inside its transaction. */
async function signInLocks(url: string, user: string, address: string) {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  cleanups.push(() => sql.end({ timeout: 1 }));
  const holder = await sql.reserve();
  cleanups.push(() => holder.release());
  const keys = [`u:${user.toLowerCase()}`, `a:${address}`];
  return {
    hold: () => holder`SELECT pg_advisory_lock(hashtextextended('authflow sign-in ' || k, 0)) FROM unnest(${keys}::text[]) AS k`,
    release: () => holder`SELECT pg_advisory_unlock_all()`,
    waiting: async () => (await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)[0]!.n as number,
    terminateWaiters: () => sql`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
  };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A TCP relay to the server whose connections can be reset (RST), as a failover or a network fault does. */
async function resettingRelay() {
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const server = net.connect(5432, "127.0.0.1");
    sockets.add(client);
    for (const s of [client, server]) s.on("error", () => undefined);
    client.pipe(server).pipe(client);
    client.on("close", () => (sockets.delete(client), server.destroy()));
    server.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => relay.close(resolve)));
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return { port: (relay.address() as net.AddressInfo).port, reset: () => sockets.forEach((s) => s.resetAndDestroy()) };
}

// The keys as typed (the service keeps a MAC of each): signInLocks below takes the same locks by them.
const plainKeys = async (key: string) => key;

const outcome = (call: Promise<unknown>) =>
  call.then(
    (value) => `answered ${String(value)}`,
    (error: Error) => `failed: ${error.name}: ${error.message}`,
  );

describe.skipIf(skip)("a transaction whose connection is closed under it (PostgreSQL)", { timeout: 30_000 }, () => {
  it("the server ends the connection (pg_terminate_backend), three times: each call fails, the process lives, the pool keeps working", async () => {
    const db = await database();
    const attempts = await PostgresSignInAttempts.open(db.url, plainKeys, Date.now, undefined, 3); // a pool of two; answer within 3 s
    cleanups.push(() => attempts.close());
    const locks = await signInLocks(db.url, "ada", "10.0.0.1");
    // Three times: the sign-in pool has two connections, and each closed transaction used to park
    // its connection for good — the third attempt then waited for a connection that never came.
    for (const round of [1, 2, 3]) {
      await locks.hold();
      const attempt = outcome(attempts.attempt("ada", "10.0.0.1"));
      await until("the attempt to wait for its lock", async () => (await locks.waiting()) > 0);
      await locks.terminateWaiters();
      expect(await attempt, `round ${round}`).toMatch(/^failed: /);
      // The rollback postgres.js sends after it would have been written on the next turn of the loop.
      await new Promise((r) => setTimeout(r, 200));
      await locks.release();
      const started = Date.now();
      expect(await outcome(attempts.attempt(`next${round}`, "10.0.0.7")), `round ${round}`).toBe("answered 0");
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it("the database stops answering inside the transaction and the pool lets go of its sockets, three times: 503-class error each time, the process lives, the pool keeps working", async () => {
    const db = await database();
    const attempts = await PostgresSignInAttempts.open(db.url, plainKeys, Date.now, undefined, 1); // answer within 1 s
    cleanups.push(() => attempts.close());
    const locks = await signInLocks(db.url, "bea", "10.0.0.2");
    for (const round of [1, 2, 3]) {
      await locks.hold();
      expect(await outcome(attempts.attempt("bea", "10.0.0.2")), `round ${round}`).toMatch(/^failed: .*did not answer/);
      await new Promise((r) => setTimeout(r, 200));
      await locks.release();
      expect(await outcome(attempts.attempt(`next${round}`, "10.0.0.7")), `round ${round}`).toBe("answered 0");
    }
  });

  // A review saw the rollback queued between a reset's error and the close take the next
  // connection's first answer (4 runs of 4 there, the next call waiting out the answer time); here
  // the race did not come out that way, with or without the guard — so this test holds the outcome,
  // and does not prove that part of the guard.
  it("the connection is reset (RST) inside the transaction: the call fails, and the next calls are answered at once, not after a stale rollback takes their answer", async () => {
    const db = await database();
    const relay = await resettingRelay();
    const url = new URL(db.url);
    url.port = String(relay.port);
    const attempts = await PostgresSignInAttempts.open(url.toString(), plainKeys, Date.now, undefined, 4);
    cleanups.push(() => attempts.close());
    // Both connections of the pool up and used.
    await Promise.all([attempts.attempt("w1", "10.1.1.1"), attempts.attempt("w2", "10.1.1.2")]);
    const locks = await signInLocks(db.url, "cyd", "10.0.0.3");
    await locks.hold();
    const attempt = outcome(attempts.attempt("cyd", "10.0.0.3"));
    await until("the attempt to wait for its lock", async () => (await locks.waiting()) > 0);
    relay.reset();
    expect(await attempt).toMatch(/^failed: /);
    await locks.release();
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      expect(await outcome(attempts.attempt(`after${i}`, "10.0.0.9")), `attempt ${i}`).toBe("answered 0");
      expect(Date.now() - started, `attempt ${i}`).toBeLessThan(2000);
    }
  });

  it("a query in flight when the server ends its connection: the next query on the reconnected connection is answered, not given the old backend's error", async () => {
    const db = await database();
    const sql = postgres(db.url, { max: 1, fetch_types: false, onnotice: () => undefined });
    cleanups.push(() => sql.end({ timeout: 1 }));
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => admin.end({ timeout: 1 }));
    const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
    const sleeping = outcome(sql`SELECT pg_sleep(5)`);
    await until("the query to run", async () => (await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`)[0]!.n === 1);
    await admin`SELECT pg_terminate_backend(${pid})`;
    expect(await sleeping).toMatch(/^failed: /);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) expect(await outcome(sql`SELECT ${i}::int AS i`.then((rows) => rows[0]!.i)), `query ${i}`).toBe(`answered ${i}`);
  });
});
