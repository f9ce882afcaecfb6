// Where a page's forms may go (its Content-Security-Policy's form-action): this server and every
// integration's ID-porten, since "Get authorization code" redirects there and browsers hold a
// form's redirects to form-action too. Every HTML page asks, and the list lives in the integration
// store (a query on PostgreSQL), so a page is not made to wait for it:
// - a list read within `freshMs` is used as it is;
// - one read within `staleMs` is used while a new one is read behind the pages (a change on another
//   instance shows within about `freshMs` while pages are asked for);
// - an older one, or none, or one a change on this instance made out of date: the page waits for
//   the read, at most `waitMs` — then it has the last list (a silent database would otherwise hold
//   every page for DATABASE_TIMEOUT_SECONDS).
// When the store cannot be read (a database away or gone silent: up to DATABASE_TIMEOUT_SECONDS a
// call), the last list read is used and tried again after `freshMs` — an empty one would block the
// very redirect a person needs, to ID-porten — and the origins in `always` (the integration set by
// environment variables, which needs no store) are in every list.

export interface FormTargetsOptions {
  /** The integrations' issuers' origins, read from the store. */
  load: () => Promise<string[]>;
  /** Origins in every list, whatever the store answers. */
  always?: string[];
  /** How long a list read is used without reading it again. Default 5 s. */
  freshMs?: number;
  /** How long a list read may be used while a new one is read behind the pages. Default 60 s. */
  staleMs?: number;
  /** How long a page waits for a read it must wait for, before it takes the last list. Default 1 s. */
  waitMs?: number;
  /** A monotonic clock in ms (a wall clock set back would keep a list fresh). */
  now?: () => number;
}

export class FormTargets {
  readonly #load: () => Promise<string[]>;
  readonly #always: string[];
  readonly #freshMs: number;
  readonly #staleMs: number;
  readonly #waitMs: number;
  readonly #now: () => number;
  /** The last list read, and when; `at` is -Infinity once a change here made it out of date (it is still the fallback). */
  #known: { targets: string[]; at: number } | undefined;
  /** The read under way: callers that wait for one share it. */
  #reading: Promise<string[]> | undefined;
  /** Bumped by changed(): what a read begun before a change found is not kept. */
  #generation = 0;

  constructor(options: FormTargetsOptions) {
    this.#load = options.load;
    this.#always = options.always ?? [];
    this.#freshMs = options.freshMs ?? 5_000;
    this.#staleMs = options.staleMs ?? 60_000;
    this.#waitMs = options.waitMs ?? 1_000;
    this.#now = options.now ?? (() => performance.now());
  }

  get(): Promise<string[]> {
    const known = this.#known;
    const age = known ? this.#now() - known.at : Infinity;
    if (known && age < this.#freshMs) return Promise.resolve(known.targets);
    const reading = (this.#reading ??= this.#read());
    if (known && age < this.#staleMs) return Promise.resolve(known.targets);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve(known?.targets ?? [...this.#always]), this.#waitMs)));
    return Promise.race([reading, waited]).finally(() => clearTimeout(timer));
  }

  /** An integration was added, changed or deleted here: the next page waits for the list read anew. */
  changed(): void {
    this.#generation++;
    if (this.#known) this.#known = { targets: this.#known.targets, at: -Infinity };
    this.#reading = undefined;
  }

  async #read(): Promise<string[]> {
    const generation = this.#generation;
    const at = this.#now();
    try {
      const targets = [...new Set([...this.#always, ...(await this.#load())])];
      if (generation === this.#generation) this.#known = { targets, at };
      return targets;
    } catch {
      // The last list, tried again after freshMs; with none read yet, the next page tries again.
      const known = this.#known;
      if (known && generation === this.#generation) this.#known = { targets: known.targets, at };
      return known?.targets ?? [...this.#always];
    } finally {
      if (generation === this.#generation) this.#reading = undefined;
    }
  }
}
