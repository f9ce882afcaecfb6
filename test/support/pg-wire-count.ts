// A TCP relay in front of PostgreSQL that counts what a client asks of it, read off the wire
// protocol (v3): each Sync ends one extended-protocol query (postgres.js sends Parse/Bind/Execute/
// Sync, or only Bind/Execute/Sync once a statement is prepared), each Query is one simple query.
// What the service does is learnt from the server's side of the socket, not from its code.
//
// It can also hold a statement back: `hold(pattern)` stops the connection that next asks for a
// matching statement just before that statement's Parse or Bind reaches the server (so nothing of
// it has run and it holds no lock), until `release()`. A race between instances can then be set up
// in the order a test needs, with the service's own code on both sides. And it can cut the line:
// `cut()` drops every connection and stops listening, so a new one is refused at once (a database
// that went away: a failover, a restart) until `restore()` listens on the same port again. Or it can
// go silent: `silence()` keeps every connection open and lets nothing through (a network partition:
// no reset, no refusal, just no answer), `silence("answers")` lets what the client sends reach the
// server but no answer come back (a statement runs, its outcome never arrives), until `speak()`
// delivers what was kept, as TCP would once the partition heals — or, `speak({ onlyNew: true })`,
// lets new connections through while those open now stay silent for good (a failover: the server
// they were talking to is gone, and nothing tells the client).
import { createServer, connect, type Server, type Socket } from "node:net";

export interface PgWireCount {
  /** postgres://… pointing at the relay, for the database `database`. */
  url(database: string): string;
  /** Round trips asked for so far (Syncs and simple Queries), with the statement each ran. */
  queries(): string[];
  /**
   * Holds the next statement matching `pattern` (on whichever connection asks first) until released;
   * with `boundTo`, only when its parameters hold that text (a flow's id: its Bind is held).
   */
  hold(pattern: RegExp, boundTo?: string): Hold;
  /** Drops every connection through the relay and refuses new ones, until restore(). */
  cut(): void;
  /** Listens again, on the same port. */
  restore(): Promise<void>;
  /** Lets nothing through (`"both"`) or no answer (`"answers"`), on open connections and new ones, until speak(). */
  silence(what?: "both" | "answers"): void;
  /** Ends the silence: what was kept goes on, in order; with `onlyNew`, the connections open now stay silent for good. */
  speak(options?: { onlyNew?: boolean }): void;
  close(): Promise<void>;
}

export interface Hold {
  /** Resolves with the statement once it is being held. */
  reached: Promise<string>;
  /** Lets it (and whatever its connection sent after it) go on to the server. */
  release(): void;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  /** Messages kept back while this connection is held. */
  held: Buffer[] | null;
  /** What the silence kept back: toward the server, toward the client. */
  quiet: { up: Buffer[]; down: Buffer[] };
  /** Silent for good: nothing more goes through, either way. */
  dead: boolean;
}

/**
 * `raw`: bytes pass as they come, unread — for TLS, whose records the parser cannot read (nothing is
 * counted then, and nothing can be held; cut, restore, silence and speak work).
 */
export async function startPgWireCount(target: { host: string; port: number }, { raw = false }: { raw?: boolean } = {}): Promise<PgWireCount> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  let armed: { pattern: RegExp; boundTo: Buffer | undefined; reached: (statement: string) => void } | null = null;
  const holding = new Set<Connection>();
  const connections = new Set<Connection>();
  let silent: "both" | "answers" | null = null;

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const connection: Connection = { client, upstream, held: null, quiet: { up: [], down: [] }, dead: false };
    connections.add(connection);
    const toServer = (message: Buffer) => (connection.dead ? undefined : silent === "both" ? connection.quiet.up.push(message) : upstream.write(message));
    const forward = (message: Buffer) => (connection.held ? connection.held.push(message) : toServer(message));
    const statements = new Map<string, string>(); // prepared statement name → its text, per connection
    let pending = ""; // the statement of the latest Bind (or unnamed Parse) before the Sync
    let buffer = Buffer.alloc(0);
    let started = false;
    client.on("data", (chunk: Buffer) => {
      if (raw) return void forward(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          // Startup, SSLRequest or GSSENCRequest: length-prefixed, no type byte. Only the startup
          // message (protocol 3.0) is followed by typed messages.
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          if (buffer.readInt32BE(4) === 196608) started = true;
          forward(buffer.subarray(0, length));
          buffer = buffer.subarray(length);
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const type = String.fromCharCode(buffer[0]!);
        const message = buffer.subarray(0, 1 + length);
        const body = message.subarray(5);
        buffer = buffer.subarray(1 + length);
        const cstrings = () => body.toString("utf8").split("\0");
        let statement: string | undefined;
        if (type === "P") {
          const [name, text] = cstrings();
          statements.set(name!, text!);
          pending = statement = text!;
        } else if (type === "B") {
          const [, name] = cstrings();
          pending = statement = statements.get(name!) ?? pending;
        } else if (type === "S") {
          seen.push(pending);
        } else if (type === "Q") {
          seen.push((statement = cstrings()[0]!));
        }
        const bound = !armed?.boundTo || (type === "B" && body.includes(armed.boundTo));
        if (armed && statement !== undefined && armed.pattern.test(statement) && bound && !connection.held) {
          connection.held = [];
          holding.add(connection);
          armed.reached(statement);
          armed = null;
        }
        forward(message);
      }
    });
    upstream.on("data", (data) => (connection.dead ? undefined : silent ? connection.quiet.down.push(data) : client.write(data)));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      holding.delete(connection);
      connections.delete(connection);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    queries: () => [...seen],
    hold(pattern, boundTo) {
      if (armed) throw new Error("a hold is already armed");
      let reached!: (statement: string) => void;
      const promise = new Promise<string>((resolve) => (reached = resolve));
      armed = { pattern, boundTo: boundTo === undefined ? undefined : Buffer.from(boundTo), reached };
      return {
        reached: promise,
        release() {
          if (armed?.reached === reached) armed = null;
          for (const connection of holding) {
            const kept = connection.held ?? [];
            connection.held = null;
            for (const message of kept) (silent === "both" ? connection.quiet.up.push(message) : connection.upstream.write(message));
          }
          holding.clear();
        },
      };
    },
    silence(what = "both") {
      silent = what;
    },
    speak({ onlyNew = false } = {}) {
      silent = null;
      for (const connection of connections) {
        if (onlyNew) {
          connection.dead = true;
          continue;
        }
        const { up, down } = connection.quiet;
        connection.quiet = { up: [], down: [] };
        for (const message of up) connection.upstream.write(message);
        for (const data of down) connection.client.write(data);
      }
    },
    cut() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      return new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => (server.off("error", reject), resolve()));
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}
