// A TCP relay in front of PostgreSQL that counts what a client asks of it, read off the wire
// protocol (v3): each Sync ends one extended-protocol query (postgres.js sends Parse/Bind/Execute/
// Sync, or only Bind/Execute/Sync once a statement is prepared), each Query is one simple query.
// What the service does is learnt from the server's side of the socket, not from its code.
import { createServer, connect, type Server, type Socket } from "node:net";

export interface PgWireCount {
  /** postgres://… pointing at the relay, for the database `database`. */
  url(database: string): string;
  /** Round trips asked for so far (Syncs and simple Queries), with the statement each ran. */
  queries(): string[];
  close(): Promise<void>;
}

export async function startPgWireCount(target: { host: string; port: number }): Promise<PgWireCount> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const statements = new Map<string, string>(); // prepared statement name → its text, per connection
    let pending = ""; // the statement of the latest Bind (or unnamed Parse) before the Sync
    let buffer = Buffer.alloc(0);
    let started = false;
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          // Startup, SSLRequest or GSSENCRequest: length-prefixed, no type byte. Only the startup
          // message (protocol 3.0) is followed by typed messages.
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          if (buffer.readInt32BE(4) === 196608) started = true;
          buffer = buffer.subarray(length);
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const type = String.fromCharCode(buffer[0]!);
        const body = buffer.subarray(5, 1 + length);
        buffer = buffer.subarray(1 + length);
        const cstrings = () => body.toString("utf8").split("\0");
        if (type === "P") {
          const [name, text] = cstrings();
          statements.set(name!, text!);
          pending = text!;
        } else if (type === "B") {
          const [, name] = cstrings();
          pending = statements.get(name!) ?? pending;
        } else if (type === "S") {
          seen.push(pending);
        } else if (type === "Q") {
          seen.push(cstrings()[0]!);
        }
      }
    });
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    queries: () => [...seen],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
