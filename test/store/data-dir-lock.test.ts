// One process per DATA_DIR, against real lock files and real second processes (Node, and Deno
// where it is installed). Every child is killed with its whole process group after each test.
import { execFileSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireDataDirLock, DataDirLockedError, LOCK_DIR, type DataDirLock } from "../../src/store/data-dir-lock.ts";
import { ensurePrivateDir } from "../../src/store/private-files.ts";
import { deadPid, killAllChildren, lockChild, modeOf, removeDir, tempDir } from "./helpers.ts";

let dir: string;
const held: DataDirLock[] = [];
beforeEach(async () => void (dir = await tempDir("lock")));
afterEach(async () => {
  await killAllChildren();
  await Promise.all(held.splice(0).map((l) => l.release()));
  await removeDir(dir);
});

async function acquire(): Promise<DataDirLock> {
  const lock = await acquireDataDirLock(dir);
  held.push(lock);
  return lock;
}

async function refusal(): Promise<DataDirLockedError> {
  const error = await acquire().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataDirLockedError);
  return error as DataDirLockedError;
}

/** A lock file as a holder that is not this test would have left it. */
async function leaveLockFile(generation: number, content: string): Promise<string> {
  await ensurePrivateDir(join(dir, LOCK_DIR));
  const path = join(dir, LOCK_DIR, `${generation}.held.json`);
  await writeFile(path, content);
  return path;
}

const holder = (fields: Record<string, unknown>) => JSON.stringify({ host: hostname(), startedAt: "2026-01-01T00:00:00.000Z", token: "theirs", ...fields });
function has(command: string): boolean {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const lockFiles = async () => (await readdir(join(dir, LOCK_DIR))).sort();

describe("DATA_DIR lock", () => {
  it("refuses a second process with one line naming the folder and the holder; after the holder is SIGKILLed, a start takes it at once; release gives it up", async () => {
    const other = lockChild(dir);
    const attempt = await other.attempt;
    expect(attempt.won).toBe(true);

    const error = await refusal();
    expect(error.message).not.toContain("\n");
    expect(error.message).toContain(`DATA_DIR ${dir} is in use by another authflow process (pid ${other.pid} on host ${hostname()}, since `);
    expect(error.message).toContain("stop it, or give this process its own DATA_DIR");
    expect(error.holder.pid).toBe(other.pid);

    await other.kill();
    const started = Date.now();
    const lock = await acquire();
    expect(Date.now() - started).toBeLessThan(1000); // no staleness timeout to wait out
    expect(lock.holder.pid).toBe(process.pid);
    expect(JSON.parse(await readFile(lock.path, "utf8")).token).toBe(lock.holder.token);
    expect(await modeOf(lock.path)).toBe(0o600);
    expect(await modeOf(join(dir, LOCK_DIR))).toBe(0o700);
    expect(await modeOf(dir)).toBe(0o700);

    await lock.release();
    expect((await lockFiles()).filter((n) => n.endsWith(".held.json"))).toEqual([]);
    // …and another process may now take it.
    expect((await lockChild(dir).attempt).won).toBe(true);
  });

  it("takes over a lock file naming its own pid (a container restart reuses pids), unless it holds that lock itself", async () => {
    const stale = await leaveLockFile(1, holder({ pid: process.pid }));
    const lock = await acquire();
    expect(lock.path).not.toBe(stale);
    expect(await lockFiles()).toEqual(["2.held.json"]);

    const again = await refusal();
    expect(again.message).toContain("is already in use by this process");
    await lock.release();
    await acquire(); // released: free again for this process too
  });

  it("takes over a torn lock file", async () => {
    await leaveLockFile(1, '{"pid": 4');
    const lock = await acquire();
    expect(lock.path).toBe(join(dir, LOCK_DIR, "2.held.json"));
    expect(await lockFiles()).toEqual(["2.held.json"]);
  });

  it("takes over the lock of a process that has exited", async () => {
    await leaveLockFile(7, holder({ pid: await deadPid() }));
    expect((await acquire()).path).toBe(join(dir, LOCK_DIR, "8.held.json"));
  });

  it.skipIf(process.platform !== "linux")("takes over when the pid is alive but is another process than the holder (pid reused)", async () => {
    const other = lockChild(join(dir, "elsewhere")); // just a live process with a known pid
    await other.attempt;
    await leaveLockFile(1, holder({ pid: other.pid, processStart: "1" }));
    await acquire();
  });

  it("respects a lock from another host (a shared volume), saying how to clear it", async () => {
    const file = await leaveLockFile(3, holder({ pid: 4242, host: "some-other-host" }));
    const error = await refusal();
    expect(error.message).toBe(
      `DATA_DIR ${dir} is in use by an authflow process on another host (pid 4242 on host some-other-host, since 2026-01-01T00:00:00.000Z); this host cannot tell whether it still runs: stop it, or if it is gone for good, delete ${file}`,
    );
  });

  it("release leaves a lock file alone that no longer holds its token", async () => {
    const lock = await acquire();
    await writeFile(lock.path, holder({ pid: 1 }));
    await lock.release();
    expect(await lockFiles()).toEqual([lock.path.split("/").pop()]);
  });

  it("of several processes starting at the same moment over a dead holder's lock, exactly one wins; the others name it", async () => {
    for (let round = 0; round < 3; round++) {
      await leaveLockFile(1, holder({ pid: await deadPid() }));
      const racers = Array.from({ length: 8 }, () => lockChild(dir, { onGo: true }));
      await Promise.all(racers.map((r) => r.ready));
      for (const r of racers) r.go();
      const attempts = await Promise.all(racers.map((r) => r.attempt));
      const winners = attempts.filter((a) => a.won);
      expect(winners).toHaveLength(1);
      for (const a of attempts) if (!a.won) expect(a.error).toContain(`pid ${winners[0]!.pid} on host`);
      expect((await lockFiles()).filter((n) => n.endsWith(".held.json"))).toHaveLength(1);
      await killAllChildren();
      await removeDir(join(dir, LOCK_DIR));
    }
  }, 30_000);

  it.skipIf(process.platform !== "linux" || !has("python3"))("takes over from a killed holder its parent has not reaped yet (a zombie still answers kill(pid, 0))", async () => {
    const parent = lockChild(dir, { unreapingParent: true });
    const attempt = await parent.attempt;
    expect(attempt.won).toBe(true);
    process.kill(attempt.pid, "SIGKILL");
    while (!(await readFile(`/proc/${attempt.pid}/stat`, "utf8")).includes(") Z ")) await new Promise((r) => setTimeout(r, 10));
    expect(() => process.kill(attempt.pid, 0)).not.toThrow(); // the pid is still there…
    await acquire(); // …but its process is dead
    await parent.kill(); // the parent reaps it first: no zombie is left behind
  });

  it.skipIf(!has("deno"))("works the same with the holder under Deno", async () => {
    const other = lockChild(dir, { runtime: "deno" });
    expect((await other.attempt).won).toBe(true);
    expect((await refusal()).message).toContain(`(pid ${other.pid} on host`);
    await other.kill();
    await acquire();
    const second = lockChild(dir, { runtime: "deno" });
    const refused = await second.attempt;
    expect(refused.won).toBe(false);
    expect(!refused.won && refused.error).toContain(`(pid ${process.pid} on host`);
  });
});
