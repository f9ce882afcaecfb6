// Where a page's forms may go (its Content-Security-Policy's form-action): this server and every
// integration's ID-porten, since "Get authorization code" redirects there and browsers hold a
// form's redirects to form-action too. Every HTML page asks, and the list lives in the integration
// store (a query on PostgreSQL), so a page is not made to wait for it: a list read within `freshMs`
// is used as it is; an older one is used while a new one is read in the background (so a change on
// another instance shows within about `freshMs`); only when none was read yet does a page wait. A
// change made on this instance is seen by the next page. When the store cannot be read (a database
// away or gone silent: up to DATABASE_TIMEOUT_SECONDS a call), pages keep the last list read — an
// empty one would block the very redirect a person needs, to ID-porten — and it is tried again
// after `freshMs`.

export interface FormTargetsOptions {
  /** The integrations' issuers' origins, read from the store. */
  load: () => Promise<string[]>;
  /** How long a list read is used before it is read again. Default 5 s. */
  freshMs?: number;
  now?: () => number;
}

export class FormTargets {
  readonly #load: () => Promise<string[]>;
  readonly #freshMs: number;
  readonly #now: () => number;
  #known: { targets: string[]; at: number } | undefined;
  /** The read under way: callers that wait for one share it. */
  #reading: Promise<string[]> | undefined;
  /** Bumped by changed(): what a read begun before a change found is not kept. */
  #generation = 0;

  constructor(options: FormTargetsOptions) {
    this.#load = options.load;
    this.#freshMs = options.freshMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  get(): Promise<string[]> {
    const known = this.#known;
    if (known && this.#now() - known.at < this.#freshMs) return Promise.resolve(known.targets);
    const reading = (this.#reading ??= this.#read());
    return known ? Promise.resolve(known.targets) : reading;
  }

  /** An integration was added, changed or deleted here: the next page waits for the list read anew. */
  changed(): void {
    this.#generation++;
    this.#known = undefined;
    this.#reading = undefined;
  }

  async #read(): Promise<string[]> {
    const generation = this.#generation;
    const at = this.#now();
    try {
      const targets = await this.#load();
      if (generation === this.#generation) this.#known = { targets, at };
      return targets;
    } catch {
      // Kept, and tried again after freshMs; with nothing read yet, the next page tries again.
      const known = this.#known;
      if (known && generation === this.#generation) this.#known = { targets: known.targets, at };
      return known?.targets ?? [];
    } finally {
      if (generation === this.#generation) this.#reading = undefined;
    }
  }
}
