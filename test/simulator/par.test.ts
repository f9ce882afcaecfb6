// Pushed authorization requests (RFC 9126): advertised, accepted for every client, required of
// none; and a login_hint a tester appends to the simulator's /authorize?client_id=…&request_uri=…
// URL still logs that person in, though the pushed request did not carry it (DESIGN §5).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { CORRELATED, decodeJwt, exchange, follow, PID, postForm, REDIRECT_URI, relyingParty, start, VAT_SCOPE } from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  simulator = await start();
  config = await relyingParty(simulator);
});
afterAll(() => simulator.close());

async function pushed(extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: REDIRECT_URI,
    scope: VAT_SCOPE,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    ...extra,
  });
  return { url, verifier, state, nonce };
}

describe("PAR", () => {
  it("round trip: the browser's URL holds only client_id and request_uri; login_hint appended to it logs that person in", async () => {
    const attempt = await pushed({ ui_locales: "en", acr_values: "idporten-loa-high" });
    expect([...attempt.url.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);
    const other = simulator.persons[3].pid;
    attempt.url.searchParams.set("login_hint", other);
    const landed = await follow(attempt.url.toString());
    const callback = new URL(landed.url);
    expect(callback.searchParams.get("state")).toBe(attempt.state);
    const tokens = await exchange(config, { ...attempt, callback });
    expect(tokens.claims()).toMatchObject({ pid: other, acr: "idporten-loa-high", locale: "en" });
    expect(decodeJwt(tokens.access_token).pid).toBe(other);
  });

  it("appended <pid>:substantial lowers the level of a pushed request too", async () => {
    const attempt = await pushed({ acr_values: "idporten-loa-high" });
    attempt.url.searchParams.set("login_hint", `${PID}:substantial`);
    const tokens = await exchange(config, { ...attempt, callback: new URL((await follow(attempt.url.toString())).url) });
    expect(tokens.claims()!.acr).toBe("idporten-loa-substantial");
  });

  it("without login_hint shows the login page, and a person picked there logs in", async () => {
    const attempt = await pushed();
    const page = await follow(attempt.url.toString());
    expect(page.status).toBe(200);
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)![1];
    const landed = await follow(new URL(action, page.url).toString(), page.jar, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ pid: PID }),
    });
    const tokens = await exchange(config, { ...attempt, callback: new URL(landed.url) });
    expect(tokens.claims()!.pid).toBe(PID);
  });

  it("a request_uri is single-use", async () => {
    const attempt = await pushed({ login_hint: PID });
    await follow(attempt.url.toString());
    const again = await follow(attempt.url.toString());
    expect(again.status).toBe(400);
    expect(again.body).toContain("request_uri");
  });

  it("errors answer ID-porten's body: a wrong secret, invalid_client", async () => {
    const res = await postForm(simulator, "/par", { client_id: "test-client", client_secret: "wrong", response_type: "code" });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: "invalid_client", error_description: expect.stringMatching(CORRELATED) });
  });
});
