// The Altinn exchange client against a small real HTTP server on 127.0.0.1 that answers as Altinn
// does (plain-text JWT, ProblemDetails refusals) and as a broken network does (a gateway page, a hang).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { createAltinnClient } from "../../src/altinn/altinn-client.ts";
import { UpstreamError } from "../../src/idporten/upstream-error.ts";
import { toFlowError } from "../../src/machines/flow-error.ts";

const NOW = Math.floor(Date.now() / 1000);
const fakeJwt = (claims: Record<string, unknown>) =>
  [{ alg: "RS256", typ: "JWT" }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString("base64url")).join(".") + ".signature";

/** The ID-porten access token we exchange: a JWT that expires in an hour (its exp on ID-porten's clock). */
const IDPORTEN_TOKEN = fakeJwt({ iss: "https://test.idporten.no", pid: "01817010055", acr: "idporten-loa-high", iat: NOW, exp: NOW + 3600 });
/** ...and the same moment on the engine's (movable) clock, far from the wall clock on purpose. */
const ENGINE_EXPIRY = Date.UTC(2030, 0, 1);
const problem = (status: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "https://tools.ietf.org/html/rfc9110#section-15.5.2", title: "Unauthorized", status, traceId: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", ...extra });

const ROUTES: Record<string, (res: import("node:http").ServerResponse) => void> = {
  "/ok": (res) => res.writeHead(200, { "content-type": "text/plain" }).end(fakeJwt({ exp: NOW + 3600, iat: NOW })),
  "/quoted": (res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(fakeJwt({ exp: NOW + 3600 }))),
  "/earlier": (res) => res.writeHead(200, { "content-type": "text/plain" }).end(fakeJwt({ exp: NOW + 3000, iat: NOW })),
  "/not-jwt": (res) => res.writeHead(200, { "content-type": "text/plain" }).end("hello"),
  "/401": (res) => res.writeHead(401, { "content-type": "application/problem+json" }).end(problem(401)),
  "/401-detail": (res) => res.writeHead(401, { "content-type": "application/problem+json" }).end(problem(401, { detail: "The user is not found in Altinn" })),
  "/401-challenge": (res) => res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token", error_description="The token expired at \'01/01/2030 00:00:00\'"' }).end(),
  "/403": (res) => res.writeHead(403, { "content-type": "application/problem+json" }).end(problem(403, { title: "Forbidden" })),
  "/429": (res) => res.writeHead(429, { "content-type": "application/problem+json" }).end(problem(429, { title: "Too Many Requests" })),
  "/502": (res) => res.writeHead(502, { "content-type": "text/html" }).end(`<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{}</style></head><body><h1>Bad Gateway</h1>${"<p>x</p>".repeat(200)}</body></html>`),
  "/503": (res) => res.writeHead(503).end(),
  "/redirect": (res) => res.writeHead(302, { location: "https://elsewhere.example/login" }).end(),
  "/hang": () => {},
  "/stall-body": (res) => res.writeHead(200, { "content-type": "text/plain" }).write("eyJ"),
};

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const route = ROUTES[req.url ?? ""];
    if (req.headers.authorization !== `Bearer ${IDPORTEN_TOKEN}`) res.writeHead(401).end();
    else if (route) route(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const exchange = (path: string, timeoutMs = 2000) =>
  createAltinnClient({ exchangeUrl: `${base}${path}`, timeoutMs }).exchange({ accessToken: IDPORTEN_TOKEN, accessTokenExpiresAt: ENGINE_EXPIRY });

async function refusal(path: string, timeoutMs?: number): Promise<UpstreamError> {
  const error = await exchange(path, timeoutMs).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe("Altinn exchange: answers", () => {
  it("200: the JWT, expiring with the access token it came from, on the engine's clock", async () => {
    const token = await exchange("/ok");
    expect(token.token.split(".")).toHaveLength(3);
    expect(token.expiresAt).toBe(ENGINE_EXPIRY);
    expect((await exchange("/quoted")).token.split(".")).toHaveLength(3);
  });

  it("200 with an earlier exp: Altinn's own exp wins, moved onto the engine's clock", async () => {
    expect((await exchange("/earlier")).expiresAt).toBe(ENGINE_EXPIRY - 600_000);
  });

  it("200 without a JWT is an invalid response", async () => {
    expect((await refusal("/not-jwt")).oauth.error).toBe("invalid_response");
  });
});

describe("Altinn exchange: refusals", () => {
  it("401 ProblemDetails: altinn_unauthorized with title and traceId, and the Tenor hint", async () => {
    const error = await refusal("/401");
    expect(error.lost).toBe(false);
    expect(error.oauth).toEqual({ error: "altinn_unauthorized", error_description: "Altinn answered 401 to the token exchange: Unauthorized (traceId 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00)" });
    expect(toFlowError(error).hint).toMatch(/test person registered in Altinn \(Tenor\)/);
    expect((await refusal("/401-detail")).oauth.error_description).toContain("Unauthorized: The user is not found in Altinn");
    // An empty 401 from ASP.NET's JwtBearer: the reason is in WWW-Authenticate.
    expect((await refusal("/401-challenge")).oauth.error_description).toBe("Altinn answered 401 to the token exchange: invalid_token: The token expired at '01/01/2030 00:00:00'");
  });

  it("403 and 429 keep their names", async () => {
    expect((await refusal("/403")).oauth).toMatchObject({ error: "altinn_forbidden", error_description: expect.stringContaining("Forbidden") });
    expect((await refusal("/429")).oauth).toMatchObject({ error: "altinn_locked_out", error_description: expect.stringContaining("Too Many Requests") });
  });

  it("a gateway's HTML page is named, not dumped, and counts as lost", async () => {
    const error = await refusal("/502");
    expect(error.oauth.error).toBe("temporarily_unavailable");
    expect(error.oauth.error_description).toBe('Altinn answered 502 to the token exchange: an HTML page titled "502 Bad Gateway"');
    expect(error.lost).toBe(true);
    expect(await refusal("/503")).toMatchObject({ lost: false, oauth: { error: "temporarily_unavailable" } });
  });

  it("a redirect is not followed with the bearer token: it says to check ALTINN_EXCHANGE_URL", async () => {
    const error = await refusal("/redirect");
    expect(error.oauth.error_description).toContain("ALTINN_EXCHANGE_URL");
  });
});

describe("Altinn exchange: no answer", () => {
  it("a hang times out and is lost", async () => {
    const error = await refusal("/hang", 300);
    expect(error).toMatchObject({ lost: true, oauth: { error: "temporarily_unavailable", error_description: "Altinn did not answer the token exchange within 0.3 s." } });
  });

  it("headers then a stalled body time out too", async () => {
    expect(await refusal("/stall-body", 300)).toMatchObject({ lost: true, oauth: { error: "temporarily_unavailable" } });
  });

  it("a refused connection is lost", async () => {
    const error = await createAltinnClient({ exchangeUrl: "http://127.0.0.1:1/x", timeoutMs: 1000 })
      .exchange({ accessToken: IDPORTEN_TOKEN, accessTokenExpiresAt: ENGINE_EXPIRY })
      .catch((e: UpstreamError) => e);
    expect(error).toMatchObject({ lost: true, oauth: { error: "temporarily_unavailable" } });
  });
});
