// The file-system primitives every file under DATA_DIR goes through: private modes, and writes that
// survive a power cut. node:fs only (its sync, callback and promise forms), so the same code runs
// on Node 20 and Deno 2.
//
// Why each step is there:
// - mode 0600 / 0700 on create AND a chmod after: `mode` on create only applies to new files and is
//   filtered by the umask, and a DATA_DIR written by an older version has 0644 files in 0755 folders.
// - temp file + fsync + rename: a reader (or a restart after a crash) sees the old document or the
//   new one, never half of one; without the fsync a power cut can leave the renamed file empty.
// - fsync of the folder after the rename: the rename itself is only durable once the folder's entry
//   is on disk. Some runtimes and file systems cannot open a folder for that; then it is skipped.
//
// Why the hot paths (a flow's write, an audit append) make their quick calls synchronously: each
// call of node:fs/promises is a round trip through libuv's thread pool (a futex wake, a context
// switch, an eventfd, a promise), and a write made of ~15 of them spent more CPU on the trips than on
// the calls (measured with bench/lowdb-save.ts; on these 2-core machines CPU is what bounds creates/s).
// write, fchmod, fstat, read and close of an open small file are page-cache work of microseconds,
// so they run on the main thread. What can wait on the disk or do real work in the kernel stays on
// the thread pool, one trip each: fsync and fdatasync; an open that creates a file (allocating an
// inode took ext4 here ≈140 µs on average, and far longer after many deletes: without a journal it
// skips recently freed inodes one by one); a rename that replaces a document (it frees the old
// one's blocks, which with the `discard` mount option is a TRIM). The event loop never waits for a
// disk flush or an inode search.
import { closeSync, fchmodSync, fdatasync as fdatasyncCallback, fstatSync, fsync as fsyncCallback, open as openCallback, readSync, statSync, writeSync } from "node:fs";
import { chmod, link, mkdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** A temp file of ours (or of steno's, lowdb's former writer): `.<target name>[.<random>].tmp`. */
export function isTempFileName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
}

/**
 * Creates `path` (and missing parents) as a folder only this user can enter, and makes an existing
 * one so. A folder this process does not own (a mounted volume's root, say) cannot be chmod-ed;
 * that is answered with a warning rather than a refusal to start, since every file and sub-folder
 * we create in it is private anyway.
 */
export async function ensurePrivateDir(path: string): Promise<{ warning?: string }> {
  await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    await chmod(path, PRIVATE_DIR_MODE);
    return {};
  } catch (error) {
    return { warning: `${path}: could not make the folder private (mode 0700): ${(error as Error).message}` };
  }
}

/** fsync a folder so that a rename or create in it is durable; best effort (see the top of the file). */
export function syncDirectory(dir: string): Promise<void> {
  // Group commit: one fsync of a folder makes durable every rename done in it before the fsync
  // began. Concurrent callers (16 flows created at once) share the next fsync instead of each
  // queueing its own; a caller never joins one that was already running when it called.
  let state = directorySyncs.get(dir);
  if (!state) directorySyncs.set(dir, (state = {}));
  const s = state;
  const start = (): Promise<void> => {
    const running = fsyncDirectory(dir).finally(() => {
      if (s.running === running) s.running = undefined;
    });
    s.running = running;
    return running;
  };
  if (s.next) return s.next;
  if (!s.running) return start();
  s.next = s.running.then(() => {
    s.next = undefined;
    return start();
  });
  return s.next;
}

const directorySyncs = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();

/** fsync (or fdatasync) of an open descriptor on the thread pool: the one call here that waits for the disk. */
function syncFd(fd: number, dataOnly = false): Promise<void> {
  return new Promise((resolve, reject) => (dataOnly ? fdatasyncCallback : fsyncCallback)(fd, (error) => (error ? reject(error) : resolve())));
}

const encoder = new TextEncoder();

