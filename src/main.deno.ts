// Deno entry: `deno task start`. Everything but the socket and the signals is shared with Node
// (lifecycle/run-server.ts).
import { runServer, type Listener } from "./lifecycle/run-server.ts";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; addr: { port: number } };
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  exit(code: number): never;
};

async function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string): Promise<Listener & { port: number }> {
  // Deno.serve throws Deno.errors.AddrInUse at once when the port is taken.
  const server = Deno.serve({ port, hostname: host, onListen: () => {} }, fetch);
  // Deno cannot drop a connection that a response is still streaming to: shutdown() waits for it.
  // Past the grace, stop waiting; the exit that follows closes the sockets.
  let giveUp = () => {};
  const gaveUp = new Promise<void>((resolve) => (giveUp = resolve));
  return {
    port: server.addr.port,
    close: () => Promise.race([server.shutdown(), gaveUp]),
    closeAllConnections: () => giveUp(),
  };
}

await runServer({
  env: Deno.env.toObject(),
  listen,
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
