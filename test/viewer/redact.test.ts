import { expect, it } from "vitest";
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
