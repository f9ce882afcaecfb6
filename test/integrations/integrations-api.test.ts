// Issue 10 §5: integrations added and edited through /api/integrations — validated with messages
// that name the field, the client secret sealed at rest and never shown, stale edits refused, the
// configured "default" read-only, restricted clients refused, every change in the audit trail, and
// a flow on a stored integration that logs in and reaches altinnAuthorized through ITS client at
// the simulator. Real service, real simulator, real HTTP, real files.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenSha256 } from "../../src/identity/api-clients.ts";
import { decodeJwtPayload } from "../../src/idporten/jwt.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const SECRET = "acme-secret-Zq9x7Vv2Lr4Kp8Wm3Tn6Hs1";
const NEW_SECRET = "acme-renewed-secret-Bc5Df7Gh9Jk2Lm4";
const READER_TOKEN = "reader-token-one-entity-0123456789abcdef";
const ENTITY = "999999999";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Every file under DATA_DIR holding `needle` (as text, or base64/base64url of it). */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const forms = [needle, Buffer.from(needle).toString("base64").slice(0, 20), Buffer.from(needle).toString("base64url").slice(0, 20)];
  const found: string[] = [];
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file);
    const text = bytes.toString("latin1");
    if (forms.some((f) => text.includes(f))) found.push(file);
  }
  return found;
}

