// GET /api/flows/:id/stream — server-sent events for watchers (the built-in viewer): the flow's
// view and recent transitions now, then again after every change. Bearer-protected like all /api.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { AuthorizationService, FlowView } from "../flows/authorization-service.ts";
import type { ShutdownSignal } from "../lifecycle/shutdown-signal.ts";
import type { AuditEntry } from "../store/flow-store.ts";
import { NewestPerKey } from "./newest-per-key.ts";

const PING_MS = 15_000;

/** `shown`: the view as this watcher may see it (the login link only for whoever may act for the person logging in). */
export async function flowStream(c: Context, service: AuthorizationService, id: string, shutdown?: ShutdownSignal, shown: (view: FlowView) => FlowView = (v) => v) {
  const view = await service.get(id);
  const audit = await service.audit(id);
  return streamSSE(c, async (stream) => {
    let recent = audit;
    // Every "flow" message is the whole state (the view and the recent transitions), so while the
    // client is not reading, only the newest waits (newest-per-key.ts): one that reads again gets
    // the flow as it is now, and one that never does holds one message, not every change since.
    // (A client that reconnects instead gets the current state first, as on any connect.)
    // Deleted (here or on another instance): one "deleted" message, then the stream ends.
    let finish = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const out = new NewestPerKey<"flow" | "ping", Change | "deleted" | null>(
      async (_key, change) => {
        if (change === null) return void (await stream.writeSSE({ event: "ping", data: "" }));
        if (change === "deleted") {
          await stream.writeSSE({ event: "deleted", data: JSON.stringify({ id }) });
          return finish();
        }
        // A change made on another instance: its transitions are read from the shared audit trail.
        recent = change.remote ? await service.audit(id).catch(() => recent) : [...recent, ...change.entries].slice(-RECENT);
        await stream.writeSSE({ event: "flow", data: JSON.stringify({ view: shown(change.view), audit: recent }) });
      },
      (older, newer) =>
        older && newer && older !== "deleted" && newer !== "deleted" ? { view: newer.view, entries: [...older.entries, ...newer.entries].slice(-RECENT), remote: older.remote || newer.remote } : newer,
    );
    out.put("flow", { view, entries: [], remote: false });
    const stop = service.watch(id, (next, entries, remote) => out.put("flow", next === null ? "deleted" : { view: next, entries, remote }));
    const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
    // A browser holding the stream open must not hold the process (or, under Deno, its ports) when it stops.
    const leave = shutdown?.onStop(() => stream.abort());
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (!stream.aborted && !stream.closed) {
        const ended = await Promise.race([closed.then(() => true), finished.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), PING_MS)))]);
        clearTimeout(timer); // a closed stream leaves no timer holding the process open
        if (ended) break;
        // No ping while a message is on its way or waiting: the connection is not idle then.
        if (!stream.aborted && !stream.closed && !out.busy) out.put("ping", null);
      }
    } finally {
      clearTimeout(timer);
      stop();
      out.drop();
      leave?.();
    }
  });
}

/** How many recent transitions a message carries. */
const RECENT = 20;

interface Change {
  view: FlowView;
  entries: AuditEntry[];
  remote: boolean;
}
