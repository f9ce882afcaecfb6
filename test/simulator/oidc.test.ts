// The OpenID Provider behaves like ID-porten (DESIGN §1, §5), seen through a real relying party.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import {
  authorizationUrl,
  authorize,
  CORRELATED,
  decodeJwt,
  exchange,
  follow,
  loginWithHint,
  PID,
  postToken,
  REDIRECT_URI,
  relyingParty,
  sleep,
  start,
} from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  simulator = await start();
  config = await relyingParty(simulator);
});
afterAll(() => simulator.close());

describe("discovery", () => {
  it("advertises ID-porten's endpoint names, S256 only and iss in the authorization response", async () => {
    const metadata = await (await fetch(`${simulator.issuer}/.well-known/openid-configuration`)).json();
    expect(metadata).toMatchObject({
      issuer: simulator.issuer,
      authorization_endpoint: `${simulator.issuer}/authorize`,
      token_endpoint: `${simulator.issuer}/token`,
      jwks_uri: `${simulator.issuer}/jwks`,
      userinfo_endpoint: `${simulator.issuer}/userinfo`,
      end_session_endpoint: `${simulator.issuer}/endsession`,
      revocation_endpoint: `${simulator.issuer}/revoke`,
      pushed_authorization_request_endpoint: `${simulator.issuer}/par`,
      subject_types_supported: ["pairwise"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      acr_values_supported: ["idporten-loa-substantial", "idporten-loa-high"],
      response_types_supported: ["code"],
    });
    expect(metadata.require_pushed_authorization_requests ?? false).toBe(false); // PAR is offered, not required
    // RFC 8414: the revocation and PAR endpoints take the token endpoint's methods when not listed.
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_post", "client_secret_basic", "private_key_jwt"]));
  });

  it("advertises endpoints under the issuer even when reached under another host name", async () => {
    const localhost = simulator.issuer.replace("127.0.0.1", "localhost");
    const metadata = await (await fetch(`${localhost}/.well-known/openid-configuration`)).json();
    expect(metadata.token_endpoint).toBe(`${simulator.issuer}/token`);
  });
});

describe("authorization code flow", () => {
  it("logs in with login_hint and answers code, state and iss at the redirect URI", async () => {
    const login = await loginWithHint(config);
    expect(login.callback.searchParams.get("code")).toBeTruthy();
    expect(login.callback.searchParams.get("state")).toBe(login.state);
    expect(login.callback.searchParams.get("iss")).toBe(simulator.issuer);
  });

  it("exchanges the code for a JWT access token with pid and acr, an id_token and a refresh token", async () => {
    const tokens = await authorize(config, { acr_values: "idporten-loa-high" });
    expect(tokens.scope?.split(" ")[0]).toBe("openid");
    expect(tokens.scope?.split(" ")).toEqual(expect.arrayContaining(["skatteetaten:mvameldinginnsending", "skatteetaten:mvameldingvalidering"]));
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.expires_in).toBe(7200);

    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({ iss: simulator.issuer, pid: PID, acr: "idporten-loa-high", client_id: "test-client", aud: "unspecified" });
    expect(String(access.scope).split(" ")).toContain("skatteetaten:mvameldinginnsending");

    const claims = tokens.claims();
    // sub is pairwise, never the pid (identity.test.ts says more).
    expect(claims).toMatchObject({ pid: PID, acr: "idporten-loa-high" });
    expect(claims?.sub).not.toBe(PID);
    expect(claims?.nonce).toBeTruthy();
  });

  it("defaults to substantial", async () => {
    const tokens = await authorize(config);
    expect(decodeJwt(tokens.access_token).acr).toBe("idporten-loa-substantial");
  });

  it("refuses an authorization request without PKCE", async () => {
    const attempt = await authorizationUrl(config, { login_hint: PID });
    attempt.url.searchParams.delete("code_challenge");
    attempt.url.searchParams.delete("code_challenge_method");
    const landed = await follow(attempt.url.toString());
    const callback = new URL(landed.url);
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    expect(callback.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(callback.searchParams.get("code")).toBeNull();
  });

  it("refuses plain PKCE", async () => {
    const attempt = await authorizationUrl(config, { login_hint: PID, code_challenge_method: "plain" });
    const landed = await follow(attempt.url.toString());
    expect(new URL(landed.url).searchParams.get("error")).toBe("invalid_request");
  });

  it("refuses a redirect URI that is not registered exactly, without redirecting to it", async () => {
    const attempt = await authorizationUrl(config, { login_hint: PID, redirect_uri: `${REDIRECT_URI}/` });
    const res = await fetch(attempt.url, { redirect: "manual", headers: { accept: "text/html" } });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toMatch(/redirect_uri/);
  });

  it("answers invalid_grant with ID-porten's correlation id body when a code is used twice", async () => {
    const login = await loginWithHint(config);
    await exchange(config, login);
    const again = await postToken(simulator, {
      grant_type: "authorization_code",
      code: login.callback.searchParams.get("code")!,
      redirect_uri: REDIRECT_URI,
      code_verifier: login.verifier,
    });
    expect(again.status).toBe(400);
    expect(Object.keys(again.json!)).toEqual(["error", "error_description"]);
    expect(again.json!.error).toBe("invalid_grant");
    expect(again.json!.error_description).toMatch(CORRELATED);
    expect(String(again.json!.error_description).startsWith("invalid_grant (correlation id: ")).toBe(true);
  });

  it("passes invalid_grant through openid-client unchanged", async () => {
    const login = await loginWithHint(config);
    await exchange(config, login);
    const error = await exchange(config, login).catch((e: unknown) => e);
    expect(error).toMatchObject({ error: "invalid_grant", status: 400 });
    expect((error as { error_description: string }).error_description).toMatch(CORRELATED);
  });

  it("answers invalid_grant when the code is exchanged after the code TTL", async () => {
    simulator.control.setLifetimes({ codeSeconds: 1 });
    try {
      const login = await loginWithHint(config);
      await sleep(1600);
      await expect(exchange(config, login)).rejects.toMatchObject({ error: "invalid_grant" });
    } finally {
      simulator.control.setLifetimes({ codeSeconds: 60 });
    }
  });

  it("answers invalid_grant for a code issued before expire-codes, and a fresh code still works", async () => {
    const login = await loginWithHint(config);
    const res = await fetch(`${simulator.controlUrl}/expire-codes`, { method: "POST", headers: { "content-type": "application/json" } });
    expect(await res.json()).toMatchObject({ expired: expect.any(Number) });
    await expect(exchange(config, login)).rejects.toMatchObject({ error: "invalid_grant" });
    await expect(authorize(config)).resolves.toMatchObject({ token_type: expect.stringMatching(/bearer/i) });
  });

  it("answers invalid_grant (with correlation id) for a wrong code_verifier", async () => {
    const login = await loginWithHint(config);
    const res = await postToken(simulator, {
      grant_type: "authorization_code",
      code: login.callback.searchParams.get("code")!,
      redirect_uri: REDIRECT_URI,
      code_verifier: "x".repeat(43),
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "invalid_grant", error_description: expect.stringMatching(CORRELATED) });
  });

  it("answers invalid_client (with correlation id) for a wrong client secret", async () => {
    const res = await postToken(simulator, { grant_type: "refresh_token", refresh_token: "x", client_secret: "wrong" });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: "invalid_client", error_description: expect.stringMatching(CORRELATED) });
  });
});

