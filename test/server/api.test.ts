// The public HTTP contract (DESIGN §4) against the real thing: the service listening on 127.0.0.1,
// the embedded simulator (oidc-provider) over real HTTP, lowdb files in a temp folder.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_TOKEN, PID, startTestService, type TestService } from "../support/test-service.ts";

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(path)));
    else out.push(path);
  }
  return out;
}

async function authorizedFlow(t: TestService, user = "alice") {
  const created = await t.api("POST", "/api/flows", { legalEntity: "999999999" });
  const id = created.json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user, uiLocale: "en" });
  const page = await t.login(authorize.json.authorizationUrl);
  return { id, authorize, page };
}

describe("HTTP API against the real simulator", () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t.close();
  });

  it("GET /healthz answers ok without a token", async () => {
    const res = await t.api("GET", "/healthz", undefined, null);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "ok" });
  });

  it("everything under /api needs the bearer token: 401 problem+json otherwise", async () => {
    for (const token of [null, "wrong-token"]) {
      const res = await t.api("GET", "/api/flows", undefined, token);
      expect(res.status).toBe(401);
      expect(res.type).toContain("application/problem+json");
      expect(res.json.detail).toMatch(/Bearer|API_TOKEN/);
    }
  });

  it("serves an OpenAPI document and a docs page", async () => {
    const doc = await t.api("GET", "/openapi.json", undefined, null);
    expect(doc.json.openapi).toBe("3.1.0");
    expect(Object.keys(doc.json.paths)).toContain("/api/flows/{id}/token");
    const docs = await fetch(`${t.url}/docs`).then((r) => r.text());
    expect(docs).toContain("/api/flows/{id}/events");
  });

  it("bad input gets a 4xx problem that names the problem, never a 500", async () => {
    const cases: Array<[unknown, number, RegExp, string?]> = [
      [{ legalEntity: "123456789" }, 400, /MOD11/],
      [{ legalEntity: 999999999 }, 400, /organisation number/],
      [{}, 400, /legalEntity/],
      ["{not json", 400, /not valid JSON/],
      [[1, 2], 400, /JSON object/],
      [{ legalEntity: "999999999", integration: "nope" }, 422, /Unknown integration/],
      [{ legalEntity: "999999999", pad: "x".repeat(70 * 1024) }, 413, /64 KiB/],
    ];
    for (const [body, status, detail] of cases) {
      const res = await t.api("POST", "/api/flows", body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(res.type).toContain("application/problem+json");
      expect(res.json.detail).toMatch(detail);
      expect(res.json).toMatchObject({ status, title: expect.any(String), type: expect.any(String) });
    }
    const noType = await fetch(`${t.url}/api/flows`, { method: "POST", headers: { authorization: `Bearer ${API_TOKEN}` }, body: "legalEntity=999999999" });
    expect(noType.status).toBe(415);

    const flow = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
    const events: Array<[unknown, RegExp]> = [
      [{ type: "NOPE", user: "alice" }, /"type" must be one of/],
      [{ user: "alice" }, /"type" must be one of .*; it is missing\.$/],
      [{ type: "AUTHORIZE" }, /"user" is required/],
      [{ type: "AUTHORIZE", user: "x".repeat(129) }, /at most 128/],
      [{ type: "AUTHORIZE", user: "al\u0000ice" }, /control/],
      [{ type: "AUTHORIZE", user: "alice", uiLocale: "de" }, /nb, nn, en, se/],
      [{ type: "AUTHORIZE", user: "alice", acr: "level4" }, /idporten-loa-substantial/],
    ];
    for (const [body, detail] of events) {
      const res = await t.api("POST", `/api/flows/${flow}/events`, body);
      expect(res.status).toBe(400);
      expect(res.json.detail).toMatch(detail);
    }
    expect((await t.api("GET", "/api/flows/not-a-uuid")).status).toBe(400);
    const missing = await t.api("GET", `/api/flows/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.type).toContain("application/problem+json");
    expect((await t.api("GET", "/api/flows?state=bogus")).status).toBe(400);
    // A filter no flow can match, and a parameter given twice, are said to be what they are.
    const filters: Array<[string, string]> = [
      ["legalEntity=123", '"legalEntity" must be a Norwegian organisation number: 9 digits with a valid MOD11 check digit (got "123").'],
      ["limit=5&limit=6", '"limit" (query) is given more than once; give it once.'],
      ["cursor=a&cursor=b", '"cursor" (query) is given more than once; give it once.'],
      ["state=idle&state=idle", '"state" (query) is given more than once; give it once.'],
      ["legalEntity=999999999&legalEntity=999999999", '"legalEntity" (query) is given more than once; give it once.'],
    ];
    for (const [query, detail] of filters) {
      const res = await t.api("GET", `/api/flows?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.detail).toBe(detail);
    }
    expect((await t.api("GET", "/api/clock")).status).toBe(404);
    // A path that exists with a method it does not take: 405 naming the methods it takes, in Allow too.
    const wrongMethod = await fetch(`${t.url}/api/flows/${flow}`, { method: "PUT", headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" }, body: "{}" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, DELETE");
    expect(wrongMethod.headers.get("content-type")).toContain("application/problem+json");
    expect(await wrongMethod.json()).toMatchObject({
      type: "https://authflow.dev/problems/method_not_allowed",
      title: "Method not allowed",
      detail: `/api/flows/${flow} does not take PUT; it takes GET, HEAD, DELETE. The API is described at /docs.`,
    });
    expect((await t.api("PUT", "/api/nope")).status).toBe(404);
    // Strict paths, as the router's: a trailing slash is no route at all (not "does not take GET; it takes GET").
    for (const path of ["/api/flows/", `/api/flows/${flow}/`, "/healthz/"]) expect((await t.api("GET", path)).status, path).toBe(404);
  });

  it("a whole flow: AUTHORIZE → ID-porten login (login_hint) → Success → altinnAuthorized → token for the bound user only", async () => {
    const created = await t.api("POST", "/api/flows", { legalEntity: "999999999" });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ state: "idle", legalEntity: "999999999", boundUser: null, idporten: null, altinn: null, lastError: null });
    const id = created.json.id;

    const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en", acr: "idporten-loa-substantial" });
    expect(authorize.status).toBe(200);
    expect(authorize.json.state).toBe("awaitingCode");
    // The link is on this server; opening it binds the browser (an HttpOnly, SameSite=Lax cookie on
    // the callback's path) and sends it on to ID-porten with a pushed request (PAR): the browser's
    // URL holds only client_id and request_uri — no state, nonce or challenge.
    const link = new URL(authorize.json.authorizationUrl);
    expect(link.origin).toBe(t.url);
    // The link is a capability: in the view, never in clear in the data file (nor in lists).
    const secretPart = link.pathname.split(".")[1]!;
    expect(await readFile(join(t.dataDir, "flows", `${id}.json`), "utf8")).not.toContain(secretPart);
    expect((await t.api("GET", "/api/flows")).json.flows.find((f: { id: string }) => f.id === id).authorizationUrl).toBeNull();
    expect((await t.api("GET", `/api/flows/${id}`)).json.authorizationUrl).toBe(authorize.json.authorizationUrl);
    expect(link.pathname).toMatch(new RegExp(`^/login/${id}\\.[0-9a-f]{64}$`));
    const opened = await fetch(link, { redirect: "manual" });
    expect(opened.status).toBe(302);
    const setCookie = opened.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(new RegExp(`^authflow_login_${id}=[0-9a-f]{64};`));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\/callback/);
    const toIdporten = new URL(opened.headers.get("location")!);
    expect(toIdporten.origin).toBe(new URL(t.service.simulator!.issuer).origin);
    expect([...toIdporten.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);
    // Single-use: the same link opened again (another browser) is refused in words, and changes nothing.
    const again = await fetch(link, { redirect: "manual" });
    expect(again.status).toBe(410);
    expect(await again.text()).toMatch(/already opened|expired/);
    await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en", acr: "idporten-loa-substantial" }).then((r) => Object.assign(authorize, r));

    const page = await t.login(authorize.json.authorizationUrl);
    expect(page.status).toBe(200);
    expect(page.url).toContain(`${t.url}/callback?`);
    expect(new URL(page.url).searchParams.get("iss")).toBe(t.service.simulator!.issuer);
    expect(page.body).toContain("Success");

    const view = await t.api("GET", `/api/flows/${id}`);
    expect(view.json).toMatchObject({
      state: "altinnAuthorized",
      boundUser: "alice",
      authorizationUrl: null,
      idporten: { grantedScope: expect.stringContaining("openid"), pid: `${PID.slice(0, 6)}*****` },
      altinn: { expiresAt: expect.any(String) },
      lastError: null,
    });
    expect(Date.parse(view.json.authorizationExpiresAt) - Date.now()).toBeGreaterThan(364 * 86400_000);

    const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status).toBe(200);
    expect(token.json.altinnToken.split(".")).toHaveLength(3);
    expect(Date.parse(token.json.expiresAt)).toBeGreaterThan(Date.now());
    expect(view.text).not.toContain(token.json.altinnToken);
    expect(view.text).not.toContain(PID);

    const other = await t.api("POST", `/api/flows/${id}/token`, { user: "bob" });
    expect(other.status).toBe(403);
    expect(other.type).toContain("application/problem+json");
    expect(other.json.detail).toContain('"alice"');

    const wrongState = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_CODE", user: "alice" });
    expect(wrongState.status).toBe(409);
    expect(wrongState.json.detail).toMatch(/not accepted while the flow is altinnAuthorized/);

    const listed = await t.api("GET", "/api/flows?state=altinnAuthorized&legalEntity=999999999");
    expect(listed.json.flows.map((f: { id: string }) => f.id)).toContain(id);

    // Nothing secret in the logs or on disk.
    for (const line of t.lines) {
      expect(line).not.toContain(token.json.altinnToken);
      expect(line).not.toMatch(/eyJ[\w-]{10,}\./);
    }
  });

  it("a replayed callback changes nothing; a foreign state is refused", async () => {
    const { id, page } = await authorizedFlow(t);
    const before = await t.api("GET", `/api/flows/${id}`);
    const replay = await fetch(page.url);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/already used/);
    const after = await t.api("GET", `/api/flows/${id}`);
    expect(after.json.updatedAt).toBe(before.json.updatedAt);
    expect(after.json.state).toBe("altinnAuthorized");

    const foreign = await fetch(`${t.url}/callback?code=abc&state=${crypto.randomUUID()}.xyz`);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toMatch(/does not belong/);
    const empty = await fetch(`${t.url}/callback`);
    expect(empty.status).toBe(400);
  });

  it("REVOKE by another user is 403; by the bound user drops the authorization", async () => {
    const { id } = await authorizedFlow(t);
    expect((await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "bob" })).status).toBe(403);
    const revoked = await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
    expect(revoked.json).toMatchObject({ state: "idle", boundUser: null, idporten: null, altinn: null });
    const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status).toBe(409);
    expect(token.json.detail).toMatch(/AUTHORIZE/);
  });

  it("a colleague's AUTHORIZE does not cost the bound user their token", async () => {
    const { id } = await authorizedFlow(t);
    const bob = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" });
    expect(bob.json).toMatchObject({ state: "awaitingCode", boundUser: "alice", pendingUser: "bob" });
    expect((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200);
    expect((await t.api("POST", `/api/flows/${id}/token`, { user: "bob" })).status).toBe(403);
    await t.login(bob.json.authorizationUrl);
    const after = await t.api("GET", `/api/flows/${id}`);
    expect(after.json).toMatchObject({ state: "altinnAuthorized", boundUser: "bob" });
    expect((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(403);
  });

  it("after a restart the flow is still authorized and the token call still works; the data folder holds no secret in clear", async () => {
    const { id } = await authorizedFlow(t);
    const before = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    await t.restart();
    const view = await t.api("GET", `/api/flows/${id}`);
    expect(view.json.state).toBe("altinnAuthorized");
    const after = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(after.status).toBe(200);
    expect(after.json.altinnToken).toBe(before.json.altinnToken);

    const keyFile = await stat(join(t.dataDir, "encryption.key"));
    expect(keyFile.mode & 0o777).toBe(0o600);
    for (const file of await allFiles(t.dataDir)) {
      if (file.endsWith("encryption.key") || file.endsWith("/key")) continue;
      const raw = await readFile(file, "utf8");
      expect(raw, file).not.toContain(after.json.altinnToken);
      expect(raw, file).not.toContain(PID);
      expect(raw, file).not.toMatch(/eyJ[\w-]{10,}\.eyJ/);
    }
  });
});

describe("redirect URL guard over HTTP", () => {
  it("AUTHORIZE is refused with 422 naming both URLs when the redirect URL is not registered", async () => {
    const t = await startTestService({ IDPORTEN_REGISTERED_REDIRECT_URIS: "https://erp.example/web-applications" });
    try {
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
      const res = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      expect(res.status).toBe(422);
      expect(res.type).toContain("application/problem+json");
      expect(res.json.detail).toContain(`${t.url}/callback`);
      expect(res.json.detail).toContain("https://erp.example/web-applications");
      expect((await t.api("GET", `/api/flows/${id}`)).json.state).toBe("idle");
    } finally {
      await t.close();
    }
  });
});

describe("callbacks racing", () => {
  it("the same callback three times at once: exactly one is used, the others get the 'already used' page", async () => {
    const t = await startTestService({ EXCHANGE_MODE: "manual" });
    try {
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
      const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      const callback = await t.login(authorize.json.authorizationUrl, undefined, `${t.url}/callback`);
      const headers = { cookie: callback.cookie };
      const results = await Promise.all([fetch(callback.url, { headers }), fetch(callback.url, { headers }), fetch(callback.url, { headers })]);
      const pages = await Promise.all(results.map(async (r) => ({ status: r.status, type: r.headers.get("content-type"), body: await r.text() })));
      expect(pages.filter((p) => p.status === 200 && p.body.includes("Code received"))).toHaveLength(1);
      expect(pages.filter((p) => p.status === 400 && p.body.includes("already used"))).toHaveLength(2);
      for (const p of pages) expect(p.type).toContain("text/html");
      expect((await t.api("GET", `/api/flows/${id}`)).json).toMatchObject({ state: "awaitingCode", codeReceived: true });
    } finally {
      await t.close();
    }
  });
});

describe("scopes (issue 9)", () => {
  it("a scope the client is not registered for is refused by ID-porten when the login link is opened: the flow is idle with lastError invalid_scope", async () => {
    const t = await startTestService({ IDPORTEN_SCOPE: "openid skatteetaten:mvameldinginnsending altinn:instances.read altinn:instances.write skatteetaten:mvameldingvalidering not:registered" });
    try {
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
      const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      const page = await t.login(authorize.json.authorizationUrl);
      expect(page.status).toBe(400);
      expect(page.body).toMatch(/did not complete/);
      const view = (await t.api("GET", `/api/flows/${id}`)).json;
      expect(view).toMatchObject({ state: "idle", lastError: { error: "invalid_scope" } });
      expect(view.lastError.hint).toMatch(/IDPORTEN_SCOPE/);
    } finally {
      await t.close();
    }
  });

  it("the embedded client gets the VAT scopes, Altinn's included", async () => {
    const t = await startTestService();
    try {
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
      const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      await t.login(authorize.json.authorizationUrl);
      const view = await t.waitForState(id, ["altinnAuthorized"]);
      for (const scope of ["openid", "skatteetaten:mvameldingvalidering", "skatteetaten:mvameldinginnsending", "altinn:instances.read", "altinn:instances.write"]) {
        expect(view.idporten.grantedScope.split(" ")).toContain(scope);
      }
    } finally {
      await t.close();
    }
  });
});
