// The ID-porten client against an independent OpenID Provider (oidc-provider configured plainly in
// test/idporten/provider.ts, not our simulator): what the client sends, what it checks, and how it
// classifies what comes back.
import { afterEach, describe, expect, it } from "vitest";
import { generateKeyPair } from "jose";
import { realClock } from "../../src/clock.ts";
import { createIdportenClient, type AuthorizationOptions, type IdportenClient, type IdportenSettings } from "../../src/idporten/idporten-client.ts";
import { UpstreamError } from "../../src/idporten/upstream-error.ts";
import { freePort } from "../support/free-port.ts";
import { browse, CLIENTS, PID, REDIRECT_URI, SECRET, startProvider, type CookieJar, type TestProvider, type TestProviderOptions } from "./provider.ts";

const HIGH = "idporten-loa-high";
const SUBSTANTIAL = "idporten-loa-substantial";

let provider: TestProvider | undefined;
afterEach(async () => {
  await provider?.close();
  provider = undefined;
});

async function setUp(options: TestProviderOptions = {}, settings: Partial<IdportenSettings> = {}) {
  provider = await startProvider(options);
  const client = createIdportenClient(
    { issuer: provider.issuer, clientId: CLIENTS.post, clientAuth: "client_secret_post", clientSecret: SECRET, scope: "openid", redirectUri: REDIRECT_URI, timeoutMs: 3000, ...settings },
    realClock,
  );
  return { provider, client };
}

/** A whole login: prepare, send the browser, come back, exchange. */
async function login(client: IdportenClient, options: Partial<AuthorizationOptions> = {}, jar: CookieJar = new Map()) {
  const request = await client.prepareAuthorization({ statePrefix: "flow-1", ...options });
  const browserUrl = await client.authorizationRedirect(request);
  const callback = await browse(browserUrl, jar);
  const exchange = () =>
    client.exchangeCode({
      callbackParams: Object.fromEntries(callback.searchParams),
      codeVerifier: request.codeVerifier,
      state: request.state,
      nonce: request.nonce,
      redirectUri: request.redirectUri,
      expectedAcr: request.acr,
    });
  return { request, browserUrl: new URL(browserUrl), callback, exchange };
}

