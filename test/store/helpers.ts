// Real temp folders and real child processes for the store tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `authflow-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

export type LockAttempt = { won: true; pid: number; path: string } | { won: false; pid: number; error: string };

export interface LockChild {
  child: ChildProcess;
  pid: number;
  /** What the child said: took the lock, or was refused. */
  attempt: Promise<LockAttempt>;
  /** With `onGo`: resolves once the child is loaded and waits for go(). */
  ready: Promise<void>;
  go(): void;
  /** SIGKILL the child's whole process group and wait until it has been reaped. */
  kill(): Promise<void>;
}

const FIXTURE = new URL("./fixtures/take-lock.ts", import.meta.url).pathname;
const UNREAPING_PARENT = new URL("./fixtures/unreaping-parent.py", import.meta.url).pathname;
const running = new Set<LockChild>();

/** Starts a process that tries to take the lock on `dataDir` (Node by default, or Deno). */
export function lockChild(
  dataDir: string,
  { runtime = "node", onGo = false, unreapingParent = false }: { runtime?: "node" | "deno"; onGo?: boolean; unreapingParent?: boolean } = {},
): LockChild {
  const script = [FIXTURE, dataDir, ...(onGo ? ["--on-go"] : [])];
  let [command, args] = runtime === "node" ? ["node", ["--import", "tsx", ...script]] : ["deno", ["run", "-A", ...script]];
  // The lock holder is then the parent's child: its pid is the one it reports, not child.pid.
  if (unreapingParent) [command, args] = ["python3", [UNREAPING_PARENT, command as string, ...(args as string[])]];
  // detached: its own process group, so a kill reaches everything it started, and nothing of it outlives the test
  const child = spawn(command, args as string[], { detached: true, stdio: ["pipe", "pipe", "inherit"], cwd: new URL("../..", import.meta.url).pathname });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const attempt = new Promise<LockAttempt>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      for (let end = out.indexOf("\n"); end >= 0; end = out.indexOf("\n")) {
        const said = JSON.parse(out.slice(0, end)) as LockAttempt | { ready: true };
        out = out.slice(end + 1);
        if ("ready" in said) ready();
        else resolve(said);
      }
    });
    child.once("exit", (code, signal) => reject(new Error(`${command} exited (${code ?? signal}) before it said anything`)));
  });
  const handle: LockChild = {
    child,
    pid: child.pid!,
    attempt,
    ready: readyPromise,
    go: () => void child.stdin!.write("go\n"),
    async kill() {
      // An unreaping parent is asked to reap first: killed before that, it would orphan a zombie.
      if (unreapingParent && child.exitCode === null && child.signalCode === null) {
        child.stdin!.write("reap\n");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      }
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      await exited;
      running.delete(handle);
    },
  };
  running.add(handle);
  return handle;
}

/** For afterEach: no child of a test outlives it. */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...running].map((c) => c.kill()));
}

/** The pid of a process that has just exited: a holder that died without releasing. */
export async function deadPid(): Promise<number> {
  const child = spawn("node", ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}
