// A PostgreSQL server of the test's own, made from the machine's PostgreSQL binaries (initdb into a
// temp folder), for what the machine's server cannot be changed to do for one test: here, TLS. A
// self-signed certificate for `localhost` is made with the machine's openssl. As root, the server
// runs as `nobody` (PostgreSQL refuses root). stop() ends it and removes the folder.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { freePort } from "./free-port.ts";

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres, with `query` appended (e.g. "sslmode=require"). */
  url(query?: string): string;
  /** The server's key and self-signed certificate (for `localhost`), when made with TLS. */
  files: { key: string; cert: string };
  stop(): Promise<void>;
}

/** The newest PostgreSQL bin folder under /usr/lib/postgresql, or a reason there is none. */
export function postgresBinaries(): { bin: string } | { reason: string } {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) return { reason: `no PostgreSQL binaries under ${root} (initdb)` };
  if (spawnSync("openssl", ["version"]).status !== 0) return { reason: "no openssl to make a certificate with" };
  return { bin: join(root, versions[0]!, "bin") };
}

export async function startPrivatePostgres(bin: string, { ssl }: { ssl: boolean }): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), "authflow-private-pg-"));
  const asRoot = process.getuid?.() === 0;
  const as: SpawnSyncOptions = asRoot ? { uid: 65534, gid: 65534 } : {};
  if (asRoot) chownSync(root, 65534, 65534);
  const data = join(root, "data");
  const run = (command: string, args: string[], options: SpawnSyncOptions = {}) => {
    const done = spawnSync(command, args, { encoding: "utf8", ...options });
    if (done.status !== 0) throw new Error(`${command} ${args.join(" ")}: exit ${done.status}\n${done.stderr}`);
  };
  run(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], as);
  if (ssl) {
    run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(data, "server.key"), "-out", join(data, "server.crt"), "-days", "1", "-subj", "/CN=localhost"]);
    for (const file of ["server.key", "server.crt"]) {
      if (asRoot) chownSync(join(data, file), 65534, 65534);
      chmodSync(join(data, file), 0o600);
    }
  }
  const port = await freePort();
  const args = ["-D", data, "-p", String(port), "-k", root, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", `ssl=${ssl ? "on" : "off"}`];
  const child: ChildProcess = spawn(join(bin, "postgres"), args, { detached: true, stdio: "ignore", ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = (query = "") => `postgres://postgres@127.0.0.1:${port}/postgres${query ? `?${query}` : ""}`;
  const stop = async () => {
    try {
      process.kill(-child.pid!, "SIGINT"); // fast shutdown, the whole group
    } catch {
      // gone already
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    rmSync(root, { recursive: true, force: true });
  };
  // Up once it answers.
  for (let attempt = 0; ; attempt++) {
    const sql = postgres(url(), { max: 1, connect_timeout: 2, onnotice: () => undefined });
    const answered = await sql`SELECT 1`.then(() => true, () => false);
    await sql.end({ timeout: 1 }).catch(() => undefined);
    if (answered) break;
    if (attempt >= 50 || child.exitCode !== null) {
      await stop();
      throw new Error(`the private PostgreSQL did not start (exit ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, files: { key: join(data, "server.key"), cert: join(data, "server.crt") }, stop };
}
