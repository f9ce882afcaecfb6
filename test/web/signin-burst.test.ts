// Sign-in under a burst (issue 10 §6, review finding): attempts made at once all count against the
// limit before any password is checked, and only a few scrypt checks run at once, so forty parallel
// guesses get at most five checks and the right password among them does not get in.
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { SignInLimiter } from "../../src/identity/sessions.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

let t: TestService;
beforeAll(async () => {
  const users = [{ user: "alice", passwordHash: await hashPassword("alice-password-1", { ln: 12, r: 8, p: 1 }) }];
  t = await startTestService({ UI_USERS: JSON.stringify(users) });
}, 60_000);
afterAll(async () => t?.close());

async function signInForm(): Promise<{ cookie: string; csrf: string }> {
  const page = await fetch(`${t.url}/signin`);
  const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("authflow_signin="))!;
  return { cookie, csrf: cookie.split("=")[1]! };
}

it("forty parallel guesses for one user: at most five are checked, none gets in, the right password is refused meanwhile", async () => {
  const { cookie, csrf } = await signInForm();
  const post = (password: string) =>
    fetch(`${t.url}/signin`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded", "accept-language": "en" },
      body: new URLSearchParams({ user: "alice", password, _csrf: csrf, back: "/" }),
    }).then(async (r) => ({ status: r.status, text: await r.text() }));
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i === 39 ? "alice-password-1" : `guess-${i}`)));
  const count = (status: number) => answers.filter((a) => a.status === status).length;
  expect(count(303), "none signed in").toBe(0);
  expect(count(401), "password checks").toBeLessThanOrEqual(5);
  expect(count(401) + count(429) + count(503)).toBe(40);
  expect(answers.find((a) => a.status === 429)?.text).toContain("Too many failed attempts");
  // Afterwards the right password waits out the limit too.
  expect((await post("alice-password-1")).status).toBe(429);
}, 60_000);

it("the limiter counts an attempt when it begins, takes back a success, and lets only two checks run at once", () => {
  let now = 0;
  const limiter = new SignInLimiter(() => now);
  for (let i = 0; i < 5; i++) expect(limiter.attempt("bob", "192.0.2.1")).toBe(0);
  expect(limiter.attempt("bob", "192.0.2.1")).toBeGreaterThan(0);
  now += 15 * 60_000 + 1;
  expect(limiter.attempt("bob", "192.0.2.1")).toBe(0);
  limiter.succeeded("bob", "192.0.2.1");
  expect(limiter.attempt("bob", "192.0.2.1")).toBe(0);
  const first = limiter.enter();
  const second = limiter.enter();
  expect(first && second).toBeTruthy();
  expect(limiter.enter()).toBeNull();
  first!();
  first!(); // released twice counts once
  expect(limiter.enter()).not.toBeNull();
});
