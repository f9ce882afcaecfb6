// The stop sequence's rules, with fake timers: the order of the steps, the grace for open
// connections, the hard deadline, and what a second signal does.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gracefulStop, type StopSteps } from "../../src/lifecycle/graceful-stop.ts";
import { ShutdownSignal } from "../../src/lifecycle/shutdown-signal.ts";

const TIMINGS = { graceMs: 2000, deadlineMs: 8000, repeatWindowMs: 500 };

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function fakeSteps(overrides: Partial<StopSteps> = {}) {
  const calls: string[] = [];
  const lines: string[] = [];
  const exits: number[] = [];
  const shutdown = new ShutdownSignal();
  shutdown.onStop(() => calls.push("shutdown signal"));
  const steps: StopSteps = {
    shutdown,
    closeServer: async () => void calls.push("close server"),
    closeAllConnections: () => void calls.push("close all connections"),
    closeService: async () => void calls.push("close service"),
    exit: (code) => void exits.push(code),
    log: (line) => void lines.push(line),
    warn: (line) => void lines.push(`WARN ${line}`),
    ...overrides,
  };
  return { steps, calls, lines, exits, shutdown };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("graceful stop", () => {
  it("signals the SSE streams first, then closes the server, then the service, and exits 0", async () => {
    const { steps, calls, exits, lines, shutdown } = fakeSteps();
    gracefulStop(steps, TIMINGS)("SIGTERM");
    await vi.runAllTimersAsync();
    expect(calls).toEqual(["shutdown signal", "close server", "close service"]);
    expect(shutdown.signal.reason).toBe("SIGTERM");
    expect(exits).toEqual([0]);
    expect(lines).toEqual(["SIGTERM received: stopping (a second SIGTERM exits at once)", "stopped"]);
  });

  it("gives open connections the grace, then closes them and goes on", async () => {
    const server = deferred();
    const { steps, calls, exits } = fakeSteps({
      closeServer: () => server.promise,
      closeAllConnections: () => {
        calls.push("close all connections");
        server.resolve(); // as Node does: the server's close completes once they are gone
      },
    });
    gracefulStop(steps, TIMINGS)("SIGTERM");
    await vi.advanceTimersByTimeAsync(TIMINGS.graceMs - 1);
    expect(calls).not.toContain("close all connections");
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["shutdown signal", "close all connections", "close service"]);
    expect(exits).toEqual([0]);
  });

  it("exits 1 at the deadline and names what did not finish", async () => {
    const { steps, exits, lines } = fakeSteps({ closeService: () => new Promise(() => {}) });
    gracefulStop(steps, TIMINGS)("SIGTERM");
    await vi.advanceTimersByTimeAsync(TIMINGS.deadlineMs - 1);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toBe("WARN authflow: not stopped after 8 s (still waiting for: the service (writes, DATA_DIR lock, simulator, inspector)); exiting");
  });

  it("a second signal exits at once; a copy of the first within the repeat window (npm forwarding Ctrl-C) does not", async () => {
    const { steps, exits, lines } = fakeSteps({ closeServer: () => new Promise(() => {}) });
    const onSignal = gracefulStop(steps, TIMINGS);
    onSignal("SIGINT");
    await vi.advanceTimersByTimeAsync(10);
    onSignal("SIGINT");
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(TIMINGS.repeatWindowMs);
    onSignal("SIGINT");
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toBe("WARN authflow: SIGINT again while stopping; exiting at once");
  });

  it("a failing step is reported and the rest still runs; the exit code says it failed", async () => {
    const { steps, calls, exits, lines } = fakeSteps({
      closeServer: async () => {
        throw new Error("boom");
      },
    });
    gracefulStop(steps, TIMINGS)("SIGTERM");
    await vi.runAllTimersAsync();
    expect(calls).toEqual(["shutdown signal", "close service"]);
    expect(lines).toContain("WARN authflow: while stopping, the HTTP server's open connections failed: boom");
    expect(exits).toEqual([1]);
  });
});

describe("ShutdownSignal", () => {
  it("calls listeners once, at once for late ones, not for those that left; reports readiness", () => {
    const shutdown = new ShutdownSignal();
    const heard: string[] = [];
    shutdown.onStop(() => heard.push("a"));
    const leave = shutdown.onStop(() => heard.push("gone"));
    leave();
    expect(shutdown.readinessCheck()).toEqual({ ok: true });
    shutdown.stop("SIGTERM");
    shutdown.stop("SIGINT");
    shutdown.onStop(() => heard.push("late"));
    expect(heard).toEqual(["a", "late"]);
    expect(shutdown.stopping).toBe(true);
    expect(shutdown.signal.aborted).toBe(true);
    expect(shutdown.readinessCheck()).toEqual({ ok: false, detail: "stopping (SIGTERM)" });
  });
});
