// The moment the process begins to stop, as one object every long-lived piece can listen to.
// An SSE stream that a browser holds open would otherwise keep the server (and, under Deno, the
// whole process and every port) alive until the browser lets go: each stream ends itself here.
// Built on the standard AbortController, so anything that takes an AbortSignal (fetch, streams,
// timers in Deno) can take `signal` directly.

export class ShutdownSignal {
  readonly #controller = new AbortController();

  /** Aborted when stopping begins; its `reason` names what asked for it (e.g. "SIGTERM"). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stopping(): boolean {
    return this.#controller.signal.aborted;
  }

  /**
   * Calls `listener` once when stopping begins (at once if it already has). Returns a function
   * that unsubscribes: call it when the listener's own work ends first (a browser that left).
   */
  onStop(listener: () => void): () => void {
    if (this.stopping) {
      listener();
      return () => {};
    }
    const handler = () => listener();
    this.#controller.signal.addEventListener("abort", handler, { once: true });
    return () => this.#controller.signal.removeEventListener("abort", handler);
  }

  /** Begins stopping. Later calls change nothing. */
  stop(reason: string): void {
    if (!this.stopping) this.#controller.abort(reason);
  }

  /** A /readyz check: not ready once stopping, so a load balancer sends no new work here. */
  readinessCheck(): { ok: boolean; detail?: string } {
    return this.stopping ? { ok: false, detail: `stopping (${String(this.#controller.signal.reason)})` } : { ok: true };
  }
}
