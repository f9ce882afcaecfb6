// A full disk where the soak can make one: DATA_DIR on a small tmpfs (root and a working mount
// only), filled now and then by a file beside DATA_DIR (on the same file system, outside the
// server's folder) and freed again. Always unmounted at the end.
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export class Disk {
  readonly filler: string;
  mounted = false;

  private constructor(
    readonly mountPoint: string,
    readonly dataDir: string,
    readonly sizeBytes: number,
  ) {
    this.filler = join(mountPoint, "soak-filler");
  }

  /** Mounts a tmpfs at `mountPoint`; undefined (with why) when it cannot. */
  static mount(mountPoint: string, sizeMb: number): { disk?: Disk; why?: string } {
    if (process.getuid?.() !== 0) return { why: "not running as root" };
    mkdirSync(mountPoint, { recursive: true });
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "soak-tmpfs", mountPoint], { stdio: "pipe", timeout: 10_000 });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
      return { why: `mount -t tmpfs failed: ${stderr.split("\n")[0]}` };
    }
    const disk = new Disk(mountPoint, join(mountPoint, "data"), sizeMb * 1024 * 1024);
    disk.mounted = true;
    mkdirSync(disk.dataDir, { mode: 0o700 });
    return { disk };
  }

  /** Our tmpfs is (still) mounted where we put it: never fill any other file system. */
  isOurTmpfs(): boolean {
    try {
      return readFileSync("/proc/mounts", "utf8")
        .split("\n")
        .some((line) => {
          const [source, target, type] = line.split(" ");
          return source === "soak-tmpfs" && target === this.mountPoint && type === "tmpfs";
        });
    } catch {
      return false;
    }
  }

  /**
   * Writes until the file system says ENOSPC; returns the bytes written. Only on our own tmpfs, and
   * never more than its size: a filler that lands anywhere else must not fill a real disk.
   */
  fill(): number {
    if (!this.mounted || !this.isOurTmpfs()) throw new Error(`soak: ${this.mountPoint} is not the soak's tmpfs any more; not filling it`);
    let written = 0;
    const fd = openSync(this.filler, "w");
    try {
      for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
        const chunk = Buffer.alloc(size, 0x5a);
        for (;;) {
          if (written + size > this.sizeBytes) break;
          try {
            written += writeSync(fd, chunk);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
            throw error;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return written;
  }

  free(): void {
    try {
      unlinkSync(this.filler);
    } catch {
      // not there
    }
  }

  /** Unmounts (lazily if something still holds it), and removes the mount point. */
  unmount(): string | undefined {
    if (!this.mounted) return undefined;
    this.free();
    let why = "";
    for (const args of [[this.mountPoint], ["-l", this.mountPoint]]) {
      try {
        execFileSync("umount", args, { stdio: "pipe", timeout: 10_000 });
        this.mounted = false;
        rmSync(this.mountPoint, { recursive: true, force: true });
        return undefined;
      } catch (error) {
        why = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
      }
    }
    return `umount ${this.mountPoint} failed: ${why}`;
  }
}
