// Accessibility of the Web applications page (issue 10), in real headless Chromium against the whole
// service (embedded simulator over HTTP, lowdb on disk):
// (a) axe-core finds no "serious" or "critical" violation on the sign-in page, the home page with
//     authorizations in many states (idle, awaiting the login, code received, idportenAuthorized,
//     altinnAuthorized, held by another person, an invalid_grant error, a refusal notice) and the
//     integration form showing its problems, in English and bokmål; on the login's outcome pages
//     (/callback) and on /docs. axe is injected with page.evaluate of its source: the page's CSP
//     blocks inline <script> tags, as intended.
// (b) Keyboard only (page.keyboard: Tab, Shift+Tab, Enter, Space, typing; never a mouse click):
//     sign in, create an authorization, "Get authorization code", the simulator's login page, back,
//     "Revoke". Every focus stop is visible with a visible focus indicator; the skip link is the first
//     stop and moves focus to main; a live (SSE) update of the card keeps focus on the same control
//     or the card's heading, never <body>.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { launchChromium } from "../support/chromium.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-2" };
const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function uiUsers(): Promise<string> {
  const cost = { ln: 10, r: 8, p: 1 };
  return JSON.stringify([
    { user: "alice", name: "Alice Nordmann", passwordHash: await hashPassword(PASSWORDS.alice, cost) },
    { user: "bob", name: "Bob Hansen", passwordHash: await hashPassword(PASSWORDS.bob, cost) },
  ]);
}

/** Organisation numbers with a valid MOD11 check digit (weights 3 2 7 6 5 4 3 2). */
function orgNumbers(count: number): string[] {
  const out: string[] = [];
  for (let base = 91_000_000; out.length < count; base++) {
    const digits = String(base).split("").map(Number);
    const sum = digits.reduce((acc, d, i) => acc + d * [3, 2, 7, 6, 5, 4, 3, 2][i]!, 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    out.push(`${base}${check === 11 ? 0 : check}`);
  }
  return out;
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string; html: string }>;
}

/** axe-core's serious and critical violations on the page as it is now. */
async function axe(page: Page): Promise<Violation[]> {
  const source = await AXE_SOURCE;
  await page.evaluate(source);
  const violations = (await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run: (ctx: Document, options: object) => Promise<{ violations: Violation[] }> } }).axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary, html: n.html.slice(0, 200) })) }));
  })) as Violation[];
  if (process.env.AXE_REPORT) console.log(`axe on ${page.url()}: ${violations.map((v) => `${v.impact} ${v.id} (${v.nodes.length})`).join(", ") || "nothing"}`);
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

async function expectNoSeriousViolations(page: Page, what: string) {
  const found = await axe(page);
  expect(found.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(" ")} ${n.failureSummary ?? ""} ${n.html}`).join("\n  ")}`), what).toEqual([]);
}

async function signIn(browser: Browser, t: TestService, user: "alice" | "bob", locale: string): Promise<Page> {
  const context = await browser.newContext({ locale, timezoneId: "Europe/Oslo" });
  const page = await context.newPage();
  await page.goto(`${t.url}/signin`);
  await page.locator("#user").fill(user);
  await page.locator("#password").fill(PASSWORDS[user]);
  await Promise.all([page.waitForURL(`${t.url}/`), page.locator("form.signin button[type=submit]").click()]);
  return page;
}

