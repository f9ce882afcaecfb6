// INSPECT=on: every flow actor reports to the Stately inspector through @statelyai/inspect's
// WebSocket inspector and its local inspector server (started without opening a browser).
// Every event is redacted before it leaves the process (see redact.ts).
import { createWebSocketInspector } from "@statelyai/inspect";
import { createInspectorServer } from "@statelyai/inspect/server";
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

export function startStatelyInspector(port: number): StatelyInspector {
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
