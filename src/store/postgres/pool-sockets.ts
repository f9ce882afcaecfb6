// The sockets of one PostgreSQL pool, made here rather than inside postgres.js (its `socket` option)
// so that they can be let go when the database goes silent (connect.ts, answerWithin). They are made
// as postgres.js makes them — the Unix socket if the URL names one, else host and port, several hosts
// in turn; TLS as the URL's sslmode says, after an SSLRequest or directly (sslnegotiation=direct) —
// with one difference: the TLS layer is set up here, before postgres.js sees the socket, and
// postgres.js is told the connection is plain. Its own TLS wraps the plain socket and takes every
// listener off it, so a plain socket destroyed beneath it closed the descriptor under a TLS socket
// that still looked open: the next write failed (EBADF) with no listener left, an uncaught exception
// that ended the process (found in review, with sslmode=require, in 3 runs of 4). Here the socket
// postgres.js holds is the outermost one, and letting go destroys it first, then the one beneath.
import { connect as connectPlain, isIP, Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions } from "node:tls";

/** The TLS settings postgres.js read from the URL (its `options.ssl` and `options.sslnegotiation`). */
export interface TlsSettings {
  ssl: unknown;
  sslnegotiation: unknown;
  /** The root certificates to trust instead of the system's (sslrootcert=<file>, PEM). */
  ca?: string;
}

/** What postgres.js hands its `socket` option: the parsed hosts, ports and Unix-socket path. */
interface Where {
  host: string[];
  port: number[];
  path?: string | false;
}

/** SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export class PoolSockets {
  /** Each open socket postgres.js holds, with the plain one beneath it (itself, when plain). */
  #open = new Map<Socket, Socket>();
  #next = 0;
  readonly #tls: TlsSettings;
  readonly #connectTimeoutMs: number;

  constructor(tls: TlsSettings, connectTimeoutSeconds: number) {
    this.#tls = tls;
    this.#connectTimeoutMs = connectTimeoutSeconds * 1000;
  }

  /**
   * postgres.js's `socket` option: a socket for a new connection. A plain one is returned at once
   * (what postgres.js writes before it is connected waits in it; its failures come as its own). A TLS
   * one after the negotiation; a negotiation that fails gives a socket that fails the same way a
   * plain one does (an 'error', then 'close'), so postgres.js tries again with its backoff. Never a
   * rejection: postgres.js would keep that connection "connecting" for good.
   */
  readonly make = async (where: Where): Promise<Socket> => {
    const at = this.#next++ % where.host.length;
    const host = where.host[at]!;
    const port = where.port[at] ?? 5432;
    const plain = where.path ? connectPlain(where.path) : connectPlain(port, host);
    // postgres.js names host and port in its connection errors.
    Object.assign(plain, { host, port });
    this.#hold(plain, plain);
    if (!this.#tls.ssl) return plain;
    try {
      return await this.#secure(plain, where.path ? undefined : host, port);
    } catch (error) {
      this.#open.delete(plain);
      plain.destroy();
      return failing(error as Error);
    }
  };

  /** Lets go of every open socket: postgres.js sees each close, fails what was sent on it, and connects afresh for the next call. */
  letGo(): void {
    for (const [outer, plain] of this.#open) {
      // No error given: postgres.js then fails the connection's calls and its queued ones at once
      // (CONNECTION_CLOSED). With an error, a call made before the close event was written to the
      // destroyed socket and waited for the next timeout (found in review: a burst every timeout).
      outer.destroy();
      if (plain !== outer) plain.destroy();
    }
    this.#open.clear();
  }

  #hold(outer: Socket, plain: Socket): void {
    this.#open.set(outer, plain);
    outer.once("close", () => this.#open.delete(outer));
  }

  /** As postgres.js's own TLS (connection.js, secure()): SSLRequest unless direct, then TLS — or plain with `prefer` and a server without TLS. */
  async #secure(plain: Socket, host: string | undefined, port: number): Promise<Socket> {
    const { ssl, sslnegotiation } = this.#tls;
    const timedOut = () => Object.assign(new Error(`connect CONNECT_TIMEOUT ${host ?? "the Unix socket"}:${port}`), { code: "CONNECT_TIMEOUT" });
    const deadline = Date.now() + this.#connectTimeoutMs;
    if (plain.connecting) await next(plain, "connect", deadline - Date.now(), timedOut);
    if (sslnegotiation !== "direct") {
      plain.write(SSL_REQUEST);
      const [answer] = (await next(plain, "data", deadline - Date.now(), timedOut)) as [Uint8Array];
      if (answer[0] !== 0x53 /* S */ && ssl === "prefer") return plain;
    }
    // verify-full checks the certificate's chain and that it names the host connected to, an IP
    // address too (postgres.js gives only the server name, so an IP address was checked as
    // "localhost", tls.connect's default); verify-ca, with a root certificate file, checks the chain
    // only, as libpq's does (postgres.js checked the name too). SNI carries names only, as the TLS RFC says.
    const options: ConnectionOptions = { socket: plain, host, servername: host === undefined || isIP(host) ? undefined : host };
    if (sslnegotiation === "direct") options.ALPNProtocols = ["postgresql"];
    if (ssl === "require" || ssl === "allow" || ssl === "prefer") options.rejectUnauthorized = false;
    else if (typeof ssl === "object" && ssl !== null) Object.assign(options, ssl);
    if (this.#tls.ca !== undefined) {
      options.ca = this.#tls.ca;
      // Only against a CA file of the user's own: against the system's, a chain without the name proves nothing.
      if (ssl === "verify-ca") options.checkServerIdentity = () => undefined;
    }
    // What postgres.js writes before the handshake is done waits in the TLS socket.
    const secure = connectTls(options);
    Object.assign(secure, { host, port });
    this.#open.delete(plain);
    this.#hold(secure, plain);
    return secure;
  }
}

/**
 * The socket's next `event`; rejects with its error, when it closes (a FIN, or letGo() meanwhile),
 * or after `ms` with `timedOut()`. Every listener and the timer are gone once it settles.
 */
function next(socket: Socket, event: string, ms: number, timedOut: () => Error): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      socket.off(event, onEvent).off("error", onError).off("close", onClose);
      settle();
    };
    const onEvent = (...args: unknown[]) => done(() => resolve(args));
    const onError = (error: Error) => done(() => reject(error));
    const onClose = () => done(() => reject(Object.assign(new Error("the connection was closed while connecting"), { code: "CONNECTION_CLOSED" })));
    const timer = setTimeout(() => done(() => reject(timedOut())), Math.max(ms, 0));
    socket.on(event, onEvent).on("error", onError).on("close", onClose);
  });
}

/**
 * A socket that fails with `error` as a refused connection does ('error', then 'close'), after
 * postgres.js has written its startup message to it. postgres.js (3.4.9) schedules that write for the
 * next turn and, when the socket closes first, cancels it without clearing what it had gathered: each
 * attempt after that only added to it and was never sent, so the connection timed out again and
 * again — about 12 connect timeouts before it recovered (found in review). So the write is taken
 * and dropped, and the failure comes a turn later.
 */
function failing(error: Error): Socket {
  const socket = new Socket();
  socket.write = (() => true) as Socket["write"];
  setImmediate(() => setImmediate(() => socket.destroy(error)));
  return socket;
}
