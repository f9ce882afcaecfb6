// The live viewer in headless Chromium: sign in, pick a flow, drive it over the API, and watch the
// highlighted state move idle → awaitingCode → altinnAuthorized without a reload — and, with a
// colleague's login pending beside the authorization, both regions marked at once. Every page is
// served under the HTML pages' Content-Security-Policy (no inline script or style), and the viewer's
// three promises are checked as a person would see them: the current state is on screen without
// scrolling, every time is in one format (local, with the offset), and the flow picker names each
// flow by legal entity, bound user and state.
import { mkdir } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { expect, it } from "vitest";
import { AUTHORIZATION_MACHINE } from "../../src/machines/authorization-machine.ts";
import { API_TOKEN } from "../support/test-service.ts";
import { withServiceAndBrowser } from "../support/chromium.ts";

const ctx = withServiceAndBrowser();

/** The policy every HTML response of the service is to carry. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The viewer's one time format: local time with the offset, e.g. "2025-11-25 10:26:13 +01:00". */
const LOCAL_TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d:\d\d)$/;
const instant = (text: string) => {
  const m = LOCAL_TIME.exec(text);
  if (!m) throw new Error(`not the viewer's time format: ${text}`);
  return Date.parse(`${m[1]}T${m[2]}${m[3]}`);
};

/**
 * A tab on /inspect whose page is served with the CSP header (set here, so the test does not depend
 * on the server's own header), recording every policy violation the browser reports.
 */
