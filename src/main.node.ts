// Node entry: `npm start` (node --import tsx, so the process a supervisor signals is the server
// itself). Everything but the socket and the signals is shared with Deno (lifecycle/run-server.ts).
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { runServer, type Listener } from "./lifecycle/run-server.ts";

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string): Promise<Listener & { port: number }> {
  const server = createAdaptorServer({ fetch, port, hostname: host }) as Server;
  // Closed when every connection has ended; close() ends the idle ones at once (Node ≥ 19).
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => {
          server.close();
          return closed;
        },
        closeAllConnections: () => server.closeAllConnections(),
      });
    });
  });
}

await runServer({
  env: process.env,
  listen,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
});
