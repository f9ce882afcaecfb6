// The PostgreSQL stores open only on a guarded postgres.js (src/store/postgres/client-guard.ts): an
// install that skipped npm's postinstall (`--ignore-scripts`) is refused at start-up in words, not
// found out at the first failover, when the unguarded client would end the process.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assertPostgresClientGuarded, GUARD_MARK, postgresClientFiles, UnguardedPostgresClientError } from "../../src/store/postgres/client-guard.ts";
import { describeStartupFailure } from "../../src/lifecycle/startup-failure.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "authflow-guard-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("the postgres.js guard is checked before any pool opens", () => {
  it("the installed client carries the guards in both builds (npm's postinstall ran), with the mark the script writes", () => {
    const files = postgresClientFiles();
    expect(files.map((f) => f.slice(f.indexOf("node_modules")))).toEqual(["node_modules/postgres/src/connection.js", "node_modules/postgres/cjs/src/connection.js"]);
    expect(() => assertPostgresClientGuarded()).not.toThrow();
    const script = readFileSync(join(ROOT, "scripts/patch-postgres.mjs"), "utf8");
    expect(script).toContain(`const MARK = ${JSON.stringify(GUARD_MARK)};`);
  });

  it("a build without the guards is refused, naming the file and how to mend it; a missing client is refused too", () => {
    const dir = scratch();
    const guarded = join(dir, "guarded.js");
    const plain = join(dir, "plain.js");
    writeFileSync(guarded, `function execute(q) {\n    ${GUARD_MARK}\n}\n`);
    writeFileSync(plain, "function execute(q) {\n}\n");
    expect(() => assertPostgresClientGuarded([guarded, join(dir, "absent.js")])).not.toThrow();
    let refused: unknown;
    try {
      assertPostgresClientGuarded([guarded, plain]);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(UnguardedPostgresClientError);
    expect((refused as Error).message).toContain(plain);
    expect((refused as Error).message).not.toContain(guarded);
    expect((refused as Error).message).toContain("node scripts/patch-postgres.mjs");
    expect(describeStartupFailure(refused).exitCode).toBe(2); // the setup must change: a restart fails the same way
    expect(() => assertPostgresClientGuarded([join(dir, "absent.js")])).toThrow(/not where it should be.*npm install/);
  });

  it("the service on DATABASE_URL with an unguarded client exits 2 with one line saying what to run, before it connects", async () => {
    // A copy of the project whose node_modules holds an unguarded postgres.js (the mark taken out:
    // the check goes by it) and links to every other installed package.
    const project = scratch();
    cpSync(join(ROOT, "src"), join(project, "src"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(project, "package.json"));
    mkdirSync(join(project, "node_modules"));
    for (const entry of readdirSync(join(ROOT, "node_modules"))) {
      if (entry !== "postgres") symlinkSync(join(ROOT, "node_modules", entry), join(project, "node_modules", entry));
    }
    cpSync(join(ROOT, "node_modules/postgres"), join(project, "node_modules/postgres"), { recursive: true, dereference: true });
    const connection = join(project, "node_modules/postgres/src/connection.js");
    writeFileSync(connection, readFileSync(connection, "utf8").replace(GUARD_MARK, ""));

    const child = spawn("node", ["--import", "tsx", "src/main.node.ts"], {
      cwd: project,
      detached: true,
      // Port 1 answers nothing: were the check skipped, start-up would fail on the database instead (exit 1).
      env: { ...process.env, NO_COLOR: "1", PORT: "0", DATA_DIR: join(project, "data"), DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", DATABASE_TIMEOUT_SECONDS: "2", ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"), API_TOKEN: "guard-test-api-token-0123456789abcdef" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanup.push(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(stderr).toContain("is not guarded against a connection closing under a transaction");
    expect(stderr).toContain(connection);
    expect(stderr).toContain("Run `node scripts/patch-postgres.mjs` once, then start again");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(code).toBe(2);
  }, 30_000);
});