async function openViewer(browser: Browser, url: string, options: { viewport?: { width: number; height: number }; timezoneId: string }) {
  const page = await browser.newPage(options);
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (error) => violations.push(`page error: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      ((window as any).__violations ??= []).push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  await page.route(
    (u) => u.pathname === "/inspect",
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": CSP } });
    },
  );
  const response = await page.goto(url);
  expect(response?.headers()["content-security-policy"]).toBe(CSP);
  // The page's script ran (under the policy): it shows the sign-in form, hidden in the HTML.
  await page.getByLabel("API token").waitFor({ timeout: 5_000 });
  const allViolations = async () => [...violations, ...(await page.evaluate(() => (window as any).__violations ?? []))];
  return { page, allViolations };
}

/** Where the current state's box is: "in view" when all of it is on screen (window and the diagram's scroll box). */
const currentPlace = (page: Page) =>
  page.evaluate(() => {
    const node = document.querySelector('#diagram [aria-current="true"]');
    if (!node) return "no current state";
    const r = node.getBoundingClientRect();
    const box = document.getElementById("diagram")!.getBoundingClientRect();
    const top = Math.max(0, box.top), bottom = Math.min(innerHeight, box.bottom), left = Math.max(0, box.left), right = Math.min(innerWidth, box.right);
    const inside = r.top >= top - 1 && r.bottom <= bottom + 1 && r.left >= left - 1 && r.right <= right + 1;
    return inside ? "in view" : `out of view: box ${r.top}..${r.bottom} × ${r.left}..${r.right}, visible ${top}..${bottom} × ${left}..${right}`;
  });

/**
 * Every time on the page is in the one format: each <time> reads as its datetime (to the second), and
 * nowhere in the page's text is a date in another shape (an ISO string, a toLocaleString variant).
 */
async function expectOneTimeFormat(page: Page, offset: RegExp) {
  const times = await page.locator("time").evaluateAll((nodes) => nodes.map((n) => ({ text: n.textContent ?? "", datetime: n.getAttribute("datetime") ?? "" })));
  expect(times.length).toBeGreaterThan(3);
  for (const { text, datetime } of times) {
    expect(text).toMatch(LOCAL_TIME);
    expect(text).toMatch(offset);
    expect(instant(text)).toBe(Math.floor(Date.parse(datetime) / 1000) * 1000);
  }
  const pageText = await page.evaluate(() => document.body.innerText);
  const dates = [...pageText.matchAll(/\d{4}-\d\d-\d\d|\d{1,2}[./]\d{1,2}[./]\d{4}/g)].map((m) => pageText.slice(m.index, m.index + 40));
  expect(dates.length).toBeGreaterThanOrEqual(times.length);
  for (const date of dates) expect(date).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d(?![\d:.])/);
}

it("shows the machine drawn from its definition and follows a flow live, under a strict CSP", async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const other = (await t.api("POST", "/api/flows", { legalEntity: "310000000" })).json.id;
  expect(other).toEqual(expect.any(String));
  const { page, allViolations } = await openViewer(browser, `${t.url}/inspect`, { viewport: { width: 1400, height: 1000 }, timezoneId: "Europe/Oslo" });
  let reloads = 0;
  page.on("load", () => reloads++);

  await page.getByLabel("API token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").textContent()).resolves.toMatch(/refused/);

  await page.getByLabel("API token").fill(API_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('.state[data-state="grant.altinnAuthorized.renewing"]').waitFor();
  // The picker names every flow by legal entity, bound user (none yet) and state.
  const optionText = (flow: string) => page.locator(`#flow option[value="${flow}"]`).textContent();
  await expect(optionText(id)).resolves.toBe(`999999999 · unbound · idle · ${id.slice(0, 8)}`);
  await expect(optionText(other)).resolves.toBe(`310000000 · unbound · idle · ${other.slice(0, 8)}`);
  await page.getByLabel("Flow").selectOption(id);

  const current = page.locator('[aria-current="true"]');
  const expectCurrent = async (state: string) => {
    await page.waitForFunction((s) => document.querySelector('[aria-current="true"]')?.getAttribute("data-state") === s, state, { timeout: 10_000 });
    await expect(current.count()).resolves.toBe(1);
    // The current state is on screen without the person scrolling.
    await expect(currentPlace(page)).resolves.toBe("in view");
  };
  const activeLeaves = () => page.locator(".state.current-sub").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-state")));
  await expectCurrent("grant.idle");
  await expect(activeLeaves()).resolves.toEqual(["grant.idle", "login.inactive", "revocation.inactive"]);
  // Styled from viewer.css under style-src 'self' (the SVG's own <style> would be refused).
  await expect(current.locator("> rect").evaluate((r) => getComputedStyle(r).strokeWidth)).resolves.toBe("3px");

  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  await expectCurrent("login.awaitingCode");
  expect(await page.evaluate(() => scrollY)).toBeGreaterThan(0); // the login's box is below the fold of a 1000 px window
  await expect(activeLeaves()).resolves.toEqual(["grant.idle", "login.awaitingCode", "revocation.inactive"]);
  await expect(optionText(id)).resolves.toBe(`999999999 · unbound · awaitingCode (login: alice) · ${id.slice(0, 8)}`);
  await t.login(authorize.json.authorizationUrl);
  await expectCurrent("grant.altinnAuthorized");
  await page.locator("#transitions tr", { hasText: "AUTHORIZE" }).first().waitFor();
  await expect(page.locator("#transitions").textContent()).resolves.toContain("alice");
  await expect(page.locator("#current").textContent()).resolves.toBe("altinnAuthorized (ready)");
  expect(reloads).toBe(0);
  // The diagram is the server's SVG, derived from the definition: a frame, a box per region.
  await expect(page.locator('#diagram svg.machine[data-machine="authorization"] .state').count()).resolves.toBeGreaterThan(6);
  await expect(page.locator("#diagram .state.region").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-state")))).resolves.toEqual([
    "grant",
    "login",
    "revocation",
  ]);
  // What is active and what can happen next is marked.
  await expect(page.locator('.state[data-state="grant.altinnAuthorized.ready"]').getAttribute("class")).resolves.toContain("current-sub");
  await expect(activeLeaves()).resolves.toEqual(["grant.altinnAuthorized.ready", "login.inactive", "revocation.inactive"]);
  await expect(page.locator('.edge.live[data-source="grant.altinnAuthorized.ready"][data-event="RENEW"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="grant.altinnAuthorized"][data-event="AUTHORIZATION_EXPIRED"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="login.inactive"][data-event="AUTHORIZE"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="*"][data-event="REVOKE"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="grant.idle"]').count()).resolves.toBe(0);
  await expect(page.locator('.edge.live[data-source="login.awaitingCode"]').count()).resolves.toBe(0);
  // The flow picker names the legal entity, the bound user and the state.
  await expect(optionText(id)).resolves.toBe(`999999999 · alice · altinnAuthorized · ${id.slice(0, 8)}`);
  await expect(page.locator("#live").textContent()).resolves.toBe("● live");

  // One time format, local with the offset, in the facts and in the transitions.
  const view = (await t.api("GET", `/api/flows/${id}`)).json;
  const updated = page.locator("#facts tr", { hasText: "updated" }).locator("time");
  await expect(updated.getAttribute("datetime")).resolves.toBe(view.updatedAt);
  const updatedText = (await updated.textContent())!;
  expect(updatedText).toMatch(/ \+0[12]:00$/); // Europe/Oslo
  expect(instant(updatedText)).toBe(Math.floor(Date.parse(view.updatedAt) / 1000) * 1000);
  const created = (await page.locator("#facts tr", { hasText: "created" }).locator("time").textContent())!;
  expect(instant(created)).toBe(Math.floor(Date.parse(view.createdAt) / 1000) * 1000);
  const expires = (await page.locator("#facts tr", { hasText: "authorization expires" }).locator("time").textContent())!;
  expect(instant(expires)).toBe(Math.floor(Date.parse(view.authorizationExpiresAt) / 1000) * 1000);
  const transitionTimes = await page.locator("#transitions tr td:first-child").allTextContents();
  expect(transitionTimes.length).toBeGreaterThan(2);
  for (const text of transitionTimes) expect(text).toMatch(LOCAL_TIME);
  await expectOneTimeFormat(page, / \+0[12]:00$/);

  // A colleague's login pending beside the authorization: the login is the flow's state, and the
  // authorization it runs beside stays marked as active.
  const bob = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" });
  expect(bob.status).toBe(200);
  await expectCurrent("login.awaitingCode");
  await expect(page.locator('.state[data-state="grant.altinnAuthorized.ready"]').getAttribute("class")).resolves.toContain("current-sub");
  await expect(activeLeaves()).resolves.toEqual(["grant.altinnAuthorized.ready", "login.awaitingCode", "revocation.inactive"]);
  await expect(page.locator('.state[data-state="grant.altinnAuthorized"]').getAttribute("aria-current")).resolves.toBeNull();
  await expect(page.locator("#current").textContent()).resolves.toBe("awaitingCode · authorization: altinnAuthorized (ready)");
  await expect(page.locator('.edge.live[data-source="login.awaitingCode"][data-event="EXCHANGE_CODE"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="grant.altinnAuthorized.ready"][data-event="RENEW"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="login.inactive"]').count()).resolves.toBe(0);
  await expect(optionText(id)).resolves.toBe(`999999999 · alice · awaitingCode (login: bob) · ${id.slice(0, 8)}`);
  await expect(page.locator("#facts tr", { hasText: "pending login by" }).textContent()).resolves.toContain("bob");
  const deadline = (await page.locator("#facts tr", { hasText: "login deadline" }).locator("time").textContent())!;
  const bobView = (await t.api("GET", `/api/flows/${id}`)).json;
  expect(instant(deadline)).toBe(Math.floor(Date.parse(bobView.loginDeadline) / 1000) * 1000);
  await expectOneTimeFormat(page, / \+0[12]:00$/);
  // The list says the same as the live view: after "Reload list", every flow is named from /api/flows.
  expect((await t.api("POST", `/api/flows/${other}/events`, { type: "AUTHORIZE", user: "carol" })).status).toBe(200);
  await page.getByRole("button", { name: "Reload list" }).click();
  await expect.poll(() => optionText(other)).toBe(`310000000 · unbound · awaitingCode (login: carol) · ${other.slice(0, 8)}`);
  await expect(optionText(id)).resolves.toBe(`999999999 · alice · awaitingCode (login: bob) · ${id.slice(0, 8)}`);
  await expect(page.getByLabel("Flow").inputValue()).resolves.toBe(id);

  const html = await page.content();
  const token = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json.altinnToken;
  expect(token).toEqual(expect.any(String)); // alice's authorization serves her while bob's login is pending
  expect(html).not.toContain(token);
  expect(html).not.toMatch(/eyJ[\w-]{10,}\./);
  expect(page.url()).toBe(`${t.url}/inspect?flow=${id}`);

  await mkdir("test-output", { recursive: true });
  await page.screenshot({ path: "test-output/inspect.png", fullPage: true });

  // The whole session ran under the policy without a single violation; the policy is in force (an
  // inline script injected now is refused, and reported).
  await expect(allViolations()).resolves.toEqual([]);
  const inlineRan = await page.evaluate(() => {
    const probe = document.createElement("script");
    probe.textContent = "window.__inlineRan = true";
    document.head.append(probe);
    return (window as any).__inlineRan === true;
  });
  expect(inlineRan).toBe(false);
  await expect.poll(allViolations).toEqual(expect.arrayContaining([expect.stringMatching(/^script-src(-elem)? blocked inline$/)]));

  // /inspect?flow=<id> opens that flow directly (a new tab signs in first: the token lives per tab),
  // in a smaller window and another zone: the current state is brought into view on load, and the
  // times carry that zone's offset.
  const direct = await openViewer(browser, `${t.url}/inspect?flow=${id}`, { viewport: { width: 1100, height: 640 }, timezoneId: "Asia/Kolkata" });
  await direct.page.getByLabel("API token").fill(API_TOKEN);
  await direct.page.getByRole("button", { name: "Sign in" }).click();
  await direct.page.waitForFunction(() => document.querySelector('[aria-current="true"]')?.getAttribute("data-state") === "login.awaitingCode", null, { timeout: 10_000 });
  await expect(currentPlace(direct.page)).resolves.toBe("in view");
  expect(await direct.page.evaluate(() => scrollY)).toBeGreaterThan(0);
  await expect(direct.page.locator('.state[data-state="grant.altinnAuthorized.ready"]').getAttribute("class")).resolves.toContain("current-sub");
  await expect(direct.page.getByLabel("Flow").inputValue()).resolves.toBe(id);
  await direct.page.locator("#transitions tr").first().waitFor();
  await expectOneTimeFormat(direct.page, / \+05:30$/);
  await expect(direct.allViolations()).resolves.toEqual([]);
}, 40_000);

