// The live viewer in headless Chromium: sign in, pick a flow, drive it over the API, and watch the
// highlighted state move idle → awaitingCode → altinnAuthorized without a reload — and, with a
// colleague's login pending beside the authorization, both regions marked at once.
import { mkdir } from "node:fs/promises";
import { expect, it } from "vitest";
import { AUTHORIZATION_MACHINE } from "../../src/machines/authorization-machine.ts";
import { API_TOKEN } from "../support/test-service.ts";
import { withServiceAndBrowser } from "../support/chromium.ts";

const ctx = withServiceAndBrowser();

/** The viewer's one time format: local time with the offset, e.g. "2025-11-25 10:26:13 +01:00". */
const LOCAL_TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d:\d\d)$/;
const instant = (text: string) => {
  const m = LOCAL_TIME.exec(text);
  if (!m) throw new Error(`not the viewer's time format: ${text}`);
  return Date.parse(`${m[1]}T${m[2]}${m[3]}`);
};

it("shows the machine drawn from its definition and follows a flow live", async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, timezoneId: "Europe/Oslo" });
  let reloads = 0;
  page.on("load", () => reloads++);
  await page.goto(`${t.url}/inspect`);

  await page.getByLabel("API token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").textContent()).resolves.toMatch(/refused/);

  await page.getByLabel("API token").fill(API_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('.state[data-state="grant.altinnAuthorized.renewing"]').waitFor();
  await page.getByLabel("Flow").selectOption(id);

  const current = page.locator('[aria-current="true"]');
  const expectCurrent = async (state: string) => {
    await page.waitForFunction((s) => document.querySelector('[aria-current="true"]')?.getAttribute("data-state") === s, state, { timeout: 10_000 });
    await expect(current.count()).resolves.toBe(1);
  };
  const activeLeaves = () => page.locator(".state.current-sub").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-state")));
  await expectCurrent("grant.idle");
  await expect(activeLeaves()).resolves.toEqual(["grant.idle", "login.inactive", "revocation.inactive"]);

  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  await expectCurrent("login.awaitingCode");
  await expect(activeLeaves()).resolves.toEqual(["grant.idle", "login.awaitingCode", "revocation.inactive"]);
  await t.login(authorize.json.authorizationUrl);
  await expectCurrent("grant.altinnAuthorized");
  await page.locator("#transitions tr", { hasText: "AUTHORIZE" }).first().waitFor();
  await expect(page.locator("#transitions").textContent()).resolves.toContain("alice");
  await expect(page.locator("#current").textContent()).resolves.toBe("altinnAuthorized (ready)");
  expect(reloads).toBe(1);
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
  await expect(page.locator(`#flow option[value="${id}"]`).textContent()).resolves.toBe(`999999999 · alice · altinnAuthorized · ${id.slice(0, 8)}`);
  await expect(page.locator("#live").textContent()).resolves.toBe("● live");

  // One time format, local with the offset, in the facts and in the transitions.
  const view = (await t.api("GET", `/api/flows/${id}`)).json;
  const updated = page.locator("#facts tr", { hasText: "updated" }).locator("time");
  await expect(updated.getAttribute("datetime")).resolves.toBe(view.updatedAt);
  const updatedText = (await updated.textContent())!;
  expect(updatedText).toMatch(/ \+0[12]:00$/); // Europe/Oslo
  expect(instant(updatedText)).toBe(Math.floor(Date.parse(view.updatedAt) / 1000) * 1000);
  const expires = (await page.locator("#facts tr", { hasText: "authorization expires" }).locator("time").textContent())!;
  expect(instant(expires)).toBe(Math.floor(Date.parse(view.authorizationExpiresAt) / 1000) * 1000);
  const transitionTimes = await page.locator("#transitions tr td:first-child").allTextContents();
  expect(transitionTimes.length).toBeGreaterThan(2);
  for (const text of transitionTimes) expect(text).toMatch(LOCAL_TIME);

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
  await expect(page.locator(`#flow option[value="${id}"]`).textContent()).resolves.toBe(`999999999 · alice · awaitingCode (login: bob) · ${id.slice(0, 8)}`);
  await expect(page.locator("#facts tr", { hasText: "pending login by" }).textContent()).resolves.toContain("bob");
  const deadline = (await page.locator("#facts tr", { hasText: "login deadline" }).locator("time").textContent())!;
  const bobView = (await t.api("GET", `/api/flows/${id}`)).json;
  expect(instant(deadline)).toBe(Math.floor(Date.parse(bobView.loginDeadline) / 1000) * 1000);

  const html = await page.content();
  const token = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json.altinnToken;
  expect(token).toEqual(expect.any(String)); // alice's authorization serves her while bob's login is pending
  expect(html).not.toContain(token);
  expect(html).not.toMatch(/eyJ[\w-]{10,}\./);
  expect(page.url()).toBe(`${t.url}/inspect?flow=${id}`);

  await mkdir("test-output", { recursive: true });
  await page.screenshot({ path: "test-output/inspect.png", fullPage: true });

  // /inspect?flow=<id> opens that flow directly (a new tab signs in first: the token lives per tab).
  const direct = await browser.newPage();
  await direct.goto(`${t.url}/inspect?flow=${id}`);
  await direct.getByLabel("API token").fill(API_TOKEN);
  await direct.getByRole("button", { name: "Sign in" }).click();
  await direct.waitForFunction(() => document.querySelector('[aria-current="true"]')?.getAttribute("data-state") === "login.awaitingCode", null, { timeout: 10_000 });
  await expect(direct.locator('.state[data-state="grant.altinnAuthorized.ready"]').getAttribute("class")).resolves.toContain("current-sub");
  await expect(direct.getByLabel("Flow").inputValue()).resolves.toBe(id);
}, 40_000);

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
