// Bearer authentication for /api. Compares SHA-256 digests so the comparison takes the same time
// whatever the token's length or first differing character.
import type { MiddlewareHandler } from "hono";
import { problem } from "./problem.ts";

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

export function bearerAuth(apiToken: string): MiddlewareHandler {
  const expected = digest(apiToken);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return problem(401, "This API needs \"Authorization: Bearer <API_TOKEN>\".");
    const [a, b] = [await digest(match[1]!), await expected];
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
    if (diff !== 0) return problem(401, "The bearer token is not this server's API_TOKEN.");
    await next();
  };
}