/** open(2) on the thread pool, answering the bare descriptor (no FileHandle, no promise per later call). */
function openFd(path: string, flags: string, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => openCallback(path, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** Writes all of `text` at the descriptor's position (a short write is continued). */
function writeAll(fd: number, text: string): void {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

async function fsyncDirectory(dir: string): Promise<void> {
  try {
    await syncFd(await folderDescriptor(dir));
  } catch {
    // EISDIR/EPERM/EINVAL where folders cannot be opened or synced. Not thrown: the caller's rename
    // has happened, and reporting it as failed would make memory disagree with the disk. The
    // descriptor is let go; the next sync opens the folder afresh.
    forgetFolder(dir);
  }
}

// A folder's descriptor is kept open between its fsyncs: opening and closing it for each one was a
// second trip through the thread pool per write. Measured with bench/ab-revision.ts
// (BENCH_AB_LOAD=auth; an authorization makes six writes), two runs of eight paired rounds: −0.48 and
// −0.55 ms of CPU per authorization (medians; rounds −2.50 to +0.95), ×1.06 and ×1.04
// authorizations/s — small, and in the noise of a shared machine, but fewer calls on every write.
// What an fsync makes durable does not depend on when the folder was opened, but it must be the
// folder the rename went into: a folder removed and made again under the same path is another inode,
// so device and inode are checked (a stat of a cached path) before each use. At most MAX_FOLDERS are
// held (a test run makes hundreds of DATA_DIRs); one whose fsync is running is never closed under
// it, since syncDirectory runs one fsync per folder at a time.
const MAX_FOLDERS = 16;
const folders = new Map<string, { fd: number; dev: number; ino: number }>();

async function folderDescriptor(dir: string): Promise<number> {
  const held = folders.get(dir);
  if (held) {
    const now = statSync(dir, { throwIfNoEntry: false });
    if (now && now.dev === held.dev && now.ino === held.ino) return held.fd;
    forgetFolder(dir);
  }
  const fd = await openFd(dir, "r");
  const { dev, ino } = fstatSync(fd);
  folders.set(dir, { fd, dev, ino });
  for (const other of folders.keys()) {
    if (folders.size <= MAX_FOLDERS) break;
    if (other !== dir && !directorySyncs.get(other)?.running) forgetFolder(other);
  }
  return fd;
}

/**
 * Lets go of the kept descriptors of `root` and the folders under it, once their running fsyncs are
 * done: a stopped service must not hold its DATA_DIR open (its volume could not be unmounted).
 */
export async function releaseFolders(root: string): Promise<void> {
  const base = resolve(root);
  for (const dir of [...folders.keys()]) {
    const at = resolve(dir); // the writers name their folders as they were configured: relative or not
    if (at !== base && !at.startsWith(`${base}${sep}`)) continue;
    await directorySyncs.get(dir)?.running;
    forgetFolder(dir);
  }
}

function forgetFolder(dir: string): void {
  const held = folders.get(dir);
  if (!held) return;
  folders.delete(dir);
  closeQuietly(held.fd);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed, or the file system refuses: nothing left to do with it
  }
}

/** Writes `text` to a new private temp file beside `path` and fsyncs it; returns the temp path. */
async function writeSyncedTemp(path: string, text: string): Promise<string> {
  const temp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = await openFd(temp, "wx", PRIVATE_FILE_MODE);
    writeAll(fd, text);
    fchmodSync(fd, PRIVATE_FILE_MODE);
    await syncFd(fd);
    const done = fd;
    fd = undefined;
    closeSync(done);
    return temp;
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Replaces `path` with `text` so that a crash at any point leaves the old content or the new. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temp = await writeSyncedTemp(path, text);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Creates `path` with `text` only if nothing is there yet; false if something was. The file appears
 * whole or not at all: it is written and fsynced under a temp name, then hard-linked into place —
 * `link` refuses an existing target, like an exclusive create, but never exposes an empty file that
 * a concurrent reader could mistake for a torn one.
 */
export async function createFileExclusively(path: string, text: string): Promise<boolean> {
  const temp = await writeSyncedTemp(path, text);
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
  return true;
}

/**
 * Appends `text` to `path` (created 0600) and fdatasyncs it before resolving. If the file ends in a
 * line torn by a crash, the new text starts on a line of its own, so only the torn line is lost.
 */
export async function appendDurably(path: string, text: string): Promise<void> {
  const fd = await openFd(path, "a+", PRIVATE_FILE_MODE);
  let created = false;
  try {
    const { size } = fstatSync(fd);
    created = size === 0;
    let prefix = "";
    if (size > 0) {
      const last = new Uint8Array(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    writeAll(fd, prefix + text);
    await syncFd(fd, true);
  } finally {
    closeQuietly(fd);
  }
  if (created) await syncDirectory(dirname(path));
}

export function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}
