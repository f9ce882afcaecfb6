// One process per DATA_DIR (DESIGN §3, issue 8 point 3): two would both renew the same one-time
// refresh tokens, and two lowdb writers on one file corrupt it. A second process is refused with one
// line naming the folder and the holder; a lock left by a dead process (SIGKILL, power cut) does not
// block a restart, and there is no staleness timeout to wait out.
//
// Node has no flock, and POSIX offers no compare-and-swap on a file name: "replace the lock if it
// still names the dead holder" is always check-then-act. Rewriting one lock file (write a temp file,
// rename it over, re-read the token) lets two starters that both judged the same holder dead both
// win: A renames and re-reads its token, then B renames over A's live lock and re-reads its own. So
// the only primitive this relies on is the one that IS atomic: create-if-absent (`link` of a fully
// written temp file, which also never shows a half-written lock to a reader).
//
// The lock is a sequence of generations in DATA_DIR/authflow.lock/: `<n>.held.json` holds
// {pid, host, startedAt, token}; release renames it to `<n>.released.json`. The highest n speaks.
// To take the lock, a starter looks at the highest generation n:
//   - released, torn (unreadable JSON), or held by a dead process → create n+1 (create-if-absent);
//   - held by a live process, or by any process on another host → refused.
// Only one starter can create n+1, and the others see it and judge again. A starter that judged an
// old view and created a number another file already matches or passes (a number can be free again
// once a later winner cleaned it up) sees that in its re-read of the folder, removes its file and
// judges again. So a winner created n and then saw nothing at n or above; a later n+1 can only come
// from someone who judged n's holder — alive, the winner — dead. Nobody ever deletes the highest
// generation (winners delete only lower ones; release renames within the same number), so the
// highest number never goes down and a stale judgement cannot be re-used.
//
// "Dead": process.kill(pid, 0) answers ESRCH, or (Linux) /proc says the pid is gone, a zombie, or
// started at another moment than the lock's holder (the pid was reused, e.g. after a reboot). Deno
// signals only with --allow-run and reads /proc only with --allow-all; with neither it cannot tell,
// and says so rather than guess (guessing "dead" would let two processes in). A lock
// naming our own pid is a previous life of this process (a container restart reuses pid 1), unless
// this process holds it now. A host cannot see another host's processes, so a lock from another
// host (a shared volume) is always respected; the refusal says how to clear it by hand. Two hosts
// with the same hostname on one volume would look like one: give each instance its own DATA_DIR.
//
// node:fs, node:os and node:process only: the same on Node 20 and Deno 2.
import { readdir, readFile, rename, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { createFileExclusively, ensurePrivateDir, errorCode, isTempFileName, syncDirectory } from "./private-files.ts";

export const LOCK_DIR = "authflow.lock";
/** Rounds lost to other starters before giving up; each round ends with a winner, so a handful suffices. */
const MAX_ROUNDS = 20;

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  token: string;
  /** Linux: the holder's start time in clock ticks since boot (/proc/<pid>/stat), to tell a reused pid. */
  processStart?: string;
}

export interface DataDirLock {
  /** The lock file this process holds: DATA_DIR/authflow.lock/<n>.held.json. */
  readonly path: string;
  readonly dataDir: string;
  readonly holder: LockHolder;
  /** Gives the folder up (only if the lock file still holds our token). Idempotent. */
  release(): Promise<void>;
}

export class DataDirLockedError extends Error {
  readonly dataDir: string;
  readonly holder: LockHolder;
  readonly lockFile: string;

  constructor(dataDir: string, holder: LockHolder, lockFile: string, kind: HeldKind) {
    super(refusal(dataDir, holder, lockFile, kind));
    this.name = "DataDirLockedError";
    this.dataDir = dataDir;
    this.holder = holder;
    this.lockFile = lockFile;
  }
}

function refusal(dataDir: string, holder: LockHolder, lockFile: string, kind: HeldKind): string {
  const who = `pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt}`;
  switch (kind) {
    case "process":
      return `DATA_DIR ${dataDir} is in use by another authflow process (${who}); stop it, or give this process its own DATA_DIR`;
    case "this-process":
      return `DATA_DIR ${dataDir} is already in use by this process (${who}); give each service in it its own DATA_DIR`;
    case "other-host":
      return `DATA_DIR ${dataDir} is in use by an authflow process on another host (${who}); this host cannot tell whether it still runs: stop it, or if it is gone for good, delete ${lockFile}`;
    case "cannot-tell":
      return `DATA_DIR ${dataDir} is locked by an authflow process (${who}) and this runtime may not check whether it still runs (Deno: allow it with --allow-run); stop it, or if it is gone, delete ${lockFile}`;
  }
}

/** Lock folder → token of the lock this process holds there, so a second acquire in-process is refused. */
const heldHere = new Map<string, string>();

type Generation = { n: number; released: boolean; name: string };

async function generations(lockDir: string): Promise<Generation[]> {
  const found: Generation[] = [];
  for (const name of await readdir(lockDir)) {
    const match = /^(\d{1,15})\.(held|released)\.json$/.exec(name);
    if (match) found.push({ n: Number(match[1]), released: match[2] === "released", name });
  }
  return found;
}

/** The holder named in a lock file; null if it is torn; "gone" if it vanished while we looked. */
async function readHolder(path: string): Promise<LockHolder | null | "gone"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return "gone";
    throw error;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    const ok = Number.isSafeInteger(h.pid) && h.pid > 0 && typeof h.host === "string" && typeof h.token === "string" && typeof h.startedAt === "string";
    return ok ? h : null;
  } catch {
    return null;
  }
}

