// Which errors are "the database cannot be reached" (a 503 that says so) and which are not (a 500,
// or whatever they are): real errors where they can be had — postgres.js against a closed port,
// the machine's server refusing a statement, fetch against a closed port.
import { createServer } from "node:net";
import postgres from "postgres";
import { expect, it } from "vitest";
import { DatabaseSilentError, openPool } from "../../src/store/postgres/connect.ts";
import { storeUnreachable } from "../../src/store/store-unreachable.ts";
import { ADMIN_URL, probe } from "../store/postgres-server.ts";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it("postgres.js against a port nobody listens on: the connection was refused", async () => {
  const sql = postgres(`postgres://postgres@127.0.0.1:${await closedPort()}/test`, { max: 1, onnotice: () => undefined });
  const error = await sql`SELECT 1`.catch((e: unknown) => e);
  await sql.end({ timeout: 1 });
  expect(storeUnreachable(error)).toBe("the connection was refused");
});

it("postgres.js's own connection codes and the server's will-not-serve states are unreachable; other server errors are not", () => {
  expect(storeUnreachable(Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:5432"), { code: "CONNECTION_CLOSED" }))).toBe("the connection was closed");
  expect(storeUnreachable(Object.assign(new Error("connect CONNECT_TIMEOUT 10.0.0.9:5432"), { code: "CONNECT_TIMEOUT" }))).toBe("connecting timed out");
  expect(storeUnreachable(new DatabaseSilentError(15))).toBe("it did not answer in time"); // ours: a call left unanswered (connect.ts)
  const server = (code: string) => Object.assign(new Error("…"), { name: "PostgresError", code });
  expect(storeUnreachable(server("57P01"))).toBe("the server is shutting down");
  expect(storeUnreachable(server("08006"))).toBe("a connection error (SQLSTATE 08006)");
  expect(storeUnreachable(server("25006"))).toMatch(/read-only standby/);
  expect(storeUnreachable(server("23505"))).toBeNull(); // unique_violation: a bug or a race, not an outage
  expect(storeUnreachable(server("42P01"))).toBeNull(); // undefined_table
  // A socket code without a syscall is not a socket's failure.
  expect(storeUnreachable(Object.assign(new Error("ECONNRESET"), { code: "ECONNRESET" }))).toBeNull();
  for (const value of [undefined, null, "CONNECTION_CLOSED", 42, new Error("plain")]) expect(storeUnreachable(value)).toBeNull();
});

it("a pool with sslmode=require against a server that answers the SSLRequest and then drops the line (a restart mid-handshake, or a server without TLS): the connection was reset", async () => {
  for (const answer of ["S", "N"]) {
    const server = createServer((socket) => socket.once("data", () => socket.end(answer)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const sql = openPool(`postgres://postgres@127.0.0.1:${(server.address() as { port: number }).port}/test?sslmode=require`, "authflow-test", 1, 5);
    const error = await sql`SELECT 1`.catch((e: unknown) => e);
    await sql.end({ timeout: 0 }).catch(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    expect(storeUnreachable(error), `${answer}: ${(error as Error).message}`).toBe("the connection was reset");
  }
});

it("fetch against a closed port (an outbound call to ID-porten or Altinn) is not the database", async () => {
  const error = await fetch(`http://127.0.0.1:${await closedPort()}/`).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TypeError);
  expect(storeUnreachable(error)).toBeNull();
});

const reach = await probe();
it.skipIf(!reach.ok)("the machine's server refusing a statement (undefined table) is not unreachable", async () => {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  const error = await sql`SELECT * FROM authflow_no_such_table`.catch((e: unknown) => e);
  await sql.end({ timeout: 1 });
  expect((error as { name?: string }).name).toBe("PostgresError");
  expect(storeUnreachable(error)).toBeNull();
});