describe("integrations through /api/integrations", () => {
  let t: TestService;
  const answers: string[] = [];
  const api: TestService["api"] = async (...args) => {
    const answer = await t.api(...args);
    answers.push(answer.text);
    return answer;
  };
  const integration = (name = "acme") => ({
    name,
    idporten: {
      issuer: t.service.simulator!.issuer,
      clientId: `${name}-client`,
      clientSecret: SECRET,
      redirectUri: `${t.url}/callback`,
      scope: "openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending altinn:instances.read altinn:instances.write",
    },
    altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl },
  });

  beforeAll(async () => {
    const clients = [{ name: "one-entity", tokenSha256: await tokenSha256(READER_TOKEN), legalEntities: [ENTITY], users: "*" }];
    t = await startTestService({ API_CLIENTS: JSON.stringify(clients) });
  }, 60_000);
  afterAll(async () => t?.close());

  it("lists the configured integration as default, source configuration, with no secret", async () => {
    const list = await api("GET", "/api/integrations");
    expect(list.status).toBe(200);
    const [first] = list.json.integrations;
    expect(first).toMatchObject({ name: "default", source: "configuration", revision: 0, redirectCheck: { ok: true } });
    expect(first.idporten.clientSecretSet).toBe(true);
    expect(JSON.stringify(first)).not.toMatch(/"clientSecret"/);
  });

  it("refuses bad input with one sentence per field that says what to fix (400, problem+json), never a 500", async () => {
    const bad = await api("POST", "/api/integrations", {
      name: "Acme_Test",
      idporten: { issuer: "http://idp.example.com", clientId: "x", redirectUri: `${t.url}/callback`, registeredRedirectUris: ["https://erp.example/callback"], scope: "profile" },
      altinn: { exchangeUrl: "http://altinn.example.com/exchange" },
      authorizationLifetimeSeconds: 99_999_999,
    });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain("application/problem+json");
    const detail: string = bad.json.detail;
    expect(detail).toMatch(/Name \(name\) must be 1–40 lowercase letters/);
    expect(detail).toMatch(/ID-porten issuer \(idporten\.issuer\) must be https .*localhost/);
    expect(detail).toMatch(/Altinn exchange URL \(altinn\.exchangeUrl\) must be https/);
    expect(detail).toMatch(/Authorization lifetime \(authorizationLifetimeSeconds\) must be at most 31536000 seconds/);
    expect(bad.json.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(["name", "idporten.issuer", "altinn.exchangeUrl"]));

    // Once the fields are right, the checks across them speak: scope, redirect URI, the secret.
    const cross = await api("POST", "/api/integrations", {
      ...integration("cross"),
      idporten: { ...integration("cross").idporten, clientSecret: undefined, registeredRedirectUris: ["https://erp.example/callback"], scope: "profile" },
    });
    expect(cross.status).toBe(400);
    expect(cross.json.detail).toMatch(/Scope \(idporten\.scope\) must include "openid"/);
    expect(cross.json.detail).toMatch(/Redirect URI \(idporten\.redirectUri\) must be one of the registered redirect URIs \("https:\/\/erp\.example\/callback"\)/);
    expect(cross.json.detail).toMatch(/Client secret \(idporten\.clientSecret\) is required with client_secret_post/);

    // A secret is stored byte for byte, so what a paste brings along is refused, not stored to fail at ID-porten (review).
    for (const [secret, said] of [
      ["ab\u0000cd-secret", /Client secret \(idporten\.clientSecret\) contains a control or invisible character \(U\+0000 at position 3\)/],
      ["pasted-secret-Qw8Er6Ty4Ui2 ", /Client secret \(idporten\.clientSecret\) must not begin or end with a space/],
    ] as const) {
      const answer = await api("POST", "/api/integrations", { ...integration("pasted"), idporten: { ...integration("pasted").idporten, clientSecret: secret } });
      expect(answer.status, JSON.stringify(secret)).toBe(400);
      expect(answer.json.detail).toMatch(said);
    }
    const twice = await api("POST", "/api/integrations", {
      ...integration("twice"),
      idporten: { ...integration("twice").idporten, registeredRedirectUris: [`${t.url}/callback`, "https://erp.example/callback", `${t.url}/callback`] },
    });
    expect(twice.status).toBe(400);
    expect(twice.json.detail).toMatch(/Registered redirect URIs #3 \(idporten\.registeredRedirectUris\.2\) lists "http:\/\/127\.0\.0\.1:\d+\/callback" twice/);

    const unknownField = await api("POST", "/api/integrations", { ...integration("extra"), colour: "blue" });
    expect(unknownField.status).toBe(400);
    expect(unknownField.json.detail).toMatch(/"colour" is not a field of an integration/);

    for (const body of ["not json", "[]", "null", JSON.stringify({ name: 5 })]) {
      const answer = await api("POST", "/api/integrations", body);
      expect(answer.status, body).toBe(400);
      expect(answer.json.detail, body).toBeTruthy();
    }
  });

  it("adds an integration (201), shows it without its secret, and seals the secret on disk", async () => {
    const created = await api("POST", "/api/integrations", integration("acme"));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: "acme", source: "stored", revision: 1, redirectCheck: { ok: true } });
    expect(created.json.idporten).toMatchObject({ clientId: "acme-client", clientAuth: "client_secret_post", clientSecretSet: true, registeredRedirectUris: [`${t.url}/callback`] });
    expect(created.text).not.toContain(SECRET);
    const again = await api("POST", "/api/integrations", integration("acme"));
    expect(again.status).toBe(409);
    expect(again.json.detail).toMatch(/exists already/);
    const one = await api("GET", "/api/integrations/acme");
    expect(one.status).toBe(200);
    expect(one.json.revision).toBe(1);
    expect(await filesHolding(t.dataDir, SECRET)).toEqual([]);
    const stored = JSON.parse(await readFile(join(t.dataDir, "integrations.json"), "utf8"));
    expect(stored.integrations.acme.sealedCredential).toMatch(/^v1\./);
  });

  it("warns (does not refuse) when the redirect URI is registered but is not this server's callback URL", async () => {
    const elsewhere = "https://erp.example/authflow/callback";
    const created = await api("POST", "/api/integrations", {
      ...integration("elsewhere"),
      idporten: { ...integration("elsewhere").idporten, redirectUri: elsewhere, registeredRedirectUris: [elsewhere] },
    });
    expect(created.status).toBe(201);
    expect(created.json.redirectCheck.ok).toBe(false);
    expect(created.json.redirectCheck.detail).toContain(`${t.url}/callback`);
    expect((await api("DELETE", "/api/integrations/elsewhere")).status).toBe(204);
  });

  it("edits with the revision it was based on; a stale revision gets 409 in words; an absent secret keeps the stored one", async () => {
    const body = { ...integration("acme"), idporten: { ...integration("acme").idporten, clientSecret: undefined }, exchangeMode: "manual", revision: 1 };
    const edited = await api("PUT", "/api/integrations/acme", body);
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ revision: 2, exchangeMode: "manual" });
    expect(edited.json.idporten.clientSecretSet).toBe(true);
    const stale = await api("PUT", "/api/integrations/acme", { ...body, exchangeMode: "auto", revision: 1 });
    expect(stale.status).toBe(409);
    expect(stale.json.detail).toMatch(/changed by someone else since you loaded it \(you edited revision 1; it is now at revision 2\)/);
    // If-Match says the same.
    const res = await fetch(`${t.url}/api/integrations/acme`, {
      method: "PUT",
      headers: { authorization: `Bearer ${"test-api-token-0123456789abcdef0123456789"}`, "content-type": "application/json", "if-match": '"1"' },
      body: JSON.stringify({ ...body, revision: undefined, exchangeMode: "auto" }),
    });
    expect(res.status).toBe(409);
    const back = await api("PUT", "/api/integrations/acme", { ...body, exchangeMode: "auto", revision: 2 });
    expect(back.status).toBe(200);
    expect(back.json.revision).toBe(3);
    const missing = await api("PUT", "/api/integrations/nobody", { ...body, name: undefined });
    expect(missing.status).toBe(404);
  });

  it('keeps "default" read-only: PUT and DELETE answer 409 naming the environment variables and the restart', async () => {
    const put = await api("PUT", "/api/integrations/default", { ...integration("default"), name: undefined });
    expect(put.status).toBe(409);
    expect(put.json.detail).toMatch(/set by environment variables \(IDPORTEN_ISSUER, IDPORTEN_CLIENT_ID.*ALTINN_EXCHANGE_URL.*\).*restart/);
    const del = await api("DELETE", "/api/integrations/default");
    expect(del.status).toBe(409);
    expect(del.json.detail).toMatch(/environment variables/);
    const post = await api("POST", "/api/integrations", integration("default"));
    expect(post.status).toBe(409);
  });

  it("lets a restricted API client read but not change integrations (403 in words)", async () => {
    expect((await api("GET", "/api/integrations", undefined, READER_TOKEN)).status).toBe(200);
    expect((await api("GET", "/api/integrations/acme", undefined, READER_TOKEN)).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", "/api/integrations", integration("sneaky")],
      ["PUT", "/api/integrations/acme", { ...integration("acme"), exchangeMode: "manual" }],
      ["DELETE", "/api/integrations/acme", undefined],
    ] as const) {
      const refused = await api(method, path, body, READER_TOKEN);
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.json.detail).toMatch(/API client "one-entity" may read integrations but not change them/);
    }
    expect((await api("GET", "/api/integrations/sneaky")).status).toBe(404);
  });

  it("answers every malformed request under /api/integrations with a problem document, never a 500", async () => {
    const paths = ["/api/integrations", "/api/integrations/acme", "/api/integrations/%00", `/api/integrations/${"a".repeat(300)}`, "/api/integrations/acme/audit", "/api/integrations/..%2f", "/api/integrations/Default"];
    const bodies = [undefined, "", "{", "[]", "null", '{"name":{}}', '{"idporten":[]}', '{"idporten":{"issuer":5}}', '{"name":"x","idporten":{"issuer":"https://a","clientId":"c","redirectUri":"::","registeredRedirectUris":[1]},"altinn":{"exchangeUrl":"https://b"}}'];
    const wrong: string[] = [];
    for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
      for (const path of paths) {
        if (method === "DELETE" && path === "/api/integrations/acme") continue;
        // Only the methods this sub-app routes (an unrouted POST/PATCH under /api is the app's, not the integrations').
        const collection = path === "/api/integrations";
        const audit = path.endsWith("/audit");
        if (method === "PATCH" || (collection && (method === "PUT" || method === "DELETE")) || (!collection && method === "POST") || (audit && method !== "GET")) continue;
        for (const body of method === "GET" ? [undefined] : bodies) {
          const answer = await api(method, path, body);
          if (answer.status >= 500) wrong.push(`${method} ${path} ${body} → ${answer.status}`);
          else if (answer.status >= 400 && !answer.type.includes("application/problem+json")) wrong.push(`${method} ${path} ${body} → ${answer.status} ${answer.type}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect((await api("GET", "/api/integrations/acme")).json.revision).toBe(3);
  });

  it("runs a flow on a stored integration end to end through that integration's client at the simulator", async () => {
    // As at Digdir's self-service: the simulator learns the new client, its secret and redirect URI.
    const registered = await t.control("POST", "/clients", { clientId: "acme-client", clientSecret: SECRET, redirectUris: [`${t.url}/callback`] });
    expect(registered.status).toBe(201);
    expect(JSON.stringify(registered.json)).not.toContain(SECRET);
    const created = await api("POST", "/api/flows", { legalEntity: ENTITY, integration: "acme" });
    expect(created.status).toBe(201);
    expect(created.json.integration).toBe("acme");
    const id = created.json.id as string;
    const started = await api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect(started.status).toBe(200);
    const page = await t.login(started.json.authorizationUrl);
    expect(page.body).toContain("Success");
    const view = await t.waitForState(id, ["altinnAuthorized"]);
    expect(view.state).toBe("altinnAuthorized");
    const tokens = await api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(tokens.status).toBe(200);
    expect(decodeJwtPayload(tokens.json.idportenAccessToken)?.client_id).toBe("acme-client");
    expect(t.lines.some((l) => /simulator: token: authorization_code .*client acme-client/.test(l))).toBe(true);

    // The configured integration still goes through its own client.
    const other = await api("POST", "/api/flows", { legalEntity: ENTITY });
    expect(other.json.integration).toBe("default");
    const unknown = await api("POST", "/api/flows", { legalEntity: ENTITY, integration: "nobody" });
    expect(unknown.status).toBe(422);
    expect(unknown.json.detail).toMatch(/Unknown integration "nobody"/);

    // Deleting an integration a flow uses is refused, naming how many.
    const del = await api("DELETE", "/api/integrations/acme");
    expect(del.status).toBe(409);
    expect(del.json.detail).toMatch(/Integration "acme" is used by 1 flow;/);

    // A renewed secret: the flow renews with it (the simulator learns it first, as at Digdir).
    expect((await t.control("POST", "/clients", { clientId: "acme-client", clientSecret: NEW_SECRET, redirectUris: [`${t.url}/callback`] })).status).toBe(201);
    const renewedRefused = await api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
    expect(renewedRefused.json.attention?.error).toBe("invalid_client");
    expect(renewedRefused.json.attention.error_description).toMatch(/integration "acme".*PUT \/api\/integrations\/acme/);
    // The hint too: setting IDPORTEN_CLIENT_SECRET and restarting would do nothing for a stored integration (review).
    for (const said of [renewedRefused.json.attention.hint, renewedRefused.json.lastError.hint]) {
      expect(said).toMatch(/integration "acme".*PUT \/api\/integrations\/acme.*no restart is needed/);
      expect(said).not.toMatch(/set IDPORTEN_CLIENT_SECRET/);
    }
    const current = (await api("GET", "/api/integrations/acme")).json;
    const renewed = await api("PUT", "/api/integrations/acme", { ...integration("acme"), idporten: { ...integration("acme").idporten, clientSecret: NEW_SECRET }, revision: current.revision });
    expect(renewed.status).toBe(200);
    // The flows of that integration whose secret was refused try again at once, with the new one.
    const deadline = Date.now() + 10_000;
    let resumed = (await api("GET", `/api/flows/${id}`)).json;
    while (resumed.attention !== null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      resumed = (await api("GET", `/api/flows/${id}`)).json;
    }
    expect(resumed).toMatchObject({ attention: null, state: "altinnAuthorized", lastError: null });
  }, 60_000);

  it("keeps every change in the audit trail: when, which client, which fields — a secret only by name", async () => {
    const audit = await api("GET", "/api/integrations/acme/audit");
    expect(audit.status).toBe(200);
    const entries = audit.json.entries as Array<{ action: string; client: string; user: string | null; changed: string[] }>;
    expect(entries.map((e) => e.action)).toEqual(["create", "update", "update", "update"]);
    expect(entries.every((e) => e.client === "api-token" && e.user === null)).toBe(true);
    expect(entries[0]!.changed).toEqual(expect.arrayContaining(["idporten.clientSecret", "idporten.issuer", "altinn.exchangeUrl"]));
    expect(entries[1]!.changed).toEqual(["exchangeMode"]);
    expect(entries[3]!.changed).toEqual(["idporten.clientSecret"]);
    expect(audit.text).not.toContain(SECRET);
    expect(audit.text).not.toContain(NEW_SECRET);
    const file = await readFile(join(t.dataDir, "audit", "integrations.jsonl"), "utf8");
    expect(file.trim().split("\n")).toHaveLength(6); // acme ×4, elsewhere create + delete
  });

  it("never lets a secret out: not in any answer, log line, or byte under DATA_DIR", async () => {
    for (const secret of [SECRET, NEW_SECRET]) {
      expect(answers.filter((a) => a.includes(secret))).toEqual([]);
      expect(t.lines.filter((l) => l.includes(secret))).toEqual([]);
      expect(await filesHolding(t.dataDir, secret)).toEqual([]);
    }
  });

  it("keeps stored integrations, their sealed secrets and the flows on them across a restart", async () => {
    await t.restart();
    const one = await api("GET", "/api/integrations/acme");
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ name: "acme", source: "stored", idporten: { clientSecretSet: true } });
    const flows = (await api("GET", "/api/flows")).json.flows.filter((f: { integration: string }) => f.integration === "acme");
    expect(flows).toHaveLength(1);
    // The flow renews through acme's client (secret opened from disk; the simulator kept the registration).
    const renewed = await api("POST", `/api/flows/${flows[0].id}/events`, { type: "RENEW", user: "alice" });
    expect(renewed.status).toBe(200);
    expect(renewed.json).toMatchObject({ state: "altinnAuthorized", attention: null, lastError: null });
    expect((await api("GET", "/api/integrations/acme/audit")).json.entries).toHaveLength(4);
  }, 60_000);

  it("binds a sealed secret to its integration: moved into another one on disk, it does not open, and a flow on it is refused in words", async () => {
    expect((await api("POST", "/api/integrations", integration("beta"))).status).toBe(201);
    const path = join(t.dataDir, "integrations.json");
    const doc = JSON.parse(await readFile(path, "utf8"));
    doc.integrations.beta.sealedCredential = doc.integrations.acme.sealedCredential;
    await writeFile(path, JSON.stringify(doc));
    await t.restart();
    const flow = await api("POST", "/api/flows", { legalEntity: ENTITY, integration: "beta" });
    expect(flow.status).toBe(409);
    expect(flow.json.detail).toMatch(/client secret of integration "beta" does not open with this server's encryption key.*PUT \/api\/integrations\/beta/);
    // acme's own flow still renews with it.
    const acme = (await api("GET", "/api/flows")).json.flows.find((f: { integration: string }) => f.integration === "acme");
    expect((await api("POST", `/api/flows/${acme.id}/events`, { type: "RENEW", user: "alice" })).json.lastError).toBeNull();
  }, 60_000);
});
