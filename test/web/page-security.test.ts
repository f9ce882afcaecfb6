// The Web applications page's security guarantees (issue 10), against the whole service over HTTP
// (embedded simulator, lowdb on disk), with fetch and a cookie jar, no browser:
// CSRF on every POST, sessions that cannot be forged, tampered with, outlive their end or a sign-out,
// rate-limited sign-in that does not tell who exists, the proxy's user header only from the proxy,
// the CSP on every HTML page, no way off-site through `back`, no secret in any page or log line, and
// the acting user always the signed-in person.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox, decodeKey } from "../../src/crypto/secrets.ts";
import { hashPassword } from "../../src/identity/password.ts";
import { SESSION_COOKIE, SESSION_HOURS, Sessions } from "../../src/identity/sessions.ts";
import { API_TOKEN, startTestService, type TestService } from "../support/test-service.ts";

const ENTITY = "999999999";
const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-2", carol: "carol-password-3", dave: "dave-password-4" } as const;
type User = keyof typeof PASSWORDS;
const KEY = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="; // 32 bytes: sessions can be sealed here as the service seals them
const PROXY = "10.1.2.3";
const USER_HEADER = "x-remote-user";
const SESSION_PURPOSE = "authflow page session v1";
const SIGNIN_COOKIE = "authflow_signin";

