// GET /api/flows/:id/stream — server-sent events for watchers (the built-in viewer): the flow's
// view and recent transitions now, then again after every change. Bearer-protected like all /api.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { AuthorizationService, FlowView } from "../flows/authorization-service.ts";
import type { ShutdownSignal } from "../lifecycle/shutdown-signal.ts";

const PING_MS = 15_000;

/** `shown`: the view as this watcher may see it (the login link only for whoever may act for the person logging in). */
export async function flowStream(c: Context, service: AuthorizationService, id: string, shutdown?: ShutdownSignal, shown: (view: FlowView) => FlowView = (v) => v) {
  const view = shown(await service.get(id));
  const audit = await service.audit(id);
  return streamSSE(c, async (stream) => {
    let recent = audit;
    let chain = stream.writeSSE({ event: "flow", data: JSON.stringify({ view, audit: recent }) });
    const stop = service.watch(id, (next, entries, remote) => {
      chain = chain.then(async () => {
        // A change made on another instance: its transitions are read from the shared audit trail.
        recent = remote ? await service.audit(id).catch(() => recent) : [...recent, ...entries].slice(-20);
        await stream.writeSSE({ event: "flow", data: JSON.stringify({ view: shown(next), audit: recent }) });
      });
    });
    const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
    // A browser holding the stream open must not hold the process (or, under Deno, its ports) when it stops.
    const leave = shutdown?.onStop(() => stream.abort());
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (!stream.aborted && !stream.closed) {
        await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, PING_MS)))]);
        clearTimeout(timer); // a closed stream leaves no timer holding the process open
        if (!stream.aborted && !stream.closed) chain = chain.then(() => stream.writeSSE({ event: "ping", data: "" }));
      }
    } finally {
      clearTimeout(timer);
      stop();
      leave?.();
    }
  });
}
