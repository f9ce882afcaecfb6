// Real server processes for lifecycle tests. Each is spawned detached, so it leads its own process
// group (pgid = its pid) and everything it starts stays in that group: the test can see exactly
// which processes are left, and `killAll()` in afterEach leaves nothing running whatever happened.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

const ROOT = new URL("../..", import.meta.url).pathname;
const started: ServerProcess[] = [];

export interface ServerProcess {
  child: ChildProcess;
  pgid: number;
  output(): { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProcess(command: string, args: string[], env: Record<string, string>): ServerProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const proc = { child, pgid: child.pid!, output: () => ({ stdout, stderr }), exited };
  started.push(proc);
  return proc;
}

/** afterEach: SIGKILL every group a test started (a no-op for groups already gone). */
export function killAll(): void {
  for (const proc of started.splice(0)) {
    try {
      process.kill(-proc.pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Live processes of a group: pid, parent and command line (zombies hold nothing and are left out). */
export function groupMembers(pgid: number): { pid: number; ppid: number; cmd: string }[] {
  const members: { pid: number; ppid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ")".
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) !== pgid || state === "Z") continue;
      members.push({ pid: Number(entry), ppid: Number(ppid), cmd: readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim() });
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

/** Polls until `check` is true; returns how long it took, or throws with `describe()` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitForHealthy(baseUrl: string, proc: ServerProcess, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`the server exited with ${proc.child.exitCode}: ${JSON.stringify(proc.output())}`);
      return fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    },
    timeoutMs,
    () => `the server did not answer /healthz: ${JSON.stringify(proc.output())}`,
  );
}

/** True when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** Holds a port the way another program would, until closed. */
export function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
