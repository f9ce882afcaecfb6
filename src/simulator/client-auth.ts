// One authentication method per client. ID-porten registers exactly one token endpoint
// authentication method for a client and answers invalid_client to any other. oidc-provider
// treats client_secret_basic and client_secret_post as one (lib/shared/client_auth.js accepts
// either for a client registered with one of them), so the simulator looks at what a request to
// the token, revocation or PAR endpoint presents before oidc-provider sees it.
//
// That needs the form body: it is read here (within oidc-provider's own 56 KiB limit) and the
// request handed on as a replay of the same bytes. Everything else — the secret, the assertion's
// signature, aud and jti — is still checked by oidc-provider.

import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { authMethodOf } from "./clients.ts";
import type { SimulatorClient } from "./types.ts";

/** oidc-provider's limit for a request body (lib/shared/selective_body.js). */
export const BODY_LIMIT = 56 * 1024;

type Presented = "client_secret_basic" | "client_secret_post" | "client_assertion";

export interface PresentedAuth {
  clientId: string | undefined;
  method: Presented;
}

/** The one mechanism a request presents, or undefined when it presents none or several (oidc-provider answers those). */
export function presentedAuth(authorization: string | undefined, form: URLSearchParams): PresentedAuth | undefined {
  const basic = authorization !== undefined && /^basic\s/i.test(authorization);
  const mechanisms = [basic, form.has("client_secret"), form.has("client_assertion")].filter(Boolean).length;
  if (mechanisms !== 1) return undefined;
  if (basic) return { clientId: basicClientId(authorization), method: "client_secret_basic" };
  if (form.has("client_secret")) return { clientId: form.get("client_id") ?? undefined, method: "client_secret_post" };
  return { clientId: form.get("client_id") ?? assertionSubject(form.get("client_assertion")!), method: "client_assertion" };
}

/** Why the presented mechanism is not the client's registered one, or undefined when it is (or the client is unknown). */
export function authMismatch(clients: readonly SimulatorClient[], presented: PresentedAuth): string | undefined {
  const client = clients.find((c) => c.clientId === presented.clientId);
  if (!client) return undefined; // oidc-provider answers invalid_client (client not found)
  const registered = authMethodOf(client);
  const matches = presented.method === "client_assertion" ? registered === "private_key_jwt" : registered === presented.method;
  return matches ? undefined : `client ${client.clientId} is registered for ${registered}, the request used ${presented.method}`;
}

/** The whole body, or undefined when it is over the limit. */
export async function readBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A request that reads as `req` did, with the body already taken from it. Koa and oidc-provider
 * use the headers, method, url and socket of the request and read its body as a stream; nothing else.
 */
export function replayRequest(req: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = Readable.from([body], { objectMode: false });
  return Object.assign(replay, {
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
    complete: true,
    aborted: false,
    trailers: {},
    rawTrailers: [],
  }) as unknown as IncomingMessage;
}

function basicClientId(authorization: string): string | undefined {
  try {
    const decoded = Buffer.from(authorization.replace(/^basic\s+/i, ""), "base64").toString("utf8");
    const i = decoded.indexOf(":");
    // RFC 6749 §2.3.1: client_id and secret are form-encoded before they are put in the header.
    return i < 0 ? undefined : decodeURIComponent(decoded.slice(0, i).replace(/\+/g, "%20"));
  } catch {
    return undefined;
  }
}

function assertionSubject(assertion: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(assertion.split(".")[1] ?? "", "base64url").toString("utf8")) as { sub?: unknown };
    return typeof payload.sub === "string" ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
