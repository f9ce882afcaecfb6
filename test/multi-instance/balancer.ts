// A small round-robin load balancer on node:http, in the test process, in front of the server
// instances (all of them behind one PUBLIC_URL, as in production). It forwards everything —
// /api, the login link /login/..., the callback /callback, SSE — with method, path, headers
// (cookies included) and body as they came, and streams the answer back as it comes (Set-Cookie
// kept as separate headers). Each request is recorded with the instance that served it, so a test
// can show that a login's callback landed on another instance than its login link.
//
// `route` lets a test choose the instance for a request (else round robin). An instance that
// refuses the connection (it was killed) is marked down and the request, whose body is buffered
// and was not delivered, goes to the next one — what a balancer's health check would do.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Forwarded {
  method: string;
  /** Path and query, as the client sent it. */
  url: string;
  /** Index of the instance that served it. */
  upstream: number;
  status: number;
}

export interface Balancer {
  url: string;
  port: number;
  /** Instance ports, in order; filled in once the instances listen. */
  upstreams: number[];
  /** Every request forwarded so far, in arrival order. */
  log: Forwarded[];
  /** Chooses an instance for a request; undefined leaves it to round robin. */
  route: ((method: string, url: string) => number | undefined) | undefined;
  markDown(index: number): void;
  close(): Promise<void>;
}

export async function startBalancer(): Promise<Balancer> {
  const down = new Set<number>();
  let next = 0;
  const balancer: Balancer = {
    url: "",
    port: 0,
    upstreams: [],
    log: [],
    route: undefined,
    markDown: (index) => void down.add(index),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const roundRobin = (): number => {
    for (let tries = 0; tries < balancer.upstreams.length; tries++) {
      const index = next++ % balancer.upstreams.length;
      if (!down.has(index)) return index;
    }
    return -1;
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req).catch(() => Buffer.alloc(0));
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const chosen = balancer.route?.(method, url);
    let index = chosen !== undefined && !down.has(chosen) ? chosen : roundRobin();
    for (let attempt = 0; attempt <= balancer.upstreams.length; attempt++) {
      if (index < 0) break;
      const served = index;
      const delivered = await new Promise<boolean>((resolve) => {
        const upstream = httpRequest(
          { host: "127.0.0.1", port: balancer.upstreams[served], method, path: url, headers: { ...req.headers, "x-forwarded-for": req.socket.remoteAddress ?? "" } },
          (answer) => {
            balancer.log.push({ method, url, upstream: served, status: answer.statusCode ?? 0 });
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            // A client that goes away (an SSE reader that is done) ends the upstream request too.
            res.on("close", () => answer.destroy());
            resolve(true);
          },
        );
        upstream.on("error", (error: NodeJS.ErrnoException) => {
          if (error.code === "ECONNREFUSED" && !res.headersSent) {
            down.add(served); // not delivered: another instance gets it
            return resolve(false);
          }
          if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end(`balancer: instance ${served}: ${error.message}`);
          else res.destroy();
          resolve(true);
        });
        upstream.end(body);
      });
      if (delivered) return;
      index = roundRobin();
    }
    res.writeHead(502, { "content-type": "text/plain" }).end("balancer: no instance is up");
  });
  // SSE and slow answers: no timeouts of our own.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  balancer.port = (server.address() as AddressInfo).port;
  balancer.url = `http://127.0.0.1:${balancer.port}`;
  return balancer;
}