describe("axe-core: no serious or critical violations", () => {
  let t: TestService;
  let browser: Browser;
  const entities = orgNumbers(8);
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService({ UI_USERS: await uiUsers(), INTEGRATION_ADMINS: "alice", EXCHANGE_MODE: "manual", SIMULATOR_CODE_TTL_SECONDS: "4" }), launchChromium()]);
    // Authorizations in many states, made through the API (alice's unless said).
    const send = async (id: string, type: string, user = "alice") => {
      const res = await t.api("POST", `/api/flows/${id}/events`, { type, user });
      expect(res.status, res.text).toBe(200);
      return res.json;
    };
    const create = async (entity: string) => (await t.api("POST", "/api/flows", { legalEntity: entity })).json.id as string;
    const loggedIn = async (entity: string, user = "alice") => {
      const id = await create(entity);
      const started = await send(id, "AUTHORIZE", user);
      await t.login(started.authorizationUrl);
      await t.waitForState(id, ["awaitingCode"]);
      return id;
    };
    const authorized = async (entity: string, user: string, altinn: boolean) => {
      const id = await loggedIn(entity, user);
      await send(id, "EXCHANGE_CODE", user);
      // (Codes live 4 s here: long enough for a loaded machine to exchange at once, short enough to wait out below.)
      expect((await t.waitForState(id, ["idportenAuthorized"])).state).toBe("idportenAuthorized");
      if (altinn) {
        await send(id, "EXCHANGE_ALTINN", user);
        expect((await t.waitForState(id, ["altinnAuthorized"])).state).toBe("altinnAuthorized");
      }
      return id;
    };
    await create(entities[0]!); // idle
    await send(await create(entities[1]!), "AUTHORIZE"); // awaitingCode, login not done
    await loggedIn(entities[2]!); // awaitingCode, code received
    await authorized(entities[3]!, "alice", false); // idportenAuthorized
    await authorized(entities[4]!, "alice", true); // altinnAuthorized
    await authorized(entities[5]!, "bob", true); // held by another person
    // invalid_grant: the code (4 s here) exchanged too late.
    const late = await loggedIn(entities[6]!);
    await new Promise((r) => setTimeout(r, 4_500));
    await send(late, "EXCHANGE_CODE");
    const failed = await t.waitForState(late, ["idle"]);
    expect(failed.lastError?.error).toBe("invalid_grant");
    // bob's pending login on alice's authorization.
    await send(await authorized(entities[7]!, "alice", true), "AUTHORIZE", "bob");
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  for (const [lang, locale] of [
    ["en", "en-GB"],
    ["nb", "nb-NO"],
  ] as const) {
    it(`the sign-in page, with and without an error (${lang})`, async () => {
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      await page.goto(`${t.url}/signin`);
      expect(await page.locator("html").getAttribute("lang")).toBe(lang);
      await expectNoSeriousViolations(page, `sign-in (${lang})`);
      await page.locator("#user").fill("alice");
      await page.locator("#password").fill("wrong");
      await Promise.all([page.waitForLoadState(), page.locator("form.signin button[type=submit]").click()]);
      await page.locator("#signin-error").waitFor();
      await expectNoSeriousViolations(page, `sign-in refused (${lang})`);
      await context.close();
    });

    it(`the home page with authorizations in many states, a refusal and the integration form's problems (${lang})`, async () => {
      const page = await signIn(browser, t, "alice", locale);
      expect(await page.locator("html").getAttribute("lang")).toBe(lang);
      const states = await page.locator("article.flow .state code").allTextContents();
      for (const s of ["idle", "awaitingCode", "idportenAuthorized", "altinnAuthorized"]) expect(states).toContain(s);
      await expect(page.locator(".held").count()).resolves.toBeGreaterThan(0);
      await expect(page.locator('.error[data-error="invalid_grant"]').count()).resolves.toBe(1);
      await expect(page.locator(".pending").count()).resolves.toBeGreaterThan(0);
      await page.locator("#live-status:not(:empty)").waitFor();
      await expectNoSeriousViolations(page, `home (${lang})`);
      // A refusal in words on a card (bob's authorization: Renew by hand).
      const bobs = page.locator(`article.flow[data-legal-entity="${entities[5]}"]`);
      const id = await bobs.getAttribute("data-flow");
      const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
      await page.evaluate(async ({ id, csrf }) => void (await fetch(`/flows/${id}/renew`, { method: "POST", body: new URLSearchParams({ _csrf: csrf }), redirect: "manual" })), { id, csrf });
      await page.reload(); // the refusal travels in a flash cookie to the next load
      await expect(bobs.locator(".notice.error").count()).resolves.toBe(1);
      await expectNoSeriousViolations(page, `home with a refusal (${lang})`);
      // The integration form, submitted with problems.
      await page.locator("section.integrations details > summary").last().click();
      await page.locator("#new-name").fill("Not a name!");
      await page.locator("#new-issuer").fill("not a url");
      await page.locator("#new-redirectUri").fill("ftp://x");
      await page.locator("#new-refreshTokenLifetimeSeconds").fill("-5");
      await Promise.all([page.waitForURL(/#integration-new/), page.locator("form.integration-form button[type=submit]").last().click()]);
      const invalid = page.locator("form.integration-form .field.invalid");
      expect(await invalid.count()).toBeGreaterThanOrEqual(3);
      // Each problem is tied to its field (aria-invalid and aria-describedby naming the words).
      for (const input of await page.locator('form.integration-form [aria-invalid="true"]').all()) {
        const describedBy = (await input.getAttribute("aria-describedby"))!;
        expect(await page.locator(`#${describedBy}`).getAttribute("class")).toBe("problem");
        expect((await page.locator(`#${describedBy}`).textContent())!.length).toBeGreaterThan(5);
      }
      await expectNoSeriousViolations(page, `home with the integration form's problems (${lang})`);
      await page.context().close();
    }, 30_000);

    it(`the login's outcome pages and /docs (${lang})`, async () => {
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      // A success ("Code received" in manual mode), through the browser.
      const id = (await t.api("POST", "/api/flows", { legalEntity: entities[0] })).json.id;
      const started = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: lang });
      await page.goto(started.json.authorizationUrl);
      await page.getByRole("button", { name: new RegExp(t.service.simulator!.persons[0]!.name) }).click();
      await page.waitForURL(/\/callback\?/);
      await expectNoSeriousViolations(page, `callback success (${lang})`);
      // What went wrong, in words: a callback without this browser's binding, and one with an error.
      for (const query of ["state=nonsense&code=x", `error=access_denied&state=${id}.x`, ""]) {
        await page.goto(`${t.url}/callback?${query}`);
        await expectNoSeriousViolations(page, `callback ?${query} (${lang})`);
      }
      const docs = await page.goto(`${t.url}/docs`);
      if (docs?.status() === 200) await expectNoSeriousViolations(page, "/docs");
      await context.close();
    }, 30_000);
  }
});

