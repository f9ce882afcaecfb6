import { expect, it } from "vitest";
import type { AuthorizationContext } from "../../src/machines/authorization-types.ts";
import { REDACTED, redact } from "../../src/viewer/redact.ts";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJwaWQiOiIwMTgxNzAxMDA1NSJ9.c2lnbmF0dXJlLXZhbHVl";

it("replaces secret keys and secret-looking values, deeply, and keeps the rest", () => {
  const cyclic: Record<string, unknown> = { name: "child" };
  cyclic.self = cyclic;
  const input = {
    legalEntity: "999999999",
    boundUser: "alice",
    attempt: { request: { url: "https://op/authorize?state=abc&nonce=n1&code_challenge=x&ui_locales=en", state: "s", nonce: "n", codeVerifier: "v" }, response: { code: "c" } },
    authorization: { idporten: { accessToken: "at", refreshToken: "rt", idToken: "it", pid: "01817010055", grantedScope: "openid" }, altinn: { token: "alt", expiresAt: 5 } },
    free: `Bearer ${JWT} for 01817010055`,
    output: { accessToken: "at-in-output" },
    list: [{ refreshToken: "r2" }],
    fn: () => 1,
    cyclic,
  };
  const out = redact(input);
  const text = JSON.stringify(out);
  for (const secret of ["\"at\"", "\"rt\"", "\"it\"", "alt\"", "at-in-output", "\"r2\"", "\"v\"", "\"c\"", JWT, "01817010055", "state=abc", "nonce=n1"]) expect(text).not.toContain(secret);
  expect(out.authorization.idporten.accessToken).toBe(REDACTED);
  expect(out.authorization.altinn.expiresAt).toBe(5);
  expect(out.authorization.idporten.grantedScope).toBe("openid");
  expect(out.legalEntity).toBe("999999999");
  expect(out.free).toBe(`Bearer ${REDACTED} for 018170*****`);
  expect(out.attempt.request.url).toContain("ui_locales=en");
  expect("fn" in out).toBe(false);
  expect(input.authorization.idporten.accessToken).toBe("at"); // the original is untouched
});

it("redacts every secret path of the authorization context, and nothing a watcher needs", () => {
  const secret = (name: string) => `secret-${name}-value`;
  const ctx: AuthorizationContext = {
    legalEntity: "999999999",
    integration: "default",
    boundUser: "alice",
    attempt: {
      user: "bob",
      request: { url: `https://op/authorize?client_id=c&state=${secret("s")}&nonce=${secret("n")}&code_challenge=${secret("cc")}`, state: secret("state"), nonce: secret("nonce"), codeVerifier: secret("verifier"), redirectUri: "http://localhost/callback" },
      settings: { exchangeMode: "auto", loginTimeoutSeconds: 600, authorizationLifetimeSeconds: 31536000 },
      startedAt: 1,
      loginDeadline: 2,
      response: { code: secret("code"), state: secret("state2"), iss: "https://op" },
      callbackConsumed: true,
      login: { loginId: secret("login-id"), url: `http://localhost/login/${secret("login-url-id")}`, browserBinding: secret("binding"), uiLocale: "nb" },
    },
    authorization: {
      idporten: { accessToken: secret("access"), refreshToken: secret("refresh"), idToken: secret("id"), grantedScope: "openid x", accessTokenExpiresAt: 3, pid: "01817010055", acr: "idporten-loa-substantial", refreshedAt: 4 },
      altinn: { token: secret("altinn"), expiresAt: 5 },
      authorizedAt: 2,
      expiresAt: 6,
      renewalFailures: 0,
      lastRenewalAt: null,
      lostRetries: 0,
      settings: { exchangeMode: "auto", loginTimeoutSeconds: 600, authorizationLifetimeSeconds: 31536000 },
    },
    // A colleague's login that succeeded while the authorization was renewing, waiting to take over.
    replacement: {
      user: "bob",
      tokens: { accessToken: secret("r-access"), refreshToken: secret("r-refresh"), idToken: secret("r-id"), scope: "openid x", expiresIn: 7200, pid: "01817010055", acr: "idporten-loa-high", sub: secret("sub"), receivedAt: 7 },
      settings: { exchangeMode: "auto", loginTimeoutSeconds: 600, authorizationLifetimeSeconds: 31536000 },
    },
    lastLogin: { user: "bob", state: secret("last-state"), startedAt: 1, browserBinding: secret("last-binding"), uiLocale: "nb", succeeded: true, error: null },
    revocations: [{ refreshToken: secret("revoke"), reason: "replaced", failures: 1, nextAt: 8, until: 9, lastError: null }],
    attention: { error: "invalid_client", error_description: "client secret refused", since: 10 },
    lastError: { error: "invalid_grant", error_description: "invalid_grant (correlation id: 1)" },
  };
  const out = redact(ctx);
  const text = JSON.stringify(out);
  expect(text).not.toMatch(/secret-/);
  expect(text).not.toContain("01817010055");
  for (const path of [
    "authorization.idporten.accessToken",
    "authorization.idporten.refreshToken",
    "authorization.idporten.idToken",
    "authorization.altinn.token",
    "attempt.request.codeVerifier",
    "attempt.request.nonce",
    "attempt.request.state",
    "attempt.response.code",
    "attempt.response.state",
    "attempt.login.loginId",
    "attempt.login.url",
    "attempt.login.browserBinding",
    "replacement.tokens.accessToken",
    "replacement.tokens.refreshToken",
    "replacement.tokens.idToken",
    "replacement.tokens.sub",
    "revocations.0.refreshToken",
    "lastLogin.state",
    "lastLogin.browserBinding",
  ]) {
    expect(path.split(".").reduce((v: any, k) => v[k], out), path).toBe(REDACTED);
  }
  expect(out).toMatchObject({ legalEntity: "999999999", boundUser: "alice", attempt: { user: "bob", response: { iss: "https://op" } }, lastError: ctx.lastError });
  expect(out.authorization!.idporten).toMatchObject({ grantedScope: "openid x", accessTokenExpiresAt: 3, acr: "idporten-loa-substantial" });
  expect(out.attempt!.login).toMatchObject({ uiLocale: "nb" });
  expect(out.replacement).toMatchObject({ user: "bob", tokens: { scope: "openid x", expiresIn: 7200, acr: "idporten-loa-high", receivedAt: 7 } });
  expect(out.revocations[0]).toMatchObject({ reason: "replaced", failures: 1, nextAt: 8, until: 9 });
  expect(out.attention).toEqual(ctx.attention);
  expect(out.lastLogin).toMatchObject({ user: "bob", startedAt: 1, uiLocale: "nb", succeeded: true, error: null });
  expect(out.attempt!.request.url).toBe(`https://op/authorize?client_id=c&state=${REDACTED}&nonce=${REDACTED}&code_challenge=${REDACTED}`);
});

it("redacts secrets under the names a provider uses, bearer values, and copies shared objects on both branches", () => {
  const shared = { user: "alice", codeVerifier: "v" };
  const out = redact({
    body: { access_token: "a", refresh_token: "r", id_token: "i", code_verifier: "cv", client_secret: "cs" },
    header: "Authorization: Bearer opaque-token_123",
    context: { request: shared },
    event: { request: shared },
  });
  expect(JSON.stringify(out)).not.toMatch(/"(a|r|i|cv|cs|v)"|opaque-token_123/);
  expect(out.header).toBe(`Authorization: Bearer ${REDACTED}`);
  expect(out.event.request).toEqual({ user: "alice", codeVerifier: REDACTED }); // not cut as if it were a cycle
  expect(out.context.request).toEqual(out.event.request);
});