describe("refresh tokens", () => {
  it("are one-time: a refresh returns a new one and the old one then answers invalid_grant", async () => {
    const first = await authorize(config);
    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope?.split(" ")[0]).toBe("openid");
    expect(decodeJwt(second.access_token)).toMatchObject({ pid: PID, acr: "idporten-loa-substantial" });

    await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(CORRELATED),
    });
  });

  it("answer invalid_grant once the authorization lifetime is over", async () => {
    simulator.control.setLifetimes({ authorizationSeconds: 2 });
    try {
      const tokens = await authorize(config);
      const renewed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      await sleep(2100);
      await expect(client.refreshTokenGrant(config, renewed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
    } finally {
      simulator.control.setLifetimes({ authorizationSeconds: 31_536_000 });
    }
  });

  it("die of inactivity after the refresh token lifetime, within the authorization lifetime", async () => {
    simulator.control.setLifetimes({ refreshTokenSeconds: 1 });
    try {
      const tokens = await authorize(config);
      await sleep(1200);
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
    } finally {
      simulator.control.setLifetimes({ refreshTokenSeconds: 31_536_000 });
    }
  });

  it("answer invalid_grant after the person's grants are revoked", async () => {
    const tokens = await authorize(config);
    const res = await fetch(`${simulator.controlUrl}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pid: PID }),
    });
    expect((await res.json()).revokedGrants).toBeGreaterThanOrEqual(1);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });
});

describe("login page", () => {
  it("lists the test persons with valid numbers, and clicking one (a form POST) logs that person in", async () => {
    const attempt = await authorizationUrl(config, { ui_locales: "nn", acr_values: "idporten-loa-high" });
    const page = await follow(attempt.url.toString());
    expect(page.status).toBe(200);
    expect(page.body).toContain("nn");
    expect(page.body).toContain("idporten-loa-high");
    for (const person of simulator.persons) expect(page.body).toContain(person.pid);

    const action = /<form method="post" action="([^"]+)"/.exec(page.body)![1];
    const button = /<button type="submit" name="pid" value="(\d{11})"/.exec(page.body)![1];
    const landed = await follow(new URL(action, page.url).toString(), page.jar, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ pid: button }),
    });
    const callback = new URL(landed.url);
    expect(callback.searchParams.get("state")).toBe(attempt.state);
    const tokens = await exchange(config, { ...attempt, callback });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ pid: button, acr: "idporten-loa-high" });
  });

  it("Cancel sends the client error=access_denied", async () => {
    const attempt = await authorizationUrl(config);
    const page = await follow(attempt.url.toString());
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)![1];
    const landed = await follow(new URL(action, page.url).toString(), page.jar, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ cancel: "access_denied" }),
    });
    const callback = new URL(landed.url);
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe(attempt.state);
    expect(callback.searchParams.get("iss")).toBe(simulator.issuer);
  });

  it("shows the page with an error for a login_hint with wrong check digits", async () => {
    const attempt = await authorizationUrl(config, { login_hint: "01817010056" });
    const page = await follow(attempt.url.toString());
    expect(page.status).toBe(400);
    expect(page.body).toContain('role="alert"');
    expect(page.body).toContain("check digits");
  });

  it("a login_hint naming someone else logs that person in, even in a browser with a session", async () => {
    const first = await authorizationUrl(config, { login_hint: PID });
    const jar = (await follow(first.url.toString())).jar;
    const other = simulator.persons.find((person) => person.pid !== PID)!.pid;
    const second = await authorizationUrl(config, { login_hint: other });
    const landed = await follow(second.url.toString(), jar);
    const tokens = await exchange(config, { ...second, callback: new URL(landed.url) });
    expect(decodeJwt(tokens.access_token).pid).toBe(other);
  });
});
