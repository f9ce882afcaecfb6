// The page's event stream (GET /events) as a browser holds it: its frames (`event: … data: …`
// blocks), collected until the server ends it or the test closes it.
import { expect } from "vitest";

/** `session`: the page's session cookie; `headers`: others (a trusted proxy's user header). */
export async function pageStream(url: string, session: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(`${url}/events`, { headers: { ...(session ? { cookie: session } : {}), ...headers }, signal: abort.signal });
  expect(res.status).toBe(200);
  const frames: string[] = [];
  let buffer = "";
  let ended = false;
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end; (end = buffer.indexOf("\n\n")) >= 0; buffer = buffer.slice(end + 2)) frames.push(buffer.slice(0, end));
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  /** Waits up to `ms` for a frame holding `what`; answers whether one came. */
  const until = async (what: string, ms = 5_000) => {
    for (const start = Date.now(); Date.now() - start < ms && !frames.some((f) => f.includes(what)); ) await new Promise((r) => setTimeout(r, 20));
    return frames.some((f) => f.includes(what));
  };
  /** Waits up to `ms` for the server to end the stream; answers whether it did. */
  const endedWithin = async (ms: number) => {
    for (const start = Date.now(); Date.now() - start < ms && !ended; ) await new Promise((r) => setTimeout(r, 20));
    return ended;
  };
  await until("event: ready");
  return { frames, until, endedWithin, close: () => abort.abort() };
}
