// How many outbound calls (code exchanges, refreshes, Altinn exchanges, revocations) this process
// has out at once. After a stop of more than a few minutes every authorization's renewal is due at
// the same moment: unbounded, 2,000 refreshes left at once, the provider queued them past the
// client's timeout, went on to rotate each token, and the retry of the "lost" answer was refused
// as a reuse — 519 authorizations ended (review, two instances on PostgreSQL). A call waits here
// for a place, and its timeout starts only when it leaves.
//
// A call someone is waiting for (a token call's renewal, a person's code exchange) takes the next
// place before the backlog: `urgent` is asked when a place frees, so a call that became urgent
// while it waited counts as such.

interface Waiting {
  urgent: () => boolean;
  enter: () => void;
}

export class OutboundGate {
  #out = 0;
  #waiting: Waiting[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the outbound gate needs a limit of at least 1 (got ${limit})`);
  }

  /** Calls out now. */
  get out(): number {
    return this.#out;
  }

  /** Calls waiting for a place. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves with the way to give the place back (idempotent) once the call may leave. */
  enter(urgent: () => boolean = () => false): Promise<() => void> {
    if (this.#out < this.limit) {
      this.#out++;
      return Promise.resolve(this.#leave());
    }
    return new Promise((resolve) => this.#waiting.push({ urgent, enter: () => resolve(this.#leave()) }));
  }

  #leave(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      // The place passes straight to the next call (the count stays): the first urgent one, else the oldest.
      const index = Math.max(0, this.#waiting.findIndex((w) => w.urgent()));
      const [next] = this.#waiting.splice(index, 1);
      if (next) next.enter();
      else this.#out--;
    };
  }
}
