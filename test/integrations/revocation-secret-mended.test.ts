// A revocation that ID-porten refuses because the client's secret is no longer good. It used to be
// kept only inside the pending entry: REVOKE had cleared the flow's attention, so the flow was listed
// nowhere, and it was retried hourly for as long as the token could be used (review). Now the
// refusal marks the flow for attention, and entering the mended secret on the integration makes the
// revocation go through at once. Real service, real simulator (its client registry changes the
// secret, as at Digdir), real HTTP.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";

const SECRET = "beta-secret-Zq9x7Vv2Lr4Kp8Wm3Tn6Hs1";
const NEW_SECRET = "beta-renewed-secret-Bc5Df7Gh9Jk2Lm4";

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
}, 60_000);
afterAll(async () => t?.close());

const integration = (secret: string) => ({
  name: "beta",
  idporten: { issuer: t.service.simulator!.issuer, clientId: "beta-client", clientSecret: secret, redirectUri: `${t.url}/callback` },
  altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl },
});

async function until<T>(look: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  let value = await look();
  for (const end = Date.now() + ms; !done(value) && Date.now() < end; value = await look()) await new Promise((r) => setTimeout(r, 50));
  return value;
}

it("a revocation refused for the client's secret needs a person, and goes through once the secret is entered", async () => {
  expect((await t.control("POST", "/clients", { clientId: "beta-client", clientSecret: SECRET, redirectUris: [`${t.url}/callback`] })).status).toBe(201);
  expect((await t.api("POST", "/api/integrations", integration(SECRET))).status).toBe(201);
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999", integration: "beta" })).json.id as string;
  const started = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  await t.login(started.json.authorizationUrl);
  expect((await t.waitForState(id, ["altinnAuthorized"])).state).toBe("altinnAuthorized");

  // Digdir has a new secret for the client; this server still sends the old one.
  expect((await t.control("POST", "/clients", { clientId: "beta-client", clientSecret: NEW_SECRET, redirectUris: [`${t.url}/callback`] })).status).toBe(201);
  const revoked = await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
  expect(revoked.status, revoked.text).toBe(200);
  const refused = await until(() => t.api("GET", `/api/flows/${id}`), (v) => v.json.attention !== null);
  expect(refused.json).toMatchObject({ state: "idle", pendingRevocations: 1, attention: { error: "invalid_client" } });
  expect(refused.json.attention.error_description).toMatch(/refused the revocation of an ended authorization's refresh token/);
  expect(refused.json.attention.hint).toMatch(/integration "beta".*no restart is needed/);
  const listed = await t.api("GET", "/api/flows?attention=true");
  expect(listed.json.flows.map((f: { id: string }) => f.id)).toContain(id);

  // The secret is entered: the revocation is tried again at once (not at the backoff's next step, 30 s on), and goes through.
  const current = (await t.api("GET", "/api/integrations/beta")).json;
  expect((await t.api("PUT", "/api/integrations/beta", { ...integration(NEW_SECRET), revision: current.revision })).status).toBe(200);
  const mended = await until(() => t.api("GET", `/api/flows/${id}`), (v) => v.json.pendingRevocations === 0, 10_000);
  expect(mended.json).toMatchObject({ state: "idle", pendingRevocations: 0, attention: null });
  expect((await t.control("POST", "/revoke", { pid: "01817010055" })).json.revokedGrants, "live grants left at the simulator").toBe(0);
}, 60_000);
