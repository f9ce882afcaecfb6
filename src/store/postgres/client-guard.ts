// The PostgreSQL stores rely on postgres.js 3.4.9 being guarded against a connection that closes
// under a transaction (scripts/patch-postgres.mjs, run by npm's postinstall: without it such a close
// ends the process from a setImmediate — see the script). An install made with `--ignore-scripts`,
// common in hardened image builds, leaves the client unguarded and would run until the first
// failover took it down. So the first pool refuses to open on an unguarded client, in words that say
// how to mend it; every module's pool opens through connect.ts, so none can miss it.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The mark scripts/patch-postgres.mjs writes with its guards (all or none: it writes a file once, whole). */
export const GUARD_MARK = "/* authflow: guarded against a closed socket (scripts/patch-postgres.mjs) */";

/** Start-up failure with words for a person (lifecycle/startup-failure.ts: exit 2, the setup is wrong). */
export class UnguardedPostgresClientError extends Error {
  override name = "UnguardedPostgresClientError";
}

/** The two builds of postgres.js this process may load: the ES module one (import) and the CommonJS one (require). */
export function postgresClientFiles(): string[] {
  // "postgres" resolves to cjs/src/index.js under require; its package root is two folders up.
  const root = join(dirname(createRequire(import.meta.url).resolve("postgres")), "..", "..");
  return ["src/connection.js", "cjs/src/connection.js"].map((file) => join(root, file));
}

/** Throws unless every build of postgres.js that is there carries the guards. */
export function assertPostgresClientGuarded(files: readonly string[] = postgresClientFiles(), read = (file: string) => readFileSync(file, "utf8")): void {
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0) throw new UnguardedPostgresClientError(`postgres.js is not where it should be (${files.join(", ")}); run npm install`);
  const unguarded = present.filter((file) => !read(file).includes(GUARD_MARK));
  if (unguarded.length === 0) return;
  throw new UnguardedPostgresClientError(
    `the PostgreSQL client in ${unguarded.join(" and ")} is not guarded against a connection closing under a transaction ` +
      "(an uncaught error would end the process at the first failover): npm runs scripts/patch-postgres.mjs after install, " +
      "and this install skipped it (--ignore-scripts?). Run `node scripts/patch-postgres.mjs` once, then start again",
  );
}

let checked = false;

/** The check, made once per process (it reads two files). */
export function ensurePostgresClientGuarded(): void {
  if (checked) return;
  assertPostgresClientGuarded();
  checked = true;
}
