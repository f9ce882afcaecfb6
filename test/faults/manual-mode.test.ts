// EXCHANGE_MODE=manual, as Dynamics' "Web applications" page does it: the browser comes back with a
// code ("Code received"), a person presses "Get access token" (EXCHANGE_CODE), then "NO Altinn: get
// access token" (EXCHANGE_ALTINN). The happy path against the real simulator, step by step.
import { afterEach, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { LEGAL_ENTITY, simulatorSaw } from "../support/fault-helpers.ts";

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("manual mode: AUTHORIZE → login → 'Code received' → EXCHANGE_CODE → idportenAuthorized (token 409 until EXCHANGE_ALTINN) → EXCHANGE_ALTINN → altinnAuthorized, token 200", async () => {
  t = await startTestService({ EXCHANGE_MODE: "manual" });
  const id = (await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY })).json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en" });
  expect(authorize.status).toBe(200);
  expect(authorize.json.state).toBe("awaitingCode");

  const page = await t.login(authorize.json.authorizationUrl); // the login link, with login_hint
  expect(page.status).toBe(200);
  expect(page.body).toContain("Code received");
  const held = (await t.api("GET", `/api/flows/${id}`)).json;
  expect(held).toMatchObject({ state: "awaitingCode", codeReceived: true, boundUser: null });
  expect(simulatorSaw(t).codeExchanges, "nothing is exchanged before EXCHANGE_CODE").toBe(0);

  const exchanged = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_CODE", user: "alice" });
  expect(exchanged.status).toBe(200);
  expect(exchanged.json).toMatchObject({ state: "idportenAuthorized", boundUser: "alice", altinn: null, lastError: null });
  expect(exchanged.json.idporten.grantedScope).toContain("altinn:instances.write");
  expect(simulatorSaw(t).codeExchanges).toBe(1);

  const early = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(early.status).toBe(409);
  expect(early.type).toContain("application/problem+json");
  expect(early.json.detail).toMatch(/manual mode/);
  expect(early.json.detail).toMatch(/EXCHANGE_ALTINN/);
  expect((await t.api("GET", `/api/flows/${id}`)).json.altinn, "the token call did not exchange on its own").toBeNull();

  const altinn = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_ALTINN", user: "alice" });
  expect(altinn.status).toBe(200);
  expect(altinn.json.state).toBe("altinnAuthorized");
  expect(altinn.json.altinn.expiresAt).toEqual(expect.any(String));

  const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(token.status).toBe(200);
  expect(token.json).toEqual({
    altinnToken: expect.stringMatching(/^eyJ/),
    expiresAt: expect.any(String),
    idportenAccessToken: expect.stringMatching(/^eyJ/),
    idportenAccessTokenExpiresAt: expect.any(String),
  });
  expect(simulatorSaw(t).refreshes, "no renewal was needed").toBe(0);
}, 30_000);
