// What a server-sent-events stream has waiting for its client. A write to a stream waits while the
// client does not read (its socket's buffers are full), and the streams used to chain every later
// message behind it, without limit: a client that stopped reading but kept the connection open held
// every change until it went away (review: a stalled /api/flows/:id/stream cost 15.8 MB more than a
// reading one over 16,000 changes). Every message these streams send is the newest state of
// something — a flow's view and recent transitions, a flow's card on the page, a ping — so a client
// that reads again wants the newest of each, not every one in between: one message waits per key,
// and a newer one takes its place (`merge` says how). What waits is then bounded by the number of
// keys, and a stream with many keys (the page's, one per flow) sets a limit on them itself.
export class NewestPerKey<K, V> {
  #waiting = new Map<K, V>();
  #writing = false;
  #dropped = false;

  constructor(
    /** Sends one message; a failure is the stream's end and is not retried. */
    private readonly write: (key: K, value: V) => Promise<void>,
    private readonly merge: (older: V, newer: V) => V = (_older, newer) => newer,
  ) {}

  /** How many keys have a message waiting (not counting the one being written). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Whether a message is being written or waits. */
  get busy(): boolean {
    return this.#writing || this.#waiting.size > 0;
  }

  /** The key's message is `value` (merged into the one waiting, which keeps its place in line). */
  put(key: K, value: V): void {
    if (this.#dropped) return;
    const older = this.#waiting.get(key);
    this.#waiting.set(key, older === undefined ? value : this.merge(older, value));
    if (!this.#writing) void this.#drain();
  }

  /** The stream has ended: nothing more is written, what waits is let go. */
  drop(): void {
    this.#dropped = true;
    this.#waiting.clear();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      for (let next = this.#waiting.entries().next(); !next.done; next = this.#waiting.entries().next()) {
        const [key, value] = next.value;
        this.#waiting.delete(key);
        await this.write(key, value).catch(() => undefined);
      }
    } finally {
      this.#writing = false;
    }
  }
}
