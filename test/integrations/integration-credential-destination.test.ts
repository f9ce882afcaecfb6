// The write-only client secret is never sent somewhere new: an edit of a stored integration that
// changes where its credentials go (idporten.issuer, idporten.clientId, idporten.clientAuth,
// altinn.exchangeUrl) must carry the secret again; an edit of the issuer or client id is refused
// while flows hold grants from the old one (their refresh tokens only work there); and the
// integration's text fields refuse control and invisible characters. Real service, real simulator,
// real HTTP; the attempted new issuer is a tiny local HTTP server that records every request.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const SECRET = "acme-secret-Zq9x7Vv2Lr4Kp8Wm3Tn6Hs1";
const ENTITY = "999999999";
const ALICE_PASSWORD = "alice-password-destination-1";
const SIGNIN_COOKIE = "authflow_signin";

/** A tiny HTTP server standing for an issuer (and exchange) nobody should send anything to: it records what arrives. */
async function trap(): Promise<{ url: string; requests: Array<{ method: string; url: string; body: string }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; url: string; body: string }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", body });
      res.writeHead(404, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("an integration's credentials are never sent somewhere new", () => {
  let t: TestService;
  let elsewhere: Awaited<ReturnType<typeof trap>>;
  const integration = (name: string, clientId = `${name}-client`) => ({
    name,
    idporten: {
      issuer: t.service.simulator!.issuer,
      clientId,
      clientSecret: SECRET,
      redirectUri: `${t.url}/callback`,
      scope: "openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending altinn:instances.read altinn:instances.write",
    },
    altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl },
  });
  /** An edit of `name` as stored now, with `change` applied to its ID-porten part (no secret unless given). */
  async function edit(name: string, idporten: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) {
    const current = (await t.api("GET", `/api/integrations/${name}`)).json;
    const { clientSecretSet: _set, ...stored } = current.idporten;
    return t.api("PUT", `/api/integrations/${name}`, {
      idporten: { ...stored, clientKeyId: stored.clientKeyId ?? undefined, ...idporten },
      altinn: current.altinn,
      authorizationLifetimeSeconds: current.authorizationLifetimeSeconds,
      loginTimeoutSeconds: current.loginTimeoutSeconds,
      exchangeMode: current.exchangeMode,
      revision: current.revision,
      ...rest,
    });
  }
  const snapshot = async (name: string) => ({ view: (await t.api("GET", `/api/integrations/${name}`)).json, audit: (await t.api("GET", `/api/integrations/${name}/audit`)).json.entries });

  beforeAll(async () => {
    elsewhere = await trap();
    const alice = { user: "alice", passwordHash: await hashPassword(ALICE_PASSWORD, { ln: 10, r: 8, p: 1 }) };
    t = await startTestService({ UI_USERS: JSON.stringify([alice]), INTEGRATION_ADMINS: "alice" });
    for (const name of ["acme", "beta", "gamma"]) {
      expect((await t.api("POST", "/api/integrations", integration(name))).status).toBe(201);
      expect((await t.control("POST", "/clients", { clientId: `${name}-client`, clientSecret: SECRET, redirectUris: [`${t.url}/callback`] })).status).toBe(201);
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await elsewhere?.close();
  });

  it("refuses an edit that moves the issuer, client id, client authentication or exchange URL without the secret (400, named at idporten.clientSecret); nothing changes", async () => {
    const before = await snapshot("gamma");
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string[]]> = [
      [{ issuer: elsewhere.url }, {}, ["idporten.issuer"]],
      [{ issuer: `${elsewhere.url}/` }, { altinn: { exchangeUrl: `${elsewhere.url}/exchange` } }, ["idporten.issuer", "altinn.exchangeUrl"]],
      [{ clientId: "someone-else" }, {}, ["idporten.clientId"]],
      [{ clientAuth: "client_secret_basic" }, {}, ["idporten.clientAuth"]],
      [{}, { altinn: { exchangeUrl: `${elsewhere.url}/exchange` } }, ["altinn.exchangeUrl"]],
    ];
    for (const [idporten, rest, fields] of cases) {
      const refused = await edit("gamma", idporten, rest);
      expect(refused.status, JSON.stringify(idporten)).toBe(400);
      expect(refused.type).toContain("application/problem+json");
      expect(refused.json.detail).toMatch(/^Client secret \(idporten\.clientSecret\) must be entered again: /);
      for (const field of fields) expect(refused.json.detail).toContain(`(${field})`);
      expect(refused.json.detail).toContain("a stored secret is never sent to a new issuer");
      expect(refused.json.errors).toEqual([expect.objectContaining({ field: "idporten.clientSecret" })]);
    }
    expect(await snapshot("gamma")).toEqual(before);
  });

  it("still saves an edit of scope, lifetimes or mode without the secret, and one that moves the issuer with it", async () => {
    const scoped = await edit("gamma", { scope: "openid altinn:instances.read" }, { loginTimeoutSeconds: 300, authorizationLifetimeSeconds: 7200, exchangeMode: "manual" });
    expect(scoped.status, scoped.text).toBe(200);
    expect(scoped.json).toMatchObject({ loginTimeoutSeconds: 300, authorizationLifetimeSeconds: 7200, exchangeMode: "manual", idporten: { scope: "openid altinn:instances.read", clientSecretSet: true } });
    // gamma has no flow: with the secret typed again, it may point elsewhere (and back).
    const moved = await edit("gamma", { issuer: elsewhere.url, clientSecret: SECRET });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.json.idporten.issuer).toBe(elsewhere.url);
    const back = await edit("gamma", { issuer: t.service.simulator!.issuer, clientSecret: SECRET });
    expect(back.status, back.text).toBe(200);
    expect(elsewhere.requests).toEqual([]); // saving does not call the issuer
  });

  it("refuses to change the issuer or client id while a flow holds a grant from the old one (409, how many, from where); a RENEW then reaches no new issuer", async () => {
    const created = await t.api("POST", "/api/flows", { legalEntity: ENTITY, integration: "acme" });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const started = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect(started.status).toBe(200);
    expect((await t.login(started.json.authorizationUrl)).body).toContain("Success");
    expect((await t.waitForState(id, ["altinnAuthorized"])).state).toBe("altinnAuthorized");

    const before = await snapshot("acme");
    const old = `${t.service.simulator!.issuer}/acme-client`;
    for (const [change, field] of [
      [{ issuer: elsewhere.url, clientSecret: SECRET }, "idporten.issuer"],
      [{ clientId: "acme-new-client", clientSecret: SECRET }, "idporten.clientId"],
      [{ issuer: elsewhere.url }, "idporten.issuer"], // without the secret: the grants are named first
    ] as const) {
      const refused = await edit("acme", change);
      expect(refused.status, JSON.stringify(change)).toBe(409);
      expect(refused.json.detail).toContain(`(${field})`);
      expect(refused.json.detail).toContain(`1 flow holds grants from ${old}; their refresh tokens only work there. Add a new integration for the new client instead (or revoke those authorizations first).`);
      expect(refused.json.flows).toBe(1);
    }
    // The exchange URL is not what a refresh token is bound to, but the secret must still come with it.
    const exchange = await edit("acme", {}, { altinn: { exchangeUrl: `${elsewhere.url}/exchange` } });
    expect(exchange.status).toBe(400);
    expect(exchange.json.detail).toMatch(/Altinn exchange URL \(altinn\.exchangeUrl\) changed, and a stored secret is never sent to a new issuer/);
    expect(await snapshot("acme")).toEqual(before);

    // The flow renews (refresh + Altinn exchange) where it always did; nothing reached the other server.
    const renewed = await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
    expect(renewed.status, renewed.text).toBe(200);
    expect(renewed.json).toMatchObject({ state: "altinnAuthorized", attention: null, lastError: null });
    expect(elsewhere.requests).toEqual([]);

    // A scope change is still fine while the flow holds its grant.
    expect((await edit("acme", { scope: "openid altinn:instances.read altinn:instances.write" })).status).toBe(200);
  }, 60_000);

  it("counts a login in progress as holding (its code is the old client's), and not a flow that holds nothing", async () => {
    const pending = await t.api("POST", "/api/flows", { legalEntity: ENTITY, integration: "beta" });
    const started = await t.api("POST", `/api/flows/${pending.json.id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect(started.json.state).toBe("awaitingCode");
    const refused = await edit("beta", { clientId: "beta-new-client", clientSecret: SECRET });
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toContain(`1 flow holds grants from ${t.service.simulator!.issuer}/beta-client`);

    // An idle flow on gamma holds nothing: its issuer may change (with the secret).
    const idle = await t.api("POST", "/api/flows", { legalEntity: ENTITY, integration: "gamma" });
    expect(idle.json.state).toBe("idle");
    const moved = await edit("gamma", { clientId: "gamma-new-client", clientSecret: SECRET });
    expect(moved.status, moved.text).toBe(200);
  });

  it("refuses control and invisible characters in every text field, in words naming the field and the character", async () => {
    const base = integration("delta");
    const cases: Array<[string, (body: ReturnType<typeof integration>) => unknown, string]> = [
      ["idporten.clientId", (b) => ({ ...b, idporten: { ...b.idporten, clientId: "delta\u200Bclient" } }), "U+200B"],
      ["idporten.clientId", (b) => ({ ...b, idporten: { ...b.idporten, clientId: "delta-client\n" } }), "U+000A"],
      ["idporten.scope", (b) => ({ ...b, idporten: { ...b.idporten, scope: "openid\taltinn:instances.read" } }), "U+0009"],
      ["idporten.issuer", (b) => ({ ...b, idporten: { ...b.idporten, issuer: `${b.idporten.issuer}\u202E` } }), "U+202E"],
      ["idporten.redirectUri", (b) => ({ ...b, idporten: { ...b.idporten, redirectUri: `${b.idporten.redirectUri}\u2028` } }), "U+2028"],
      ["idporten.registeredRedirectUris.0", (b) => ({ ...b, idporten: { ...b.idporten, registeredRedirectUris: [`${b.idporten.redirectUri}\u0000`] } }), "U+0000"],
      ["altinn.exchangeUrl", (b) => ({ ...b, altinn: { exchangeUrl: `${b.altinn.exchangeUrl}\u2029` } }), "U+2029"],
      ["idporten.clientKeyId", (b) => ({ ...b, idporten: { ...b.idporten, clientSecret: undefined, clientAuth: "private_key_jwt", clientKey: "{}", clientKeyId: "kid\u00AD1" } }), "U+00AD"],
      ["name", (b) => ({ ...b, name: "delta\u200D" }), ""],
    ];
    for (const [field, make, code] of cases) {
      const refused = await t.api("POST", "/api/integrations", make(base));
      expect(refused.status, field).toBe(400);
      const problem = (refused.json.errors as Array<{ field: string; detail: string }>).find((e) => e.field === field);
      expect(problem, `${field}: ${refused.text}`).toBeTruthy();
      if (code) expect(problem!.detail).toMatch(new RegExp(`contains a control or invisible character \\(${code.replace("+", "\\+")} at position \\d+\\); use printable characters only`));
    }
    expect((await t.api("GET", "/api/integrations/delta")).status).toBe(404);
    // An edit is checked alike.
    const edited = await edit("gamma", { scope: "openid\u200Baltinn:instances.read" });
    expect(edited.status).toBe(400);
    expect(edited.json.detail).toMatch(/^Scope \(idporten\.scope\) contains a control or invisible character \(U\+200B/);
  });

  it("shows the refusal on the page at the client secret field, and saves nothing", async () => {
    const jar = new Map<string, string>();
    const visit = async (path: string, form?: Record<string, string>) => {
      const headers: Record<string, string> = { "accept-language": "en" };
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
      if (form) headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await fetch(t.url + path, { method: form ? "POST" : "GET", headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: "manual" });
      for (const c of res.headers.getSetCookie()) {
        const pair = c.split(";")[0]!;
        const i = pair.indexOf("=");
        const value = pair.slice(i + 1).trim();
        if (value === "") jar.delete(pair.slice(0, i).trim());
        else jar.set(pair.slice(0, i).trim(), value);
      }
      return { status: res.status, location: res.headers.get("location"), text: await res.text() };
    };
    await visit("/signin");
    const signedIn = await visit("/signin", { user: "alice", password: ALICE_PASSWORD, back: "/", _csrf: jar.get(SIGNIN_COOKIE) ?? "" });
    expect(signedIn.status).toBe(303);
    const home = await visit("/");
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!;
    const before = await snapshot("gamma");
    const v = before.view;
    const posted = await visit("/integrations/gamma", {
      _csrf: csrf,
      revision: String(v.revision),
      issuer: elsewhere.url,
      clientId: v.idporten.clientId,
      clientAuth: v.idporten.clientAuth,
      clientSecret: "",
      redirectUri: v.idporten.redirectUri,
      registeredRedirectUris: v.idporten.registeredRedirectUris.join("\n"),
      scope: v.idporten.scope,
      exchangeUrl: v.altinn.exchangeUrl,
      authorizationLifetimeSeconds: String(v.authorizationLifetimeSeconds),
      loginTimeoutSeconds: String(v.loginTimeoutSeconds),
      exchangeMode: v.exchangeMode,
    });
    expect(posted.status).toBe(303);
    const page = await visit(posted.location!.replace(t.url, "").replace(/#.*$/, "") || "/");
    const help = /<span id="gamma-clientSecret-help" class="problem">([^<]*)<\/span>/.exec(page.text);
    expect(help, "the problem is shown at the client secret field").toBeTruthy();
    expect(help![1]).toContain("must be entered again");
    expect(help![1]).toContain("a stored secret is never sent to a new issuer");
    expect(page.text).toMatch(/id="gamma-clientSecret"[^>]*aria-invalid="true"/);
    expect(await snapshot("gamma")).toEqual(before);
    expect(elsewhere.requests).toEqual([]);
  });
});