type ProcStat = { state: string; start: string } | "absent" | "unknown";

/** Linux: the process's state letter and start time (clock ticks since boot) from /proc; "unknown" where /proc cannot be read. */
async function procStat(pid: number): Promise<ProcStat> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0]!, start: fields[19]! }; // fields 3 and 22 of proc(5)
  } catch (error) {
    // No entry for the pid while our own is readable: /proc is there and the process is not.
    if (errorCode(error) === "ENOENT" && pid !== process.pid && typeof (await procStat(process.pid)) === "object") return "absent";
    return "unknown"; // not Linux, or a runtime that may not read /proc (Deno without --allow-all)
  }
}

/** Whether the lock's holder still runs; "unknown" where this runtime may neither signal nor read /proc. */
async function isAlive(holder: LockHolder): Promise<boolean | "unknown"> {
  let signalled: boolean | "unknown";
  try {
    process.kill(holder.pid, 0);
    signalled = true;
  } catch (error) {
    const code = errorCode(error);
    // ESRCH: no such process. EPERM: alive, another user's. Anything else (Deno without --allow-run): no answer.
    signalled = code === "ESRCH" ? false : code === "EPERM" ? true : "unknown";
  }
  if (signalled === false) return false;
  const stat = await procStat(holder.pid);
  if (stat === "absent") return false;
  if (stat === "unknown") return signalled;
  if (stat.state === "Z" || stat.state === "X") return false; // killed, not yet reaped by its parent
  return holder.processStart === undefined || holder.processStart === stat.start; // else: the pid was reused
}

type HeldKind = "process" | "this-process" | "other-host" | "cannot-tell";
type Verdict = { free: true } | { free: false; holder: LockHolder; file: string; kind: HeldKind } | "look-again";

/** Whether the highest generation still holds the folder. */
async function judge(lockDir: string, top: Generation[]): Promise<Verdict> {
  // A release at this number ends the generation; a `held` file beside it is a late starter's, who will see the release and back off.
  if (top.length === 0 || top.some((g) => g.released)) return { free: true };
  const file = join(lockDir, top[0]!.name);
  const holder = await readHolder(file);
  if (holder === "gone") return "look-again";
  if (holder === null) return { free: true }; // torn: only a power cut or a hand edit leaves one
  if (heldHere.get(lockDir) === holder.token) return { free: false, holder, file, kind: "this-process" };
  if (holder.host !== hostname()) return { free: false, holder, file, kind: "other-host" };
  if (holder.pid === process.pid) return { free: true }; // a previous life of this pid
  const alive = await isAlive(holder);
  if (alive === "unknown") return { free: false, holder, file, kind: "cannot-tell" };
  return alive ? { free: false, holder, file, kind: "process" } : { free: true };
}

export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const root = resolve(dataDir);
  await ensurePrivateDir(root);
  const lockDir = join(root, LOCK_DIR);
  await ensurePrivateDir(lockDir);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    token: crypto.randomUUID(),
    ...(await procStat(process.pid).then((s) => (typeof s === "object" ? { processStart: s.start } : {}))),
  };

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const before = await generations(lockDir);
    const highest = Math.max(0, ...before.map((g) => g.n));
    const verdict = await judge(lockDir, before.filter((g) => g.n === highest));
    if (verdict === "look-again") continue;
    if (!verdict.free) throw new DataDirLockedError(root, verdict.holder, verdict.file, verdict.kind);

    const name = `${highest + 1}.held.json`;
    const path = join(lockDir, name);
    try {
      if (!(await createFileExclusively(path, JSON.stringify(me) + "\n"))) continue; // another starter took this number
    } catch (error) {
      if (errorCode(error) === "ENOENT") continue; // a winner cleaned up our temp file under us
      throw error;
    }
    const after = await generations(lockDir);
    if (after.some((g) => g.n >= highest + 1 && g.name !== name)) {
      await unlink(path).catch(() => undefined); // we judged an old view; someone is at or past us
      continue;
    }
    // Ours. Earlier generations and stray temp files are history now; a racer whose temp file
    // goes meets ENOENT above and looks again.
    for (const entry of await readdir(lockDir)) {
      const g = after.find((a) => a.name === entry);
      if ((g && g.n < highest + 1) || isTempFileName(entry)) await unlink(join(lockDir, entry)).catch(() => undefined);
    }
    heldHere.set(lockDir, me.token);
    return new HeldLock(root, lockDir, path, me);
  }
  throw new Error(`DATA_DIR ${root}: could not take ${lockDir} (${MAX_ROUNDS} rounds lost to other starting processes); try again`);
}

class HeldLock implements DataDirLock {
  readonly dataDir: string;
  readonly path: string;
  readonly holder: LockHolder;
  #lockDir: string;
  #released = false;

  constructor(dataDir: string, lockDir: string, path: string, holder: LockHolder) {
    this.dataDir = dataDir;
    this.#lockDir = lockDir;
    this.path = path;
    this.holder = holder;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (heldHere.get(this.#lockDir) === this.holder.token) heldHere.delete(this.#lockDir);
    const onDisk = await readHolder(this.path);
    // Not ours any more (removed or replaced by hand): leave whatever is there alone.
    if (typeof onDisk !== "object" || onDisk === null || onDisk.token !== this.holder.token) return;
    // Renamed, not deleted: the highest generation number must never go away (see the top of the file).
    await rename(this.path, this.path.replace(/\.held\.json$/, ".released.json"));
    await syncDirectory(this.#lockDir);
  }
}
