// What SIGTERM and SIGINT do, the same on Node and Deno: stop accepting, end the SSE streams,
// give open connections a short grace, then drop them; close the service (flush writes, release
// the DATA_DIR lock, stop the simulator and the inspector, freeing their ports); exit 0.
// A supervisor is owed an exit within seconds: a hard deadline exits 1 and names what did not
// finish, and a second signal exits at once.

import type { ShutdownSignal } from "./shutdown-signal.ts";

export interface StopSteps {
  shutdown: ShutdownSignal;
  /** Stops accepting connections; resolves when every connection has ended. */
  closeServer(): Promise<void>;
  /** Ends the connections still open after the grace (a browser holding an SSE stream). */
  closeAllConnections(): void;
  /** Flushes writes, releases the DATA_DIR lock, stops the simulator and the inspector. */
  closeService(): Promise<void>;
  exit(code: number): void;
  log(line: string): void;
  warn(line: string): void;
}

export interface StopTimings {
  /** How long open connections may take to finish on their own. */
  graceMs: number;
  /** The latest exit, whatever is still running. */
  deadlineMs: number;
  /**
   * A repeat within this window is the same stop, not an impatient second one: in a terminal,
   * Ctrl-C reaches both npm and the server, and npm forwards its copy to the server as well.
   */
  repeatWindowMs: number;
}

export const STOP_TIMINGS: StopTimings = { graceMs: 2000, deadlineMs: 8000, repeatWindowMs: 500 };

/** Returns the handler for SIGINT and SIGTERM. */
export function gracefulStop(steps: StopSteps, timings: StopTimings = STOP_TIMINGS): (signal: string) => void {
  let startedAt: number | undefined;

  return (signal) => {
    if (startedAt !== undefined) {
      if (Date.now() - startedAt < timings.repeatWindowMs) return;
      steps.warn(`authflow: ${signal} again while stopping; exiting at once`);
      return steps.exit(1);
    }
    startedAt = Date.now();
    steps.log(`${signal} received: stopping (a second ${signal} exits at once)`);
    void stop(signal, steps, timings);
  };
}

async function stop(signal: string, steps: StopSteps, timings: StopTimings): Promise<void> {
  const unfinished = new Set<string>();
  const deadline = setTimeout(() => {
    steps.warn(`authflow: not stopped after ${timings.deadlineMs / 1000} s (still waiting for: ${[...unfinished].join(", ") || "nothing"}); exiting`);
    steps.exit(1);
  }, timings.deadlineMs);

  let failed = false;
  const step = async (name: string, work: () => Promise<void>) => {
    unfinished.add(name);
    try {
      await work();
    } catch (error) {
      failed = true;
      steps.warn(`authflow: while stopping, ${name} failed: ${(error as Error)?.message ?? error}`);
    } finally {
      unfinished.delete(name);
    }
  };

  // SSE streams end themselves on this, so the server can close without waiting for browsers.
  steps.shutdown.stop(signal);
  await step("the HTTP server's open connections", async () => {
    const closed = steps.closeServer();
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"grace">((resolve) => (graceTimer = setTimeout(() => resolve("grace"), timings.graceMs)));
    if ((await Promise.race([closed, grace])) === "grace") {
      steps.log(`connections still open after ${timings.graceMs / 1000} s: closing them`);
      steps.closeAllConnections();
      await closed;
    }
    clearTimeout(graceTimer);
  });
  await step("the service (writes, DATA_DIR lock, simulator, inspector)", () => steps.closeService());

  clearTimeout(deadline);
  steps.log(failed ? "stopped, with errors" : "stopped");
  steps.exit(failed ? 1 : 0);
}
