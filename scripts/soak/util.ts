// Small helpers for the soak: a seeded random source (a run can be repeated with --seed), sleeping
// that a stop cuts short, and time formatting.

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** A pause to race against: its timer does not keep the process alive once nothing else does. */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** mulberry32: small, fast, good enough to pick faults; the same seed gives the same choices. */
export class Random {
  #state: number;
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A child source for one worker, so workers do not share one sequence. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 2 ** 32));
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const iso = (ms: number) => new Date(ms).toISOString();
