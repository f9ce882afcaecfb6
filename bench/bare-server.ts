// The baseline of the token-call row: a bare Hono route on the same Node adapter as the service,
// behind the service's own bearer check (src/server/bearer-auth.ts), that reads the JSON body,
// checks `user` and answers the same JSON document the service answered (BARE_ANSWER) — no engine,
// no store, no log line. Run as its own process, like the service.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { bearerAuth } from "../src/server/bearer-auth.ts";
import { tokenSha256 } from "../src/identity/api-clients.ts";
import { nodeSha256 } from "../src/crypto/node-secret-box.ts";

const answer = JSON.parse(process.env.BARE_ANSWER ?? '{"altinnToken":"x","expiresAt":"2099-01-01T00:00:00.000Z"}') as Record<string, unknown>;
const app = new Hono();
app.get("/healthz", (c) => c.json({ status: "ok" }));
// The same bearer check as the service's Node entry: its clients' digests, node:crypto's SHA-256.
app.use("/api/*", bearerAuth([{ name: "api-token", tokenSha256: await tokenSha256(process.env.API_TOKEN ?? ""), legalEntities: "*", users: "*" }], nodeSha256));
app.post("/api/flows/:id/token", async (c) => {
  const body = (await c.req.json()) as { user?: unknown };
  if (typeof body?.user !== "string" || body.user === "") return c.json({ title: "user is required" }, 400);
  c.header("cache-control", "no-store");
  return c.json(answer);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" });
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