it("serves the viewer's script and stylesheet as files of their own, and nothing inline in the page", async () => {
  const { t } = ctx;
  const page = await fetch(`${t.url}/inspect`);
  const html = await page.text();
  expect(html).toContain('<script type="module" src="/inspect/viewer.js"></script>');
  expect(html).toContain('<link rel="stylesheet" href="/inspect/viewer.css">');
  expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/inspect/viewer.js">']);
  expect(html).not.toMatch(/<style\b/);
  expect(html).not.toMatch(/\s(on[a-z]+|style)\s*=/i);
  const script = await fetch(`${t.url}/inspect/viewer.js`);
  expect(script.status).toBe(200);
  expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  expect(script.headers.get("x-content-type-options")).toBe("nosniff");
  const code = await script.text();
  expect(code).toContain("scrollIntoView");
  expect(code).not.toMatch(/toLocale\w*String/); // times are shown through localTime() only
  expect(code).not.toMatch(/\.style\b|setAttribute\("style"|innerHTML/);
  const css = await fetch(`${t.url}/inspect/viewer.css`);
  expect(css.status).toBe(200);
  expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  const rules = await css.text();
  expect(rules).toContain('svg.machine .state[aria-current="true"] > rect');
  expect(rules).toContain("#diagram");
});

it("the machine export: Stately JSON and Mermaid", async () => {
  const { t } = ctx;
  const list = await t.api("GET", "/api/machines");
  expect(list.json.machines).toEqual([expect.objectContaining({ name: "authorization", version: AUTHORIZATION_MACHINE.version, id: "authorization" })]);
  expect(list.json.machines[0].states).toEqual(expect.arrayContaining(["grant", "grant.altinnAuthorized.renewing", "login.awaitingCode", "revocation.revoking"]));
  const json = await t.api("GET", "/api/machines/authorization");
  expect(json.json.definition.id).toBe("authorization");
  expect(json.json.definition.type).toBe("parallel");
  expect(Object.keys(json.json.definition.states)).toEqual(["grant", "login", "revocation"]);
  expect(Object.keys(json.json.definition.states.grant.states)).toEqual(["idle", "idportenAuthorized", "altinnAuthorized", "expired"]);
  expect(Object.keys(json.json.definition.states.login.states)).toEqual(["inactive", "awaitingCode", "exchanging"]);
  expect(json.json.definition.states.login.states.awaitingCode.on.EXCHANGE_CODE[0].guard).toBe("codeHeld && attemptUser");
  expect(json.json.definition.on.REVOKE[0].guard).toBe(
    "boundUser && !in(grant.idportenAuthorized.renewing) && !in(grant.altinnAuthorized.renewing) && !in(login.exchanging)",
  );
  expect(json.json.definition.states.grant.states.expired.always[0].guard).toBe("replacementHeld");
  const svg = await fetch(`${t.url}/api/machines/authorization?format=svg`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  expect(svg.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
  const svgText = await svg.text();
  expect(svgText).toContain('data-state="grant.altinnAuthorized.renewing"');
  expect(svgText.match(/<g class="state region[^"]*" data-state="(grant|login|revocation)"/g)).toHaveLength(3);
  const mermaid = await fetch(`${t.url}/api/machines/authorization?format=mermaid`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  expect(mermaid.headers.get("content-type")).toContain("text/plain");
  const mermaidText = await mermaid.text();
  expect(mermaidText).toMatch(/^stateDiagram-v2\n/);
  expect(mermaidText.match(/^\s+--$/gm)).toHaveLength(2);
  expect((await t.api("GET", "/api/machines/nope")).status).toBe(404);
  expect((await t.api("GET", "/api/machines/authorization?format=png")).status).toBe(400);
  expect((await t.api("GET", "/api/machines", undefined, null)).status).toBe(401);
});
