// The PostgreSQL pools over TLS, as a managed database is reached in production (sslmode=require):
// a server of the test's own with TLS on (the machine's has it off). The sockets are made by
// store/postgres/pool-sockets.ts, which does the TLS itself so that a pool's connections can be let
// go when the database goes silent (connect.ts, answerWithin). What must hold: the connections are
// TLS and name the server (SNI) as postgres.js's own do; a call slower than the answer time is given
// up and every connection let go ONCE — the calls on them fail at once, not again at the next
// timeout, and the pool serves on — and the process does not crash. (A first version destroyed the
// plain socket beneath postgres.js's own TLS: the next write failed with EBADF and no listener, and
// the process ended, in 3 runs of 4; and with an error given to destroy, a call made before the
// close event waited for the next timeout — a burst of failures every second.)
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerWithin, openPool } from "../../src/store/postgres/connect.ts";
import { PoolSockets } from "../../src/store/postgres/pool-sockets.ts";
import { storeUnreachable } from "../../src/store/store-unreachable.ts";
import { PG_REQUIRED } from "./postgres-server.ts";
import { killAll, startProcess } from "../lifecycle/process-group.ts";
import { ENCRYPTION_KEY, removeTempDirs, tempDir, waitForLine } from "../multi-instance/cluster.ts";
import { startPgWireCount } from "../support/pg-wire-count.ts";
import { postgresBinaries, startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres.ts";

const binaries = postgresBinaries();
const skip = "reason" in binaries && !PG_REQUIRED;

describe.skipIf(skip)(`PostgreSQL pools over TLS${"reason" in binaries ? ` (skipped: ${binaries.reason})` : ""}`, () => {
  let server: PrivatePostgres | undefined;

  beforeAll(async () => {
    if ("reason" in binaries) throw new Error(`${binaries.reason}. This test is required here (CI or AUTHFLOW_PG_TESTS=required).`);
    server = await startPrivatePostgres(binaries.bin, { ssl: true });
  }, 60_000);

  afterAll(async () => {
    removeTempDirs();
    await server?.stop();
  }, 30_000);

  it("the connections are TLS, and name the server (SNI) as postgres.js's own do", async () => {
    const sql = openPool(server!.url("sslmode=require"), "authflow-tls-test", 2);
    try {
      const [row] = await sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      expect(row?.ssl).toBe(true);
    } finally {
      await sql.end({ timeout: 1 });
    }

    // SNI, seen by a TLS server in front of nothing: it answers the SSLRequest, takes the handshake, notes the name.
    const context = createSecureContext({ key: readFileSync(server!.files.key), cert: readFileSync(server!.files.cert) });
    const names: string[] = [];
    const fake = createServer((socket) => {
      socket.once("data", () => {
        socket.write("S");
        const secure = new TLSSocket(socket, { isServer: true, secureContext: context, SNICallback: (name, done) => (names.push(name), done(null, context)) });
        secure.on("secure", () => secure.destroy());
        secure.on("error", () => undefined);
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const pool = openPool(`postgres://u@localhost:${(fake.address() as AddressInfo).port}/d?sslmode=require`, "authflow-tls-test", 1);
    try {
      await Promise.race([pool`SELECT 1`.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000))]);
      expect(names[0]).toBe("localhost");
    } finally {
      await pool.end({ timeout: 0 }).catch(() => undefined);
      fake.close();
    }
  }, 30_000);

  it("a certificate the pool does not accept (sslmode=verify-full, a self-signed one): the call fails with the TLS verdict, which the service answers as a database it cannot reach (503 in words), not a 500", async () => {
    const sql = openPool(server!.url("sslmode=verify-full"), "authflow-tls-test", 1, 5);
    try {
      const error = await answerWithin(sql, sql`SELECT 1`).then(() => undefined, (e: unknown) => e);
      expect((error as { code?: string })?.code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect(storeUnreachable(error)).toBe("its TLS certificate was not accepted (DEPTH_ZERO_SELF_SIGNED_CERT)");
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  }, 30_000);

  it("the certificate is checked against the host connected to — an IP address too (postgres.js's own TLS checked it as 'localhost')", async () => {
    // The test's certificate names localhost only; trusted here as its own CA, so only the name decides.
    const sockets = new PoolSockets({ ssl: { ca: readFileSync(server!.files.cert) }, sslnegotiation: null }, 5);
    const port = Number(new URL(server!.url()).port);
    const outcome = async (host: string) => {
      const socket = await sockets.make({ host: [host], port: [port] });
      return new Promise<string>((resolve) => {
        socket.once("secureConnect", () => (socket.destroy(), resolve("accepted")));
        socket.once("error", (error: { code?: string }) => (socket.destroy(), resolve(String(error.code))));
      });
    };
    expect(await outcome("localhost")).toBe("accepted");
    expect(await outcome("127.0.0.1")).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    sockets.letGo();
  }, 30_000);

  it("a call slower than the answer time, with calls going on: given up, every connection let go once, the calls on them failed at once, the pool serving on — and no crash", async () => {
    const sql = openPool(server!.url("sslmode=require"), "authflow-tls-test", 10, 2);
    const started = performance.now();
    const failures: Array<{ at: number; code: string; waited: number }> = [];
    let served = 0;
    let stop = false;
    const client = async () => {
      while (!stop) {
        const asked = performance.now();
        await answerWithin(sql, sql`SELECT 1 AS x`).then(
          () => void served++,
          (error: { code?: string }) => void failures.push({ at: asked - started, code: String(error.code), waited: performance.now() - asked }),
        );
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
      }
    };
    try {
      const clients = Array.from({ length: 10 }, client);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const slowAsked = performance.now();
      const slow = await answerWithin(sql, sql`SELECT pg_sleep(3)`).then(
        () => ({ code: "answered", waited: performance.now() - slowAsked }),
        (error: { code?: string }) => ({ code: String(error.code), waited: performance.now() - slowAsked }),
      );
      const letGoAt = performance.now() - started;
      const servedBefore = served;
      await new Promise((resolve) => setTimeout(resolve, 2500));
      stop = true;
      await Promise.all(clients);

      expect(slow.code).toBe("DATABASE_SILENT");
      expect(slow.waited).toBeGreaterThanOrEqual(1990);
      expect(slow.waited).toBeLessThan(2600);
      // Only the calls under way when the connections were let go failed, and at once.
      const report = JSON.stringify(failures.map((f) => ({ ...f, at: Math.round(f.at), waited: Math.round(f.waited) })));
      expect(failures.every((f) => f.at < letGoAt + 50 && f.at > letGoAt - 2100), `failures at ${Math.round(letGoAt)} ms: ${report}`).toBe(true);
      expect(failures.every((f) => f.code === "CONNECTION_CLOSED" && f.waited < 2000), report).toBe(true);
      expect(served - servedBefore, "calls served after the connections were let go").toBeGreaterThan(50);
      const [row] = await sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      expect(row?.ssl).toBe(true);
    } finally {
      stop = true;
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  }, 30_000);

  it("a refused connection over TLS, then the server back: the pool serves again within its backoff (≤ 1 s), not after connect timeouts", async () => {
    // TLS passes the relay unread; cut() refuses new connections as a restarting server does.
    const target = new URL(server!.url());
    const relay = await startPgWireCount({ host: target.hostname, port: Number(target.port) }, { raw: true });
    // One connection: the one that was refused is the one that must serve again.
    const sql = openPool(relay.url("postgres") + "?sslmode=require", "authflow-tls-test", 1, 5);
    try {
      const [row] = await sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      expect(row?.ssl).toBe(true);
      relay.cut();
      const refused = await answerWithin(sql, sql`SELECT 1`).then(() => "answered", (error: { code?: string }) => String(error.code));
      expect(["ECONNREFUSED", "CONNECTION_CLOSED"]).toContain(refused);
      const again = await answerWithin(sql, sql`SELECT 1`).then(() => "answered", (error: { code?: string }) => String(error.code));
      expect(again).toBe("ECONNREFUSED");
      await relay.restore();
      const back = performance.now();
      const outcomes: string[] = [];
      for (;;) {
        const outcome = await answerWithin(sql, sql`SELECT 1`).then(() => "answered", (error: { code?: string }) => String(error.code));
        outcomes.push(outcome);
        if (outcome === "answered" || performance.now() - back > 8000) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(outcomes.at(-1), outcomes.join(", ")).toBe("answered");
      expect(performance.now() - back, outcomes.join(", ")).toBeLessThan(2500);
      expect(outcomes.filter((o) => o === "CONNECT_TIMEOUT"), "no connect timeouts").toEqual([]);
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      await relay.close();
    }
  }, 30_000);
  it("a root certificate file (sslrootcert=<path>, how a managed database's own CA is trusted): verify-full checks chain and name, verify-ca the chain only (libpq's meaning), require with a file checks the chain (libpq's rule); a file that cannot be read is named — postgres.js sent the parameter to the server, which refused every connection", async () => {
    const cert = server!.files.cert;
    const other = otherCertificate();
    const outcome = async (url: string) => {
      const sql = openPool(url, "authflow-tls-test", 1, 5);
      try {
        const [row] = await answerWithin(sql, sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`);
        return row?.ssl === true ? "TLS" : "plain";
      } catch (error) {
        return String((error as { code?: string }).code ?? (error as Error).message);
      } finally {
        await sql.end({ timeout: 1 }).catch(() => undefined);
      }
    };
    const at = (host: string, query: string) => server!.url(query).replace("@127.0.0.1:", `@${host}:`);
    expect(await outcome(at("localhost", `sslmode=verify-full&sslrootcert=${cert}`))).toBe("TLS");
    expect(await outcome(at("127.0.0.1", `sslmode=verify-full&sslrootcert=${cert}`))).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(await outcome(at("127.0.0.1", `sslmode=verify-ca&sslrootcert=${cert}`))).toBe("TLS");
    expect(await outcome(at("127.0.0.1", `sslmode=verify-ca&sslrootcert=${other}`))).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    // verify-ca against the system's CAs would take any certificate a public CA issued for any name (found in review): refused before connecting.
    expect(() => openPool(at("127.0.0.1", "sslmode=verify-ca"), "authflow-tls-test", 1, 5)).toThrow(/sslmode=verify-ca without sslrootcert=<file>/);
    expect(await outcome(at("127.0.0.1", `sslmode=require&sslrootcert=${cert}`))).toBe("TLS");
    expect(await outcome(at("127.0.0.1", `sslmode=require&sslrootcert=${other}`))).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(() => openPool(at("localhost", "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"), "authflow-tls-test", 1, 5)).toThrow(
      "the root certificate file /nonexistent/ca.pem (sslrootcert) cannot be read (ENOENT)",
    );
  }, 30_000);

  it("sslrootcert=system trusts the system's CAs with the name checked (verify-full) — postgres.js sent the parameter to the server, which refused every connection; verify-ca against the system's CAs is refused, not a chain check without the name", async () => {
    // The system's CAs, as a process sees them: the test server's certificate added with NODE_EXTRA_CA_CERTS, in a process of its own.
    const script = `
      import { openPool, answerWithin } from ${JSON.stringify(new URL("../../src/store/postgres/connect.ts", import.meta.url).pathname)};
      const outcome = async (url) => {
        let sql;
        try {
          sql = openPool(url, "authflow-tls-test", 1, 5);
          const [row] = await answerWithin(sql, sql\`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()\`);
          return row?.ssl === true ? "TLS" : "plain";
        } catch (error) {
          return String(error.code ?? error.message);
        } finally {
          await sql?.end({ timeout: 1 }).catch(() => undefined);
        }
      };
      const [localhost, ip] = process.argv.slice(-2);
      console.log(JSON.stringify([await outcome(localhost + "?sslrootcert=system"), await outcome(ip + "?sslrootcert=system"), await outcome(localhost + "?sslmode=verify-ca")]));
    `;
    const base = server!.url();
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, base.replace("@127.0.0.1:", "@localhost:"), base], {
      encoding: "utf8",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: server!.files.cert },
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const [named, ip, verifyCa] = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as string[];
    expect(named).toBe("TLS");
    expect(ip).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(verifyCa).toMatch(/sslmode=verify-ca without sslrootcert=<file>/);
  }, 30_000);

  it("the service started with PGSSLMODE=verify-full and PGSSLROOTCERT (libpq's variables, DATABASE_URL without sslmode): every connection it makes is TLS — it had made them all in clear", async () => {
    const target = new URL(server!.url());
    const proc = startProcess("node", ["--import", "tsx", "src/main.node.ts"], {
      HOST: "127.0.0.1",
      PORT: "0",
      DATA_DIR: tempDir("authflow-tls-service-"),
      DATABASE_URL: `postgres://postgres@localhost:${target.port}/postgres`,
      PGSSLMODE: "verify-full",
      PGSSLROOTCERT: server!.files.cert,
      ENCRYPTION_KEY,
      API_TOKEN: "tls-test-api-token-0123456789abcdef0123",
      INSPECT: "off",
    });
    const admin = postgres(server!.url(), { max: 1, onnotice: () => undefined });
    try {
      await waitForLine(proc, /authflow listening on /, "the service over TLS", 30_000);
      const rows = await admin`SELECT a.application_name AS app, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'authflow%' ORDER BY 1`;
      expect(rows.length, "the service's connections").toBeGreaterThanOrEqual(4);
      expect(rows.filter((r) => !r.ssl).map((r) => r.app), "connections in clear").toEqual([]);
    } finally {
      killAll();
      await admin.end({ timeout: 1 });
      removeTempDirs();
    }
  }, 45_000);
});

/** A self-signed certificate of another CA than the test server's, made with openssl. */
function otherCertificate(): string {
  const dir = tempDir("authflow-other-ca-");
  const done = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "ca.pem"), "-days", "1", "-subj", "/CN=localhost"], { encoding: "utf8" });
  if (done.status !== 0) throw new Error(`openssl: ${done.stderr}`);
  return join(dir, "ca.pem");
}