describe("keyboard only", () => {
  let t: TestService;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService({ UI_USERS: await uiUsers() }), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  interface Focused {
    tag: string;
    id: string;
    text: string;
    action: string | null;
    inCard: string | null;
    visible: boolean;
    focusVisible: boolean;
    indicator: string;
  }
  const focused = (page: Page) =>
    page.evaluate((): Focused => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return { tag: "body", id: "", text: "", action: null, inCard: null, visible: false, focusVisible: false, indicator: "" };
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      const inViewport = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
      const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2 ? `outline ${cs.outlineWidth} ${cs.outlineStyle} ${cs.outlineColor}` : "";
      const shadow = cs.boxShadow !== "none" ? `box-shadow ${cs.boxShadow}` : "";
      return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        text: (el.getAttribute("aria-label") ?? el.textContent ?? (el as HTMLInputElement).name ?? "").trim().slice(0, 60),
        action: el.getAttribute("data-action"),
        inCard: el.closest("article.flow")?.getAttribute("data-flow") ?? null,
        visible: inViewport && cs.visibility !== "hidden" && cs.opacity !== "0",
        focusVisible: el.matches(":focus-visible"),
        indicator: outline || shadow,
      };
    });

  /** The focus stop is on screen and shows it has focus. */
  async function expectShown(page: Page, where: string): Promise<Focused> {
    const f = await focused(page);
    expect(f.tag, `${where}: focus lost to <body>`).not.toBe("body");
    expect(f.visible, `${where}: ${f.tag}#${f.id} "${f.text}" is not on screen`).toBe(true);
    expect(f.focusVisible, `${where}: ${f.tag}#${f.id} "${f.text}" does not match :focus-visible`).toBe(true);
    expect(f.indicator, `${where}: ${f.tag}#${f.id} "${f.text}" has no focus indicator`).not.toBe("");
    return f;
  }

  /** Tab (or Shift+Tab) until `wanted`, checking every stop on the way. */
  async function tabTo(page: Page, wanted: (f: Focused) => boolean, what: string, options: { back?: boolean; max?: number; check?: boolean } = {}): Promise<Focused> {
    for (let i = 0; i < (options.max ?? 60); i++) {
      await page.keyboard.press(options.back ? "Shift+Tab" : "Tab");
      const f = options.check === false ? await focused(page) : await expectShown(page, `on the way to ${what}`);
      if (wanted(f)) return f;
    }
    throw new Error(`never reached ${what} with the keyboard`);
  }

  async function expectSkipLinkFirst(page: Page) {
    await page.keyboard.press("Tab");
    const first = await expectShown(page, "first Tab");
    expect(first.tag).toBe("a");
    expect(await page.evaluate(() => document.activeElement?.classList.contains("skip"))).toBe(true);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.id === "main", undefined, { timeout: 5_000 });
  }

  it("signs in, creates, gets the code, logs in at the simulator, comes back and revokes; focus visible throughout and kept across a live update", async () => {
    const context = await browser.newContext({ locale: "en-GB", timezoneId: "Europe/Oslo" });
    const page = await context.newPage();
    await page.goto(`${t.url}/`);
    expect(new URL(page.url()).pathname).toBe("/signin");

    // Sign in.
    await expectSkipLinkFirst(page);
    await tabTo(page, (f) => f.id === "user", "the user field");
    await page.keyboard.type("alice");
    await tabTo(page, (f) => f.id === "password", "the password field");
    await page.keyboard.type(PASSWORDS.alice);
    await Promise.all([page.waitForURL(`${t.url}/`), page.keyboard.press("Enter")]);

    // Create an authorization.
    await expectSkipLinkFirst(page);
    await tabTo(page, (f) => f.id === "legalEntity", "the legal entity field");
    await page.keyboard.type("999999999");
    await Promise.all([page.waitForURL(/#flow-/), page.keyboard.press("Enter")]);
    const id = new URL(page.url()).hash.slice("#flow-".length);
    const card = page.locator(`#flow-${id}`);
    await expect(card.locator(".state code").textContent()).resolves.toBe("idle");

    // "Get authorization code" of this card (after the #flow- jump, Tab goes on from the card).
    const authorize = await tabTo(page, (f) => f.inCard === id && f.action === "authorize", "Get authorization code");
    expect(authorize.text).toBe("Get authorization code");
    await Promise.all([page.waitForURL(/\/authorize|\/login|\/interaction/), page.keyboard.press("Enter")]);

    // The simulator's login page (not this page's): reach the first test person and press Space.
    const person = t.service.simulator!.persons[0]!;
    await page.getByRole("button", { name: new RegExp(person.name) }).waitFor();
    await tabTo(page, (f) => f.text.includes(person.name), `the simulator's "${person.name}"`, { check: false });
    await Promise.all([page.waitForURL(/\/callback\?/), page.keyboard.press("Space")]);
    await expect(page.locator("h1").textContent()).resolves.toBe("Success");

    // Back to the page.
    await tabTo(page, (f) => f.tag === "a" && f.text.startsWith("Back to the authorizations"), "the way back");
    await Promise.all([page.waitForURL(/#flow-/), page.keyboard.press("Enter")]);
    await card.locator('.state code:text-is("altinnAuthorized")').waitFor({ timeout: 10_000 });
    await page.locator("#live-status:not(:empty)").waitFor();

    // Revoke: reached with Tab, one Shift+Tab back to Renew and Tab again.
    await tabTo(page, (f) => f.inCard === id && f.action === "revoke", "Revoke");
    const renew = await tabTo(page, (f) => f.inCard === id && f.action === "renew", "Renew now", { back: true, max: 1 });
    expect(renew.text).toBe("Renew now");
    await tabTo(page, (f) => f.inCard === id && f.action === "revoke", "Revoke", { max: 1 });

    // A live update of the card while Revoke has focus (bob starts a login that would take it over):
    // the card is replaced, and focus stays on its Revoke.
    const before = await card.locator(".state code").textContent();
    const takeover = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" });
    expect(takeover.status).toBe(200);
    await page.waitForFunction((id) => document.querySelector(`#flow-${id} .state code`)?.textContent === "awaitingCode", id, { timeout: 10_000 });
    expect(before).toBe("altinnAuthorized");
    let after = await expectShown(page, "after a live update");
    expect(after.inCard).toBe(id);
    expect(after.action).toBe("revoke");
    // A live update that takes the control away (a renewal: no Revoke while renewing) puts focus on
    // the card's heading, and the next update keeps it there.
    const renewed = await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
    expect(renewed.status).toBe(200);
    await page.waitForFunction(() => document.activeElement?.tagName === "H3" || document.activeElement?.getAttribute("data-action") === "revoke", undefined, { timeout: 5_000 });
    after = await focused(page);
    expect(after.tag === "h3" || after.action === "revoke", `focus after the renewal: ${JSON.stringify(after)}`).toBe(true);
    expect(after.inCard ?? (await page.evaluate(() => document.activeElement?.closest("article.flow")?.getAttribute("data-flow"))), "focus stays in the card").toBe(id);
    await expectShown(page, "after the renewal");

    // Revoke with the keyboard: Tab to it (from the heading or from itself) and press Space.
    if (after.action !== "revoke") await tabTo(page, (f) => f.inCard === id && f.action === "revoke", "Revoke after the update");
    await Promise.all([page.waitForURL(/#flow-/), page.keyboard.press("Space")]);
    await card.locator('.state code:text-is("idle")').waitFor();
    const audit = (await t.api("GET", `/api/flows/${id}/audit`)).json.transitions as Array<{ event: string; user: string | null; client?: string }>;
    expect(audit.filter((e) => e.event === "REVOKE")).toEqual([expect.objectContaining({ user: "alice", client: "page" })]);
    await context.close();
  }, 60_000);
});
