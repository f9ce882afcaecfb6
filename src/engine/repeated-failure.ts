// A failure that repeats at every turn of a loop — the deadline tick while the database is away —
// is named once when it starts, again once a minute while it lasts (how often, for how long), and
// once when it ends: a few lines for an outage of an hour, not 3,600. In words: a database that
// cannot be reached is said as such, without its address.
import { storeUnreachable } from "../store/store-unreachable.ts";

export class RepeatedFailure {
  readonly #what: string;
  readonly #log: (line: string) => void;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #retry: string;
  #since: number | null = null;
  #count = 0;
  #lastNamed = 0;

  /** `what` names the loop ("deadline tick"); `retry` says how it is tried again ("every 1 s"). */
  constructor(what: string, retry: string, log: (line: string) => void, options: { everyMs?: number; now?: () => number } = {}) {
    this.#what = what;
    this.#retry = retry;
    this.#log = log;
    this.#everyMs = options.everyMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  failed(error: unknown): void {
    const now = this.#now();
    const words = storeUnreachable(error) ?? (error instanceof Error ? error.message : String(error));
    this.#count++;
    if (this.#since === null) {
      this.#since = this.#lastNamed = now;
      this.#log(`${this.#what} failed: ${words}; tried again ${this.#retry}, named here once a minute while it lasts`);
    } else if (now - this.#lastNamed >= this.#everyMs) {
      this.#lastNamed = now;
      this.#log(`${this.#what} still failing: ${this.#count} attempts in ${seconds(now - this.#since)}; the last: ${words}`);
    }
  }

  succeeded(): void {
    if (this.#since === null) return;
    this.#log(`${this.#what} works again, after ${this.#count} failed attempts in ${seconds(this.#now() - this.#since)}`);
    this.#since = null;
    this.#count = 0;
  }
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
