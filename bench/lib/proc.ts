// Child processes of the bench: each in its own process group (detached), its output in a log file,
// stopped by signalling the whole group (SIGTERM, then SIGKILL) — `deno task` and tsx start
// grandchildren, and a stopped leader must not leave them behind. Every group still alive when the
// bench exits (normally, on an error, or on SIGINT/SIGTERM) is SIGKILLed.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  logPath: string;
  /** Resolves with the exit code (or the signal's name) when the leader has exited. */
  exited: Promise<number | string>;
  /** The log's last lines, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Proc>();

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone
  }
}

/** Variables the service, the simulator or the bench read: never inherited, each run sets its own. */
const OWN_VARIABLES =
  /^(PORT|HOST|PUBLIC_URL|DATA_DIR|API_TOKEN|ENCRYPTION_KEY|DATABASE_URL|IDPORTEN_.*|ALTINN_.*|SIMULATOR_.*|AUTHORIZATION_.*|LOGIN_.*|OUTBOUND_.*|EXCHANGE_MODE|SIMULATED_CLOCK|INSPECT.*|BENCH_.*|NODE_OPTIONS)$/;

export function childEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !OWN_VARIABLES.test(k)) base[k] = v;
  return { ...base, ...env };
}

export function startProcess(name: string, command: string, args: string[], options: { env: Record<string, string>; logPath: string; cwd?: string }): Proc {
  const fd = openSync(options.logPath, "a", 0o600);
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: childEnv(options.env), detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "?")));
  const proc: Proc = {
    name,
    pid,
    child,
    logPath: options.logPath,
    exited,
    tail(lines = 15) {
      try {
        return readFileSync(options.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    },
    async stop(graceMs = 5000) {
      killGroup(pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      killGroup(pid, "SIGKILL"); // whatever of the group is left (a grandchild)
      await exited;
      live.delete(proc);
    },
  };
  // Kept in `live` until stop(): a leader that exited may leave its group behind.
  live.add(proc);
  return proc;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(2000)));
}

function killAllNow() {
  for (const p of live) killGroup(p.pid, "SIGKILL");
  live.clear();
}

process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

/** A port free on 127.0.0.1 at this moment (the kernel's choice): the tests' own helper. */
export { freePort } from "../../test/support/free-port.ts";

/** Polls `url` until it answers 200; rejects when the process exits first or `timeoutMs` passes. */
export async function waitFor200(url: string, proc: Proc, timeoutMs = 60_000, intervalMs = 10): Promise<void> {
  let gone: number | string | undefined;
  void proc.exited.then((code) => (gone = code));
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (gone !== undefined) throw new Error(`${proc.name} exited (${gone}) before ${url} answered:\n${proc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${proc.name}: ${url} did not answer 200 within ${timeoutMs} ms:\n${proc.tail()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** VmRSS of a process, in MB (from /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by every live process of a process group, from /proc/<pid>/stat. */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue; // field 5: pgrp
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14, 15: utime, stime
  }
  return ticks / TICKS_PER_SECOND;
}