async function refused(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe("prompt=login", () => {
  it("is sent when the settings say so, and forces a login over an SSO session", async () => {
    const { provider, client } = await setUp({}, { prompt: "login" });
    const jar: CookieJar = new Map();
    await (await login(client, {}, jar)).exchange();
    await (await login(client, {}, jar)).exchange();
    expect(provider.interactions).toHaveLength(2);
    expect(provider.interactions[1].params.prompt).toBe("login");
    expect(provider.interactions[1].prompt.reasons).toContain("login_prompt");
  });

  it("is not sent otherwise (or when the option says null): the SSO session logs in silently", async () => {
    const { provider, client } = await setUp({}, { prompt: "login" });
    const jar: CookieJar = new Map();
    const first = await login(client, { prompt: null }, jar);
    expect(first.request.url).not.toContain("prompt=");
    await first.exchange();
    await (await login(client, { prompt: null }, jar)).exchange();
    expect(provider.interactions).toHaveLength(1);
  });
});

describe("acr", () => {
  it("refuses a login at a lower level than asked: insufficient_acr naming both levels", async () => {
    const { client } = await setUp({ loginAcr: SUBSTANTIAL });
    const attempt = await login(client, { acr: HIGH });
    expect(attempt.request.acr).toBe(HIGH);
    const error = await refused(attempt.exchange());
    expect(error.oauth.error).toBe("insufficient_acr");
    expect(error.oauth.error_description).toContain(HIGH);
    expect(error.oauth.error_description).toContain(SUBSTANTIAL);
    expect(error.lost).toBe(false);
  });

  it("accepts the level asked for, or a higher one, and records the id_token's facts", async () => {
    const { client } = await setUp({ loginAcr: HIGH });
    const tokens = await (await login(client, { acr: SUBSTANTIAL })).exchange();
    expect(tokens).toMatchObject({ acr: HIGH, pid: PID, sub: "pairwise-sub-1", amr: ["TestID"] });
    expect(tokens.authTime).toBeGreaterThan(Date.now() - 60_000);
    expect(tokens.refreshToken).toBeTruthy();
    await expect((await login(client, { acr: HIGH })).exchange()).resolves.toMatchObject({ acr: HIGH });
  });

  it("asks nothing and checks nothing when no level was asked", async () => {
    const { client } = await setUp({ loginAcr: SUBSTANTIAL });
    const attempt = await login(client);
    expect(attempt.request.acr).toBeNull();
    expect(attempt.request.url).not.toContain("acr_values");
    await expect(attempt.exchange()).resolves.toMatchObject({ acr: SUBSTANTIAL });
  });
});

describe("pushed authorization requests", () => {
  it("are used when advertised: the browser's URL holds only client_id and request_uri", async () => {
    const { provider, client } = await setUp({ par: true });
    const attempt = await login(client, { acr: HIGH, uiLocale: "nb", prompt: "login" });
    expect([...attempt.browserUrl.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);
    expect(attempt.browserUrl.href).not.toContain(attempt.request.state);
    // What was pushed is what was prepared.
    expect(provider.interactions[0].params).toMatchObject({ state: attempt.request.state, nonce: attempt.request.nonce, acr_values: HIGH, ui_locales: "nb", prompt: "login" });
    await expect(attempt.exchange()).resolves.toMatchObject({ acr: HIGH });
  });

  it("push the login hint given when the browser is sent", async () => {
    const { provider, client } = await setUp({ par: true });
    const request = await client.prepareAuthorization({ statePrefix: "flow-1" });
    await browse(await client.authorizationRedirect(request, { loginHint: PID }));
    expect(provider.interactions[0].params.login_hint).toBe(PID);
  });

  it("are not used when not advertised: the plain URL with state, nonce and the challenge", async () => {
    const { client } = await setUp({ par: false });
    const attempt = await login(client);
    expect(attempt.browserUrl.searchParams.get("state")).toBe(attempt.request.state);
    expect(attempt.browserUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(attempt.browserUrl.searchParams.has("request_uri")).toBe(false);
    await expect(attempt.exchange()).resolves.toBeTruthy();
  });
});

describe("revocation", () => {
  it("revokes the refresh token at the revocation endpoint; the grant is then dead", async () => {
    const { client } = await setUp({ revocation: true });
    const tokens = await (await login(client)).exchange();
    await expect(client.revoke(tokens.refreshToken!)).resolves.toEqual({ revoked: true });
    const error = await refused(client.refresh(tokens.refreshToken!));
    expect(error.oauth.error).toBe("invalid_grant");
    expect(error.lost).toBe(false);
  });

  it("answers revoked: false when the provider has no revocation endpoint", async () => {
    const { client } = await setUp({ revocation: false });
    const tokens = await (await login(client)).exchange();
    await expect(client.revoke(tokens.refreshToken!)).resolves.toEqual({ revoked: false });
    await expect(client.refresh(tokens.refreshToken!)).resolves.toBeTruthy();
  });

  it("ends the grant of a login refused for its acr", async () => {
    const { provider, client } = await setUp({ revocation: true, loginAcr: SUBSTANTIAL });
    const attempt = await login(client, { acr: HIGH });
    expect((await refused(attempt.exchange())).oauth.error).toBe("insufficient_acr");
    expect(provider.paths.slice(-2)).toEqual(["/token", "/token/revocation"]);
  });
});

describe("client authentication", () => {
  it("client_secret_basic logs in and refreshes", async () => {
    const { client } = await setUp({}, { clientId: CLIENTS.basic, clientAuth: "client_secret_basic" });
    const tokens = await (await login(client)).exchange();
    await expect(client.refresh(tokens.refreshToken!)).resolves.toMatchObject({ pid: PID });
  });

  it("private_key_jwt logs in (also through PAR) and refreshes", async () => {
    provider = await startProvider({ par: true });
    const client = createIdportenClient(
      { issuer: provider.issuer, clientId: CLIENTS.jwt, clientAuth: "private_key_jwt", clientKey: provider.clientKey, clientKeyId: provider.clientKid, scope: "openid", redirectUri: REDIRECT_URI, timeoutMs: 3000 },
      realClock,
    );
    const tokens = await (await login(client)).exchange();
    await expect(client.refresh(tokens.refreshToken!)).resolves.toMatchObject({ pid: PID });
  });

  it("a wrong key is refused: invalid_client passed through verbatim, not lost", async () => {
    provider = await startProvider({ par: false });
    const wrong = await generateKeyPair("ES256");
    const client = createIdportenClient(
      { issuer: provider.issuer, clientId: CLIENTS.jwt, clientAuth: "private_key_jwt", clientKey: wrong.privateKey, clientKeyId: provider.clientKid, scope: "openid", redirectUri: REDIRECT_URI, timeoutMs: 3000 },
      realClock,
    );
    const error = await refused((await login(client)).exchange());
    expect(error.oauth.error).toBe("invalid_client");
    expect(error.lost).toBe(false);
  });

  it("a wrong secret sent as client_secret_basic is refused with invalid_client (a 401 challenge)", async () => {
    const { provider, client } = await setUp({}, { clientId: CLIENTS.basic, clientAuth: "client_secret_basic", clientSecret: "not-the-secret-at-all-but-long-enough" });
    const error = await refused(client.refresh("any-refresh-token"));
    expect(error.oauth.error).toBe("invalid_client");
    expect(error.lost).toBe(false);
    expect(provider.paths).toContain("/token");
  });

  it("a wrong secret is refused with invalid_client, at the PAR endpoint too", async () => {
    const { client } = await setUp({ par: true }, { clientSecret: "not-the-secret-at-all-but-long-enough" });
    const request = await client.prepareAuthorization({ statePrefix: "flow-1" });
    const error = await refused(client.authorizationRedirect(request));
    expect(error.oauth.error).toBe("invalid_client");
    expect(error.lost).toBe(false);
  });
});

describe("lost answers", () => {
  it("a token endpoint that never answers is lost", async () => {
    const { provider, client } = await setUp({}, { timeoutMs: 500 });
    const tokens = await (await login(client)).exchange();
    provider.hang.add("/token");
    const error = await refused(client.refresh(tokens.refreshToken!));
    expect(error).toMatchObject({ lost: true, oauth: { error: "temporarily_unavailable" } });
    expect(error.oauth.error_description).toContain("0.5 s");
  });

  it("a connection reset is lost", async () => {
    const { provider, client } = await setUp();
    const tokens = await (await login(client)).exchange();
    provider.reset.add("/token");
    expect(await refused(client.refresh(tokens.refreshToken!))).toMatchObject({ lost: true, oauth: { error: "temporarily_unavailable" } });
  });

  it("a refused connection is lost", async () => {
    const port = await freePort();
    const client = createIdportenClient(
      { issuer: `http://127.0.0.1:${port}`, clientId: CLIENTS.post, clientSecret: SECRET, scope: "openid", redirectUri: REDIRECT_URI, timeoutMs: 1000 },
      realClock,
    );
    expect(await refused(client.refresh("whatever"))).toMatchObject({ lost: true, oauth: { error: "temporarily_unavailable" } });
  });

  it("an error answer is not lost, and keeps the provider's words", async () => {
    const { client } = await setUp();
    const error = await refused(client.refresh("not-a-refresh-token"));
    expect(error.lost).toBe(false);
    expect(error.oauth.error).toBe("invalid_grant");
  });
});
