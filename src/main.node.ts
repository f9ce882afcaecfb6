// Node entry: `npm start` (node --import tsx, so the process a supervisor signals is the server
// itself). Everything but the socket and the signals is shared with Deno (lifecycle/run-server.ts).
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { runServer, type Listener } from "./lifecycle/run-server.ts";
import { createNodeSecretBox, nodeSha256 } from "./crypto/node-secret-box.ts";

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string): Promise<Listener & { port: number }> {
  const server = createAdaptorServer({ fetch, port, hostname: host }) as Server;
  // Closed when every connection has ended. close() ends only the connections idle at that moment;
  // a keep-alive connection whose response ends later (an SSE stream ending on the shutdown
  // signal) would wait for the grace, so idle ones are swept until the server has closed.
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => {
          server.close();
          const sweep = setInterval(() => server.closeIdleConnections(), 50);
          return closed.finally(() => clearInterval(sweep));
        },
        closeAllConnections: () => server.closeAllConnections(),
      });
    });
  });
}

await runServer({
  env: process.env,
  secretBox: createNodeSecretBox,
  sha256: nodeSha256,
  listen,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
});
