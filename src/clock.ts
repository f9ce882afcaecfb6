// Time comes from an injectable clock (DESIGN §2), so tests and testers can move it.
// Timers are armed through the clock too: a simulated clock fires them when it is advanced.

/** setTimeout holds at most 2^31-1 ms (24.8 days); longer waits are armed in chunks. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms` (any length; long waits are chunked). Returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** Arms a timer on the runtime's setTimeout in chunks, so a one-year wait neither overflows nor fires early. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const due = Date.now() + Math.max(0, ms);
    let handle: ReturnType<typeof setTimeout>;
    const arm = () => {
      const remaining = due - Date.now();
      if (remaining <= 0) return fn();
      handle = setTimeout(arm, Math.min(remaining, MAX_TIMEOUT_MS));
    };
    handle = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMEOUT_MS));
    return () => clearTimeout(handle);
  },
};

interface PendingTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire, in due order, when `advance` passes them.
 * Zero-delay timers still fire on a microtask so that arming code finishes first, as with setTimeout.
 */
export class SimulatedClock implements Clock {
  #now: number;
  #timers = new Set<PendingTimer>();
  #seq = 0;

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer: PendingTimer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    if (timer.due <= this.#now) {
      let cancelled = false;
      queueMicrotask(() => !cancelled && fn());
      return () => (cancelled = true);
    }
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Moves time forward, firing every timer that falls due on the way, each at its own time. */
  advance(ms: number): number {
    const target = this.#now + Math.max(0, ms);
    for (;;) {
      const next = [...this.#timers].filter((t) => t.due <= target).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.due);
      next.fn();
    }
    this.#now = target;
    return this.#now;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }
}
