// The floor under the whole-authorization row: a server that makes exactly the service's hops and
// nothing else. Four requests served (create, AUTHORIZE, the login link, the callback page) and three
// made (the pushed authorization request, the code exchange, the Altinn exchange), with the same
// openid-client calls, the same bearer check, the same Node adapter — and no engine, no state
// machine, no store, no sealing, no log line: flows live in a Map. What it loses against the bare
// script is what those hops cost; what the service loses against it is what the service adds.
// Run as its own process (bench/main.ts's auth row), like the service.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import * as oidc from "openid-client";
import { VAT_SCOPES } from "../src/config.ts";
import { bearerAuth } from "../src/server/bearer-auth.ts";
import { tokenSha256 } from "../src/identity/api-clients.ts";
import { nodeSha256 } from "../src/crypto/node-secret-box.ts";

const env = process.env;
const port = Number(env.PORT ?? 0);
const publicUrl = `http://127.0.0.1:${port}`;
const redirectUri = `${publicUrl}/callback`;
const config = await oidc.discovery(new URL(env.IDPORTEN_ISSUER!), env.IDPORTEN_CLIENT_ID!, undefined, oidc.ClientSecretPost(env.IDPORTEN_CLIENT_SECRET!), {
  execute: [oidc.allowInsecureRequests],
});

interface Login {
  state: string;
  nonce: string;
  verifier: string;
  params: Record<string, string>;
  browser: string;
  done?: boolean;
}
const flows = new Map<string, Login | null>();

const app = new Hono();
app.get("/healthz", (c) => c.json({ status: "ok" }));
app.use("/api/*", bearerAuth([{ name: "api-token", tokenSha256: await tokenSha256(env.API_TOKEN ?? ""), legalEntities: "*", users: "*" }], nodeSha256));

app.post("/api/flows", async (c) => {
  const body = (await c.req.json()) as { legalEntity?: unknown };
  if (typeof body?.legalEntity !== "string") return c.json({ title: "legalEntity is required" }, 400);
  const id = crypto.randomUUID();
  flows.set(id, null);
  return c.json({ id, state: "idle" }, 201);
});

app.post("/api/flows/:id/events", async (c) => {
  const id = c.req.param("id");
  const body = (await c.req.json()) as { type?: unknown; user?: unknown };
  if (!flows.has(id) || body?.type !== "AUTHORIZE") return c.json({ title: "no such flow or event" }, 404);
  const verifier = oidc.randomPKCECodeVerifier();
  const login: Login = {
    state: `${id}.${oidc.randomState()}`,
    nonce: oidc.randomNonce(),
    verifier,
    browser: oidc.randomState(),
    params: {},
  };
  login.params = {
    redirect_uri: redirectUri,
    scope: VAT_SCOPES,
    response_type: "code",
    state: login.state,
    nonce: login.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    prompt: "login",
  };
  flows.set(id, login);
  return c.json({ state: "awaitingCode", authorizationUrl: `${publicUrl}/login/${id}` });
});

app.get("/login/:id", async (c) => {
  const login = flows.get(c.req.param("id"));
  if (!login) return c.text("no login", 404);
  const params = { ...login.params };
  const hint = c.req.query("login_hint");
  if (hint) params.login_hint = hint;
  const url = await oidc.buildAuthorizationUrlWithPAR(config, params);
  c.header("set-cookie", `bench_login=${login.browser}; Path=/callback; HttpOnly; SameSite=Lax`);
  return c.redirect(url.href, 302);
});

app.get("/callback", async (c) => {
  const url = new URL(c.req.url);
  const id = (url.searchParams.get("state") ?? "").split(".")[0]!;
  const login = flows.get(id);
  if (!login || login.done) return c.text("unknown or used state", 400);
  if (!(c.req.header("cookie") ?? "").includes(`bench_login=${login.browser}`)) return c.text("another browser", 400);
  login.done = true;
  const tokens = await oidc.authorizationCodeGrant(config, url, {
    pkceCodeVerifier: login.verifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
    idTokenExpected: true,
  });
  const altinn = await fetch(env.ALTINN_EXCHANGE_URL!, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: "text/plain, application/json" } });
  const text = await altinn.text();
  if (altinn.status !== 200 || text.length < 20) return c.text(`Altinn answered ${altinn.status}`, 502);
  return c.html("<!doctype html><title>Authorized</title><p>Authorized.</p>");
});

const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