let t: TestService;
beforeAll(async () => {
  const cost = { ln: 10, r: 8, p: 1 };
  const users = await Promise.all((Object.keys(PASSWORDS) as User[]).map(async (user) => ({ user, passwordHash: await hashPassword(PASSWORDS[user], cost) })));
  t = await startTestService({ UI_USERS: JSON.stringify(users), ENCRYPTION_KEY: KEY, TRUSTED_USER_HEADER: USER_HEADER, TRUSTED_PROXIES: PROXY, SIMULATED_CLOCK: "on" });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

/** A browser without a browser: a cookie jar, no redirects followed, every HTML page it saw kept. */
class Visitor {
  jar = new Map<string, string>();
  pages: string[] = [];
  async fetch(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { "accept-language": "en-GB,en;q=0.8", ...init.headers };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (init.form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(t.url + path, { method: init.method ?? (init.form ? "POST" : "GET"), headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attributes] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === "" || attributes.some((a) => /max-age=0\b/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    if ((res.headers.get("content-type") ?? "").startsWith("text/html")) this.pages.push(text);
    return { status: res.status, location: res.headers.get("location"), text, headers: res.headers };
  }
  /** Posts the sign-in form as a browser would: its page first (for the form's token), then the form. */
  async signIn(form: Record<string, string>, headers: Record<string, string> = {}) {
    if (!this.jar.has(SIGNIN_COOKIE)) await this.fetch("/signin", { headers });
    return this.fetch("/signin", { form: { ...form, _csrf: this.jar.get(SIGNIN_COOKIE) ?? "" }, headers });
  }
  get session() {
    return this.jar.get(SESSION_COOKIE);
  }
  async csrf(): Promise<string> {
    const home = await this.fetch("/");
    expect(home.status, home.text.slice(0, 200)).toBe(200);
    return /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!;
  }
}

async function signedIn(user: User): Promise<Visitor> {
  const v = new Visitor();
  const res = await v.signIn({ user, password: PASSWORDS[user], back: "/" });
  expect(res.status, res.text.slice(0, 300)).toBe(303);
  expect(v.session).toBeTruthy();
  return v;
}

const api = (method: string, path: string, body?: unknown) => t.api(method, path, body);
async function newFlow(): Promise<string> {
  const res = await api("POST", "/api/flows", { legalEntity: ENTITY });
  expect(res.status).toBe(201);
  return res.json.id;
}
/** alice's altinnAuthorized flow, made through the API and the simulator's login. */
async function authorizedFlow(user = "alice"): Promise<string> {
  const id = await newFlow();
  const started = await api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user });
  await t.login(started.json.authorizationUrl);
  await t.waitForState(id, ["altinnAuthorized"]);
  return id;
}
/** What a refused post must leave as it was: every flow and its audit trail. */
async function everything() {
  const flows = (await api("GET", "/api/flows?limit=500")).json.flows as Array<{ id: string }>;
  const audits = await Promise.all(flows.map(async (f) => (await api("GET", `/api/flows/${f.id}/audit`)).json));
  const integrations = await api("GET", "/api/integrations");
  return { flows, audits, integrations: integrations.status === 200 ? integrations.json : integrations.status };
}

describe("the integration form at a name no integration may have", () => {
  it("U+0000 or a space in the path: back to the page with the form (the name in the anchor encoded), not a 500", async () => {
    const alice = await signedIn("alice");
    const csrf = await alice.csrf();
    for (const [path, anchor] of [["a%00b", "#integration-a%00b"], ["a%20b", "#integration-a%20b"]] as const) {
      const res = await alice.fetch(`/integrations/${path}`, { form: { _csrf: csrf, clientId: "x" } });
      expect(res.status, res.text.slice(0, 200)).toBe(303);
      expect(res.location).toContain(anchor);
    }
  });
});

describe("CSRF: every POST needs the session's token", () => {
  it("without a _csrf or with a wrong one, every POST route is refused with 403 and nothing changes", async () => {
    const alice = await signedIn("alice");
    const csrf = await alice.csrf();
    const id = await authorizedFlow("alice");
    const idle = await newFlow();
    const routes: Array<[string, Record<string, string>]> = [
      ["/flows", { legalEntity: ENTITY }],
      ...(["authorize", "exchangeCode", "exchangeAltinn", "renew", "revoke"].map((a) => [`/flows/${id}/${a}`, { uiLocale: "en" }]) as Array<[string, Record<string, string>]>),
      [`/flows/${idle}/authorize`, {}],
      ["/integrations", { name: "acme", issuer: "https://test.idporten.no", clientId: "x", clientSecret: "s", redirectUri: `${t.url}/callback`, exchangeUrl: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten" }],
      ["/integrations/default", { clientId: "changed" }],
      ["/signout", {}],
    ];
    const before = await everything();
    for (const [path, form] of routes) {
      for (const token of [undefined, "", "0".repeat(csrf.length), csrf.slice(0, -1), `${csrf}x`]) {
        const res = await alice.fetch(path, { form: token === undefined ? form : { ...form, _csrf: token } });
        expect(res.status, `POST ${path} with _csrf ${JSON.stringify(token)}: ${res.status} ${res.location ?? ""}`).toBe(403);
        expect(res.text).toMatch(/did not come from this page|expired/);
      }
    }
    expect(await everything()).toEqual(before);
    // The session lived through all that (a refused sign-out did not end it), and the right token works.
    expect((await alice.fetch("/")).status).toBe(200);
    const ok = await alice.fetch(`/flows/${id}/renew`, { form: { _csrf: csrf } });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe(`/#flow-${id}`);
  }, 30_000);

  it("the sign-in form has a token of its own: without it, or with one not its cookie's, even the right password is refused", async () => {
    for (const attempt of [
      { cookie: undefined, form: undefined },
      { cookie: undefined, form: "ab".repeat(24) },
      { cookie: "ab".repeat(24), form: undefined },
      { cookie: "ab".repeat(24), form: "cd".repeat(24) },
      { cookie: "ab".repeat(24), form: "" },
    ]) {
      const v = new Visitor();
      if (attempt.cookie) v.jar.set(SIGNIN_COOKIE, attempt.cookie);
      const res = await v.fetch("/signin", { form: { user: "alice", password: PASSWORDS.alice, ...(attempt.form === undefined ? {} : { _csrf: attempt.form }) } });
      expect(res.status, JSON.stringify(attempt)).toBe(403);
      expect(res.text).toContain("did not come from this page");
      expect(v.session, JSON.stringify(attempt)).toBeUndefined();
      // The refusal's own form carries a token that works.
      const again = await v.fetch("/signin", { form: { user: "alice", password: PASSWORDS.alice, _csrf: /name="_csrf" value="([^"]+)"/.exec(res.text)![1]! } });
      expect(again.status).toBe(303);
    }
  });

  it("another person's token does not do either", async () => {
    const [alice, bob] = [await signedIn("alice"), await signedIn("bob")];
    const bobs = await bob.csrf();
    await alice.csrf();
    const res = await alice.fetch("/flows", { form: { legalEntity: ENTITY, _csrf: bobs } });
    expect(res.status).toBe(403);
  });
});

describe("sessions", () => {
  const refused = async (cookie: string | undefined, what: string) => {
    const v = new Visitor();
    if (cookie !== undefined) v.jar.set(SESSION_COOKIE, cookie);
    const home = await v.fetch("/");
    expect(home.status, `${what}: GET /`).toBe(303);
    expect(home.location, what).toBe("/signin?back=%2F");
    const post = await v.fetch("/flows", { form: { legalEntity: ENTITY, _csrf: "whatever" } });
    expect(post.status, `${what}: POST /flows`).toBe(401);
    const events = await v.fetch("/events");
    expect(events.status, `${what}: GET /events`).toBe(401);
  };
  const sealed = async (session: object) => (await createSecretBox(decodeKey(KEY))).seal(JSON.stringify(session), SESSION_PURPOSE);

  it("a forged, tampered, expired or signed-out session cookie is refused", async () => {
    const before = (await everything()).flows.length;
    await refused("not-a-session", "forged (garbage)");
    await refused(Buffer.from(JSON.stringify({ sid: "x", user: "alice", csrf: "c", via: "password", expiresAt: Date.now() + 3_600_000 })).toString("base64url"), "forged (unsealed JSON)");
    // Sealed under another key.
    const otherKey = await createSecretBox(crypto.getRandomValues(new Uint8Array(32)));
    await refused(await otherKey.seal(JSON.stringify({ sid: "x", user: "alice", csrf: "c", via: "password", expiresAt: Date.now() + 3_600_000 }), SESSION_PURPOSE), "sealed under another key");
    // Sealed under the right key for another purpose (the flash cookie's).
    await refused(await (await createSecretBox(decodeKey(KEY))).seal(JSON.stringify({ sid: "x", user: "alice", csrf: "c", via: "password", expiresAt: Date.now() + 3_600_000 }), "authflow page flash v1"), "another purpose");
    const alice = await signedIn("alice");
    const cookie = alice.session!;
    for (const i of [0, Math.floor(cookie.length / 2), cookie.length - 3]) {
      const flipped = cookie.slice(0, i) + (cookie[i] === "A" ? "B" : "A") + cookie.slice(i + 1);
      await refused(flipped, `tampered at ${i}`);
    }
    await refused(cookie.slice(0, -4), "truncated");
    // The same key and purpose, a session that has ended (control: the same one, not ended, is taken).
    const control = new Visitor();
    control.jar.set(SESSION_COOKIE, await sealed({ sid: "s1", user: "alice", csrf: "c1", via: "password", expiresAt: Date.now() + 60_000 }));
    expect((await control.fetch("/")).status, "a well-made session").toBe(200);
    await refused(await sealed({ sid: "s2", user: "alice", csrf: "c2", via: "password", expiresAt: Date.now() - 1 }), "expired");
    await refused(await sealed({ sid: "s3", user: "alice", csrf: "c3", via: "password" }), "no expiry");
    await refused(await sealed({ sid: "s4", user: "mallory", csrf: "c4", via: "password", expiresAt: Date.now() + 60_000 }), "a user not in UI_USERS");
    await refused(await sealed({ sid: "s5", user: "alice", csrf: "c5", via: "proxy", expiresAt: Date.now() + 60_000 }), "a proxy session without the proxy");
    // Signed out: the old cookie, kept by someone, no longer works.
    const csrf = await alice.csrf();
    const out = await alice.fetch("/signout", { form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(out.location).toBe("/signin");
    expect(alice.session).toBeUndefined();
    await refused(cookie, "signed out");
    expect((await everything()).flows.length).toBe(before);
  });

  it("a session ends after SESSION_HOURS (the Sessions class on a fake clock)", async () => {
    let now = Date.parse("2026-03-01T08:00:00Z");
    const sessions = new Sessions(await createSecretBox(decodeKey(KEY)), () => now);
    const { cookie, session } = await sessions.create("alice", "password");
    expect(session.expiresAt).toBe(now + SESSION_HOURS * 3_600_000);
    now += SESSION_HOURS * 3_600_000 - 1;
    expect(await sessions.read(cookie)).toMatchObject({ user: "alice" });
    now += 1;
    expect(await sessions.read(cookie)).toBeNull();
    // What the service reads: this cookie, sealed under the service's key, is refused there too.
    const v = new Visitor();
    v.jar.set(SESSION_COOKIE, cookie);
    expect((await v.fetch("/")).location).toBe("/signin?back=%2F");
  });
});

describe("sign-in", () => {
  it("the 6th failure for a user is refused with 429, Retry-After and words, and the right password is refused too while it lasts", async () => {
    const v = new Visitor();
    for (let i = 1; i <= 5; i++) {
      const res = await v.signIn({ user: "carol", password: `wrong-${i}` });
      expect(res.status, `attempt ${i}`).toBe(401);
      expect(res.text).toContain("The user name or password is wrong.");
    }
    const sixth = await v.signIn({ user: "carol", password: "wrong-6" });
    expect(sixth.status).toBe(429);
    const retryAfter = Number(sixth.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(sixth.text).toMatch(/Too many failed attempts\. Try again in \d+ minutes?\./);
    const right = await v.signIn({ user: "carol", password: PASSWORDS.carol });
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toBeTruthy();
    expect(v.session).toBeUndefined();
    // In bokmål as well.
    const nb = await v.signIn({ user: "carol", password: PASSWORDS.carol }, { "accept-language": "nb" });
    expect(nb.status).toBe(429);
    expect(nb.text).toMatch(/mislykkede|forsøk/i);
    // Another user from the same address is not locked out by carol's failures.
    expect((await signedIn("dave")).session).toBeTruthy();
  });

  it("an unknown user takes about as long as a wrong password (a dummy hash of the users' cost is verified)", async () => {
    // Through app.request from addresses of their own, so the per-address limit is not reached.
    let n = 0;
    const attempt = async (user: string, password: string) => {
      const started = performance.now();
      const res = await t.service.app.request(
        "/signin",
        { method: "POST", body: new URLSearchParams({ user, password, _csrf: "ab".repeat(24) }), headers: { "content-type": "application/x-www-form-urlencoded", cookie: `${SIGNIN_COOKIE}=${"ab".repeat(24)}` } },
        { incoming: { socket: { remoteAddress: `192.0.2.${++n}` } } },
      );
      expect(res.status).toBe(401);
      return performance.now() - started;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < 4; round++) {
      // Four wrong passwords for bob, then his right one (which clears his failures).
      for (let i = 0; i < 4; i++) known.push(await attempt("bob", `wrong-${round}-${i}`));
      for (let i = 0; i < 4; i++) unknown.push(await attempt(`nobody-${round}-${i}`, "whatever"));
      expect((await signedIn("bob")).session).toBeTruthy();
    }
    const ratio = median(unknown) / median(known);
    expect(ratio, `unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms`).toBeGreaterThan(0.4);
    expect(ratio, `unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms`).toBeLessThan(2.5);
  }, 60_000);
});

describe("TRUSTED_USER_HEADER", () => {
  const from = (address: string | undefined, headers: Record<string, string> = {}, path = "/") =>
    t.service.app.request(path, { headers: { "accept-language": "en", ...headers } }, address === undefined ? undefined : { incoming: { socket: { remoteAddress: address } } });

  it("is honoured from an address in TRUSTED_PROXIES, and ignored from anyone else", async () => {
    const proxied = await from(PROXY, { [USER_HEADER]: "erin" });
    expect(proxied.status).toBe(200);
    const html = await proxied.text();
    expect(html).toContain("Signed in as");
    expect(html).toContain("<strong>erin</strong>");
    // IPv4-mapped IPv6, as Node reports a dual-stack socket's peer.
    expect((await from(`::ffff:${PROXY}`, { [USER_HEADER]: "erin" })).status).toBe(200);
    for (const address of ["10.1.2.4", "127.0.0.1", "::1", "10.1.2.30", undefined]) {
      const res = await from(address, { [USER_HEADER]: "alice" });
      expect(res.status, `from ${address}`).toBe(303);
      expect(res.headers.get("location")).toBe("/signin?back=%2F");
      expect(res.headers.getSetCookie().join(";")).not.toContain(SESSION_COOKIE);
    }
    // Over real HTTP (the peer is 127.0.0.1), the header is ignored too.
    const direct = await new Visitor().fetch("/", { headers: { [USER_HEADER]: "alice" } });
    expect(direct.status).toBe(303);
    // The proxy's session cookie is no good without the proxy saying so.
    const cookie = proxied.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(";")[0]!;
    const replayed = await from("10.9.9.9", { cookie });
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get("location")).toBe("/signin?back=%2F");
    // And a post by the proxied person needs its CSRF token like any other.
    const post = await t.service.app.request("/flows", { method: "POST", body: new URLSearchParams({ legalEntity: ENTITY }), headers: { "content-type": "application/x-www-form-urlencoded", [USER_HEADER]: "erin", cookie } }, { incoming: { socket: { remoteAddress: PROXY } } });
    expect(post.status).toBe(403);
  });
});

describe("HTML pages", () => {
  async function checkHtmlHeaders(pages: string[]) {
    const alice = await signedIn("alice");
    for (const path of pages) {
      const res = await (path.startsWith("/signin") ? new Visitor() : alice).fetch(path);
      expect(res.status, path).toBeLessThan(500);
      expect(res.headers.get("content-type") ?? `none (${res.status} ${res.location})`, path).toMatch(/^text\/html/);
      const csp = res.headers.get("content-security-policy") ?? "";
      const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
      expect(directives.get("script-src"), `${path}: ${csp}`).toEqual(["'self'"]);
      expect(csp, path).not.toContain("unsafe-inline");
      expect(csp, path).not.toContain("unsafe-eval");
      expect(directives.get("frame-ancestors"), path).toEqual(["'none'"]);
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      // And nothing inline for the policy to block: scripts are files, no on* handlers.
      expect(res.text, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(res.text, path).not.toMatch(/\son[a-z]+=/i);
    }
  }

  it("every HTML page has the CSP (script-src 'self', nothing inline, no framing) and X-Frame-Options DENY", async () => {
    const id = await authorizedFlow("alice");
    await checkHtmlHeaders(["/", "/signin", "/docs", "/inspect", "/callback", "/callback?state=nonsense&code=x", `/flows/${id}/card`, "/signin?back=%2Fnowhere"]);
  });


  it("`back` on /signin and /lang never leads off this site", async () => {
    const evil = ["//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example", "/%5Cevil.example", "http:evil.example", "javascript:alert(1)", "/\t/evil.example", " //evil.example", "///evil.example"];
    for (const back of evil) {
      const lang = await new Visitor().fetch(`/lang/en?back=${encodeURIComponent(back)}`);
      expect(lang.status).toBe(303);
      expect(new URL(lang.location!, t.url).origin, `/lang back=${back} → ${lang.location}`).toBe(t.url);
      expect(lang.location!.startsWith("/") && !/^\/[/\\]/.test(lang.location!), `/lang back=${back} → ${lang.location}`).toBe(true);
      const form = await new Visitor().fetch(`/signin?back=${encodeURIComponent(back)}`);
      const kept = /name="back" value="([^"]*)"/.exec(form.text)?.[1] ?? "";
      expect(kept.startsWith("/") && !/^\/[/\\]/.test(kept) && new URL(kept, t.url).origin === t.url, `/signin?back=${back} → ${kept}`).toBe(true);
      const v = new Visitor();
      const signin = await v.signIn({ user: "dave", password: PASSWORDS.dave, back });
      expect(signin.status).toBe(303);
      expect(signin.location!.startsWith("/") && !/^\/[/\\]/.test(signin.location!) && new URL(signin.location!, t.url).origin === t.url, `POST /signin back=${back} → ${signin.location}`).toBe(true);
      // Signed in already: GET /signin goes home, not to `back`.
      const again = await v.fetch(`/signin?back=${encodeURIComponent(back)}`);
      expect(new URL(again.location!, t.url).origin).toBe(t.url);
    }
    // A path here is kept.
    expect((await new Visitor().fetch("/lang/en?back=%2F%23flow-x")).location).toBe("/#flow-x");
  });

  it("no API token, client secret, token, session cookie or password appears in any page or log line", async () => {
    const alice = await signedIn("alice");
    const bob = await signedIn("bob");
    const id = await authorizedFlow("alice");
    const token = await api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status).toBe(200);
    const csrf = await alice.csrf();
    // Every page a person sees, including refusals, the card, a stream frame and the sign-in failures.
    await alice.fetch(`/flows/${id}/renew`, { form: { _csrf: csrf } });
    await alice.fetch("/");
    await bob.fetch("/");
    await bob.fetch(`/flows/${id}/revoke`, { form: { _csrf: await bob.csrf() } });
    await bob.fetch("/");
    await alice.fetch(`/flows/${id}/card`);
    await alice.fetch("/flows", { form: { _csrf: csrf, legalEntity: "123" } });
    await alice.fetch("/");
    await alice.fetch("/integrations", { form: { _csrf: csrf, name: "acme", clientSecret: "a-secret-typed-in-the-form", issuer: "nonsense" } });
    await alice.fetch("/");
    expect((await new Visitor().signIn({ user: "alice", password: "alice-password-1-wrong" })).status).toBe(401);
    expect((await new Visitor().signIn({ user: PASSWORDS.dave, password: PASSWORDS.dave })).status).toBe(401); // a password typed as the user name
    for (const path of ["/docs", "/inspect", "/callback", "/signin"]) await alice.fetch(path);
    const stream = await streamFrames(alice, async () => {
      await api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
    });
    const config = t.service.config;
    const secrets: Record<string, string> = {
      "API token": API_TOKEN,
      "ID-porten client secret": config.idporten.clientSecret ?? "",
      "Altinn token": token.json.altinnToken,
      "ID-porten access token": token.json.idportenAccessToken,
      "alice's session cookie": alice.session!,
      "bob's session cookie": bob.session!,
      ...Object.fromEntries(Object.entries(PASSWORDS).map(([user, password]) => [`${user}'s password`, password])),
      "alice's wrong password": "alice-password-1-wrong",
      "a secret typed in the form": "a-secret-typed-in-the-form",
      "the simulator's person number": t.service.simulator!.persons[0]!.pid,
    };
    const pages = [...alice.pages, ...bob.pages, stream];
    expect(pages.length).toBeGreaterThanOrEqual(12);
    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret.length, what).toBeGreaterThan(8);
      pages.forEach((page, i) => expect(page.includes(secret), `${what} in page ${i}: ${page.slice(0, 120)}`).toBe(false));
      const line = t.lines.find((l) => l.includes(secret));
      expect(line, `${what} in a log line`).toBeUndefined();
    }
  }, 30_000);

  it("the acting user is the signed-in person: a posted user=bob is ignored, the audit names alice and the page", async () => {
    const alice = await signedIn("alice");
    const csrf = await alice.csrf();
    const id = await newFlow();
    const res = await alice.fetch(`/flows/${id}/authorize`, { form: { _csrf: csrf, user: "bob", uiLocale: "en" } });
    expect(res.status).toBe(303);
    const view = (await api("GET", `/api/flows/${id}`)).json;
    expect(view.pendingUser).toBe("alice");
    const created = await alice.fetch("/flows", { form: { _csrf: csrf, legalEntity: ENTITY, user: "bob", client: "api-token" } });
    expect(created.status).toBe(303);
    const createdId = /#flow-(.+)$/.exec(created.location!)![1]!;
    await t.login(view.authorizationUrl);
    await t.waitForState(id, ["altinnAuthorized"]);
    const revoke = await alice.fetch(`/flows/${id}/revoke`, { form: { _csrf: csrf, user: "bob", client: "api-token" } });
    expect(revoke.status).toBe(303);
    const audit = (await api("GET", `/api/flows/${id}/audit`)).json.transitions as Array<{ event: string; user: string | null; client?: string }>;
    const byPage = audit.filter((e) => e.event === "AUTHORIZE" || e.event === "REVOKE");
    expect(byPage.map((e) => e.event)).toEqual(["AUTHORIZE", "REVOKE"]);
    for (const entry of byPage) expect(entry).toMatchObject({ user: "alice", client: "page" });
    const createdAudit = (await api("GET", `/api/flows/${createdId}/audit`)).json.transitions as Array<{ event: string; user: string | null; client?: string }>;
    expect(createdAudit[0]).toMatchObject({ user: "alice", client: "page" });
  });
});

/** The stream's frames while `act` runs (until a "flow" frame arrives). */
async function streamFrames(v: Visitor, act: () => Promise<void>): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(`${t.url}/events`, { headers: { cookie: [...v.jar].map(([k, val]) => `${k}=${val}`).join("; ") }, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const read = async () => {
    while (!text.includes("event: ready")) text += decoder.decode((await reader.read()).value);
    await act();
    const deadline = Date.now() + 10_000;
    while (!text.includes("event: flow") && Date.now() < deadline) text += decoder.decode((await reader.read()).value);
  };
  await read();
  controller.abort();
  expect(text).toContain("event: flow");
  return text;
}
