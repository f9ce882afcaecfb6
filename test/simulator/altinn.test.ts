// Altinn's token exchange: verifies the ID-porten token against the simulator's own JWKS and
// answers an Altinn JWT as text/plain with a unique jti and the same expiry.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, SignJWT } from "jose";
import type * as client from "openid-client";
import { hasAcceptedScope } from "../../src/simulator/altinn.ts";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, decodeJwt, PID, relyingParty, sleep, start } from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  simulator = await start();
  config = await relyingParty(simulator);
});
afterAll(() => simulator.close());

const exchangeAltinn = (token?: string) =>
  fetch(simulator.altinnExchangeUrl, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe("Altinn exchange", () => {
  it("answers an Altinn JWT as text/plain with a unique jti and the access token's expiry", async () => {
    const tokens = await authorize(config, { acr_values: "idporten-loa-high" });
    const first = await exchangeAltinn(tokens.access_token);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^text\/plain/);
    const one = decodeJwt(await first.text());
    const two = decodeJwt(await (await exchangeAltinn(tokens.access_token)).text());

    expect(one).toMatchObject({ pid: PID, "urn:altinn:authlevel": 4, exp: decodeJwt(tokens.access_token).exp });
    expect(one.jti).toBeTruthy();
    expect(one.jti).not.toBe(two.jti);
  });

  it("maps substantial to authentication level 3", async () => {
    const tokens = await authorize(config);
    const altinn = decodeJwt(await (await exchangeAltinn(tokens.access_token)).text());
    expect(altinn["urn:altinn:authlevel"]).toBe(3);
  });

  it("answers 401 without a token", async () => {
    const res = await exchangeAltinn();
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("answers 401 for a token signed by someone else (under the simulator's kid)", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const { keys } = await (await fetch(`${simulator.issuer}/jwks`)).json();
    const forged = await new SignJWT({ pid: PID, acr: "idporten-loa-high", scope: "altinn:instances.read", client_id: "test-client" })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: keys[0].kid })
      .setIssuer(simulator.issuer)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    expect((await exchangeAltinn(forged)).status).toBe(401);
    expect((await exchangeAltinn("not-a-jwt")).status).toBe(401);
  });

  it("answers 401 for an expired token", async () => {
    simulator.control.setLifetimes({ accessTokenSeconds: 1 });
    try {
      const tokens = await authorize(config);
      await sleep(1200);
      const res = await exchangeAltinn(tokens.access_token);
      expect(res.status).toBe(401);
      expect((await res.json()).detail).toMatch(/expired/);
    } finally {
      simulator.control.setLifetimes({ accessTokenSeconds: 7200 });
    }
  });

  it("answers 403 for a token without an accepted scope", async () => {
    const tokens = await authorize(config, { scope: "openid" });
    expect(decodeJwt(tokens.access_token).pid).toBe(PID);
    const res = await exchangeAltinn(tokens.access_token);
    expect(res.status).toBe(403);
  });
});

describe("hasAcceptedScope", () => {
  it("accepts any altinn: scope and Skatteetaten's VAT scopes, nothing else", () => {
    expect(hasAcceptedScope("altinn:instances.read")).toBe(true);
    expect(hasAcceptedScope("openid skatteetaten:mvameldinginnsending")).toBe(true);
    expect(hasAcceptedScope("skatteetaten:mvameldingvalidering")).toBe(true);
    expect(hasAcceptedScope("openid profile")).toBe(false);
    expect(hasAcceptedScope("")).toBe(false);
    expect(hasAcceptedScope(undefined)).toBe(false);
  });
});
