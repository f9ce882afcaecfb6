// The real server as a child process: `node --import tsx src/main.node.ts`, spawned detached so it
// leads its own process group (tsx's esbuild helper included), its stdout and stderr appended to
// files that outlive every restart (the secret scan reads them at the end). Killed as a group.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { delay, sleep } from "./util.ts";

export interface ServerFiles {
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  /** Set when the soak itself stops it; any other exit is the server dying on its own. */
  expected: boolean;
  pgid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrOffset: number;
}

export class StartFailed extends Error {}

export class ServerProcess {
  /** Every process group ever started, checked for leftovers at the end. */
  readonly pgids: number[] = [];
  #running: Running | undefined;
  /** Called when the server exits without the soak stopping it (with its exit and last words). */
  onUnexpectedExit: ((how: string) => void) | undefined;

  constructor(
    readonly root: string,
    readonly env: Record<string, string>,
    readonly files: ServerFiles,
    readonly baseUrl: string,
  ) {}

  get pid(): number | undefined {
    return this.#running?.pgid;
  }

  /** Starts the server and waits for /healthz; throws StartFailed (with its last words) when it exits or never answers. */
  async start(timeoutMs = 30_000): Promise<number> {
    if (this.#running) throw new Error("soak: the server is already running");
    const started = Date.now();
    const stderrOffset = sizeOf(this.files.stderr);
    const out = openSync(this.files.stdout, "a");
    const err = openSync(this.files.stderr, "a");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ["--import", "tsx", "src/main.node.ts"], { cwd: this.root, env: this.env, detached: true, stdio: ["ignore", out, err] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    child.once("error", () => undefined);
    const running: Running = { child, pgid: child.pid!, exited, stderrOffset, expected: false };
    this.#running = running;
    this.pgids.push(child.pid!);
    let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let ready = false;
    void exited.then((how) => {
      gone = how;
      if (!ready || running.expected) return;
      if (this.#running === running) this.#running = undefined;
      signalGroup(running.pgid, "SIGKILL"); // what is left of its group (tsx's esbuild)
      const stdoutTail = readTail(this.files.stdout, 3);
      this.onUnexpectedExit?.(`exit ${how.code ?? how.signal}; stderr: ${this.stderrSince(stderrOffset).trim().split("\n").slice(-3).join(" | ") || "(none)"}; last stdout: ${stdoutTail}`);
    });
    while (Date.now() - started < timeoutMs) {
      if (gone) {
        this.#running = undefined;
        throw new StartFailed(`the server exited at start-up (${gone.code ?? gone.signal}): ${this.stderrSince(stderrOffset).trim().split("\n").slice(-3).join(" | ") || "(no output on stderr)"}`);
      }
      const healthy = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (healthy) {
        ready = true;
        return Date.now() - started;
      }
      await sleep(100);
    }
    await this.kill();
    throw new StartFailed(`the server did not answer /healthz within ${timeoutMs} ms: ${this.stderrSince(stderrOffset).trim().split("\n").slice(-3).join(" | ")}`);
  }

  /** SIGKILL to the whole group; resolves when the server is gone. */
  async kill(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    running.expected = true;
    this.#running = undefined;
    signalGroup(running.pgid, "SIGKILL");
    await Promise.race([running.exited, delay(5000)]);
  }

  /** SIGTERM to the group, as a supervisor stops it; SIGKILL after `timeoutMs`. */
  async terminate(timeoutMs: number): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null; forced: boolean } | undefined> {
    const running = this.#running;
    if (!running) return undefined;
    const started = Date.now();
    running.expected = true;
    signalGroup(running.pgid, "SIGTERM");
    const result = await Promise.race([running.exited, delay(timeoutMs).then(() => undefined)]);
    if (result) {
      this.#running = undefined;
      // The leader is gone; anything else of its group (esbuild) goes with it now.
      signalGroup(running.pgid, "SIGKILL");
      return { ms: Date.now() - started, ...result, forced: false };
    }
    await this.kill();
    return { ms: Date.now() - started, code: null, signal: "SIGKILL", forced: true };
  }

  stderrSince(offset: number): string {
    try {
      return readFileSync(this.files.stderr).subarray(offset).toString("utf8");
    } catch {
      return "";
    }
  }

  /** Processes still alive in any group the soak started (none may be left). */
  leftovers(): { pid: number; pgid: number; cmd: string }[] {
    const pgids = new Set(this.pgids);
    const left: { pid: number; pgid: number; cmd: string }[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (!pgids.has(Number(pgrp)) || state === "Z") continue;
        left.push({ pid: Number(entry), pgid: Number(pgrp), cmd: readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 120) });
      } catch {
        // gone while we looked
      }
    }
    return left;
  }

  /** Last resort (exit handler, Ctrl-C): every group the soak started gets SIGKILL, synchronously. */
  killAllSync(): void {
    if (this.#running) this.#running.expected = true;
    for (const pgid of this.pgids) signalGroup(pgid, "SIGKILL");
    this.#running = undefined;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function readTail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-lines).map((l) => l.slice(0, 200)).join(" | ");
  } catch {
    return "";
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
