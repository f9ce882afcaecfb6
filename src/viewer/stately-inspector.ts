// INSPECT=on: every flow actor reports to the Stately inspector through @statelyai/inspect's
// WebSocket inspector and its local inspector server (started without opening a browser).
// Every event is redacted before it leaves the process (see redact.ts).
import { createWebSocketInspector } from "@statelyai/inspect";
import { createInspectorServer } from "@statelyai/inspect/server";
import { createServer } from "node:net";
import type { InspectionEvent } from "xstate";
import { redact } from "./redact.ts";

export interface StatelyInspector {
  /** Where a person opens it (the page embeds Stately's hosted inspector UI). */
  url: string;
  /** The WebSocket that the actors report to. */
  socketUrl: string;
  inspect(event: InspectionEvent): void;
  stop(): void;
}

/**
 * Takes the port the way the library's server will (all interfaces) and gives it back: port 0
 * becomes a real port (the actors must know where to connect), and a port in use is a clear
 * start-up error instead of the library server's unhandled 'error' event.
 */
function claimPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(`INSPECT_PORT ${port} cannot be used for the Stately inspector server (${error.code ?? error.message}); choose another INSPECT_PORT or set INSPECT=off`)),
    );
    probe.listen(port, () => {
      const { port: got } = probe.address() as { port: number };
      probe.close(() => resolve(got));
    });
  });
}

export async function startStatelyInspector(requestedPort: number): Promise<StatelyInspector> {
  const port = await claimPort(requestedPort);
  const server = createInspectorServer({ port, autoOpen: false });
  const socketUrl = `ws://127.0.0.1:${port}`;
  const inspector = createWebSocketInspector({
    url: socketUrl,
    sanitizeContext: (context) => redact(context),
    sanitizeEvent: (event) => redact(event),
    // The last net: the whole inspection event (child actors' input and output included).
    serialize: (event) => redact(event),
  });
  return {
    url: `http://localhost:${port}`,
    socketUrl,
    inspect: (event) => inspector.inspect.next?.(event),
    stop() {
      inspector.stop();
      server.stop();
    },
  };
}
