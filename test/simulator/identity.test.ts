// Who logged in, as the tokens say it: a pairwise sub, the id_token claims ID-porten sends (pid,
// acr, amr, auth_time, locale, sid), the access token's (pid, acr, scope, client_id), and the
// login_hint level suffix that gives a client a lower acr than it asked for.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, CLIENT_SECRET, decodeJwt, PID, REDIRECT_URI, relyingParty, start } from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;
let other: client.Configuration;

beforeAll(async () => {
  simulator = await start({
    clients: [
      { clientId: "test-client", clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] },
      { clientId: "other-client", clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] },
    ],
  });
  config = await relyingParty(simulator);
  other = await relyingParty(simulator, client.ClientSecretPost(CLIENT_SECRET), "other-client");
});
afterAll(() => simulator.close());

describe("pairwise sub", () => {
  it("is stable for a person and a client across logins, differs across clients, and is never the pid", async () => {
    const first = (await authorize(config)).claims()!.sub;
    const again = (await authorize(config)).claims()!.sub;
    const elsewhere = (await authorize(other)).claims()!.sub;
    const someoneElse = (await authorize(config, { login_hint: simulator.persons[1].pid })).claims()!.sub;
    expect(first).toBe(again);
    expect(first).not.toBe(elsewhere);
    expect(first).not.toBe(someoneElse);
    for (const sub of [first, elsewhere]) {
      expect(sub).not.toContain(PID);
      expect(sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it("is the same in the access token and after a refresh", async () => {
    const tokens = await authorize(config);
    const renewed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    const sub = tokens.claims()!.sub;
    expect(decodeJwt(tokens.access_token).sub).toBe(sub);
    expect(decodeJwt(renewed.access_token).sub).toBe(sub);
    expect(renewed.claims()!.sub).toBe(sub);
  });
});

describe("id_token", () => {
  it("carries pid, acr, amr, auth_time, the locale asked for and the session's sid", async () => {
    const before = Math.floor(Date.now() / 1000);
    const tokens = await authorize(config, { ui_locales: "nn en", acr_values: "idporten-loa-high" });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: simulator.issuer, aud: "test-client", pid: PID, acr: "idporten-loa-high", amr: ["TestID"], locale: "nn" });
    expect(claims.auth_time).toBeGreaterThanOrEqual(before);
    expect(claims.sid).toEqual(expect.any(String));
  });

  it("says locale nb when no ui_locales was sent, and says the same after a refresh", async () => {
    const tokens = await authorize(config, { ui_locales: "" });
    expect(tokens.claims()!.locale).toBe("nb");
    const renewed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(renewed.claims()).toMatchObject({ locale: "nb", sid: tokens.claims()!.sid, acr: "idporten-loa-substantial", pid: PID });
  });
});

describe("access token", () => {
  it("is a JWT with pid, acr, scope and client_id", async () => {
    const access = decodeJwt((await authorize(config)).access_token);
    expect(access).toMatchObject({ iss: simulator.issuer, pid: PID, acr: "idporten-loa-substantial", client_id: "test-client" });
    expect(String(access.scope).split(" ").sort()).toEqual(["skatteetaten:mvameldinginnsending", "skatteetaten:mvameldingvalidering"]);
    expect(access.jti).toEqual(expect.any(String));
  });
});

describe("acr", () => {
  it("login_hint logs in at the level asked for", async () => {
    const tokens = await authorize(config, { acr_values: "idporten-loa-high" });
    expect(tokens.claims()!.acr).toBe("idporten-loa-high");
  });

  it("login_hint <pid>:substantial gives a LOWER acr than asked, so a client's acr check can be tested", async () => {
    const tokens = await authorize(config, { acr_values: "idporten-loa-high", login_hint: `${PID}:substantial` });
    expect(tokens.claims()).toMatchObject({ pid: PID, acr: "idporten-loa-substantial" });
    expect(decodeJwt(tokens.access_token).acr).toBe("idporten-loa-substantial");
  });

  it("login_hint <pid>:high logs in at high whatever was asked", async () => {
    const tokens = await authorize(config, { login_hint: `${PID}:high` });
    expect(tokens.claims()!.acr).toBe("idporten-loa-high");
  });
});
