// Bearer authentication for /api: the token names the API client (API_CLIENTS, or API_TOKEN's
// "api-token"), whose reach the routes then check. Digests are compared in full, so the time taken
// says nothing about which client, if any, was close.
import type { MiddlewareHandler } from "hono";
import { clientDirectory, type ApiClient, type Sha256 } from "../identity/api-clients.ts";
import { clientCaller, type Caller } from "../identity/caller.ts";
import { problem } from "./problem.ts";

export type ApiEnv = { Variables: { caller: Caller } };

export function bearerAuth(clients: readonly ApiClient[], sha256?: Sha256): MiddlewareHandler<ApiEnv> {
  const find = clientDirectory(clients, sha256);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return problem(401, 'This API needs "Authorization: Bearer <token>": API_TOKEN, or the token of a client in API_CLIENTS.', {}, "unauthorized");
    const client = await find(match[1]!);
    if (!client) return problem(401, "The bearer token is not API_TOKEN nor the token of any client in API_CLIENTS.", {}, "unauthorized");
    c.set("caller", clientCaller(client));
    await next();
  };
}
