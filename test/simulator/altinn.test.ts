// Altinn's token exchange: verifies the ID-porten token against the simulator's own JWKS and
// answers an Altinn JWT as text/plain with a unique jti and the same expiry.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, SignJWT } from "jose";
import type * as client from "openid-client";
import { hasAcceptedScope } from "../../src/simulator/altinn.ts";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, control, decodeJwt, otherSyntheticPid, PID, relyingParty, sleep, start } from "./helpers.ts";

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
      // ASP.NET's Unauthorized(): no detail says why (the simulator's log does).
      expect(await res.json()).toEqual({ type: expect.stringMatching(/rfc9110/), title: "Unauthorized", status: 401, traceId: expect.any(String) });
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

  it("carries Altinn's claims: user and party id stable per person, nbf, iat, exp, a unique jti, pid, acr, scope", async () => {
    const tokens = await authorize(config);
    const access = decodeJwt(tokens.access_token);
    const one = decodeJwt(await (await exchangeAltinn(tokens.access_token)).text());
    const again = decodeJwt(await (await exchangeAltinn((await authorize(config)).access_token)).text());
    const other = decodeJwt(await (await exchangeAltinn((await authorize(config, { login_hint: simulator.persons[1].pid })).access_token)).text());
    expect(one).toMatchObject({ pid: PID, acr: "idporten-loa-substantial", scope: access.scope, exp: access.exp, "urn:altinn:authlevel": 3 });
    expect(one["urn:altinn:userid"]).toMatch(/^\d{7}$/);
    expect(one["urn:altinn:partyid"]).toEqual(expect.any(Number));
    expect(String(one["urn:altinn:partyid"])).toMatch(/^5\d{7}$/);
    expect(again["urn:altinn:userid"]).toBe(one["urn:altinn:userid"]);
    expect(again["urn:altinn:partyid"]).toBe(one["urn:altinn:partyid"]);
    expect(other["urn:altinn:partyid"]).not.toBe(one["urn:altinn:partyid"]);
    const now = Math.floor(Date.now() / 1000);
    expect(Math.abs((one.nbf as number) - now)).toBeLessThan(5);
    expect(Math.abs((one.iat as number) - now)).toBeLessThan(5);
    expect(one.jti).not.toBe(again.jti);
    expect(one.sub).toBeUndefined(); // Altinn drops the pairwise sub
  });
});

describe("Altinn's register of persons", () => {
  const unknown = otherSyntheticPid();

  it("a valid synthetic number outside the register logs in at ID-porten but gets Altinn's 401 ProblemDetails", async () => {
    const tokens = await authorize(config, { login_hint: unknown });
    expect(decodeJwt(tokens.access_token).pid).toBe(unknown);
    const res = await exchangeAltinn(tokens.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    const body = await res.json();
    expect(body).toEqual({
      type: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
      title: "Unauthorized",
      status: 401,
      traceId: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/),
    });
  });

  it("checks the scope first: a token without an accepted scope gets 403, known person or not", async () => {
    const tokens = await authorize(config, { login_hint: unknown, scope: "openid" });
    expect((await exchangeAltinn(tokens.access_token)).status).toBe(403);
  });

  it("testers add and remove persons (control API); the listed test persons are known", async () => {
    expect(simulator.control.state().altinnPersons).toEqual(simulator.persons.map((person) => person.pid).sort());
    const tokens = await authorize(config, { login_hint: unknown });
    const added = await control(simulator, "POST", "/altinn/persons", { pid: unknown });
    expect(added.json.altinnPersons).toContain(unknown);
    expect((await exchangeAltinn(tokens.access_token)).status).toBe(200);
    const removed = await control(simulator, "DELETE", `/altinn/persons/${unknown}`);
    expect(removed.json.altinnPersons).not.toContain(unknown);
    expect((await exchangeAltinn(tokens.access_token)).status).toBe(401);
    expect((await control(simulator, "POST", "/altinn/persons", { pid: "12345678901" })).status).toBe(400);
  });

  it("removing a listed test person makes Altinn refuse them too", async () => {
    const tokens = await authorize(config);
    await simulator.control.removeAltinnPerson(PID);
    try {
      expect((await exchangeAltinn(tokens.access_token)).status).toBe(401);
    } finally {
      await simulator.control.addAltinnPerson(PID);
    }
    expect((await exchangeAltinn(tokens.access_token)).status).toBe(200);
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
