// The live viewer in headless Chromium: sign in, pick a flow, drive it over the API, and watch the
// highlighted state move idle → awaitingCode → altinnAuthorized without a reload.
import { mkdir } from "node:fs/promises";
import { expect, it } from "vitest";
import { API_TOKEN } from "../support/test-service.ts";
import { withServiceAndBrowser } from "../support/chromium.ts";

const ctx = withServiceAndBrowser();

it("shows the machine drawn from its definition and follows a flow live", async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  let reloads = 0;
  page.on("load", () => reloads++);
  await page.goto(`${t.url}/inspect`);

  await page.getByLabel("API token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").textContent()).resolves.toMatch(/refused/);

  await page.getByLabel("API token").fill(API_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('.state[data-state="altinnAuthorized.renewing"]').waitFor();
  await page.getByLabel("Flow").selectOption(id);

  const current = page.locator('[aria-current="true"]');
  const expectCurrent = async (state: string) => {
    await page.waitForFunction((s) => document.querySelector('[aria-current="true"]')?.getAttribute("data-state") === s, state, { timeout: 10_000 });
    await expect(current.count()).resolves.toBe(1);
  };
  await expectCurrent("idle");

  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  await expectCurrent("awaitingCode");
  await t.login(authorize.json.authorizationUrl);
  await expectCurrent("altinnAuthorized");
  await page.locator("#transitions tr", { hasText: "AUTHORIZE" }).first().waitFor();
  await expect(page.locator("#transitions").textContent()).resolves.toContain("alice");
  await expect(page.locator("#current").textContent()).resolves.toBe("altinnAuthorized (ready)");
  expect(reloads).toBe(1);
  // The diagram is the server's SVG, derived from the definition; what can happen next is marked.
  await expect(page.locator('#diagram svg.machine[data-machine="authorization"] .state').count()).resolves.toBeGreaterThan(6);
  await expect(page.locator('.state[data-state="altinnAuthorized.ready"]').getAttribute("class")).resolves.toContain("current-sub");
  await expect(page.locator('.edge.live[data-source="altinnAuthorized.ready"][data-event="RENEW"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="*"][data-event="REVOKE"]').count()).resolves.toBe(1);
  await expect(page.locator('.edge.live[data-source="idle"]').count()).resolves.toBe(0);
  await expect(page.locator(`#flow option[value="${id}"]`).textContent()).resolves.toContain("altinnAuthorized");
  await expect(page.locator("#live").textContent()).resolves.toBe("● live");

  const html = await page.content();
  const token = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json.altinnToken;
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
  await direct.waitForFunction(() => document.querySelector('[aria-current="true"]')?.getAttribute("data-state") === "altinnAuthorized", null, { timeout: 10_000 });
  await expect(direct.getByLabel("Flow").inputValue()).resolves.toBe(id);
}, 40_000);

it("the machine export: Stately JSON and Mermaid", async () => {
  const { t, browser } = ctx;
  const list = await t.api("GET", "/api/machines");
  expect(list.json.machines).toEqual([expect.objectContaining({ name: "authorization", version: 1, id: "authorization" })]);
  const json = await t.api("GET", "/api/machines/authorization");
  expect(json.json.definition.id).toBe("authorization");
  expect(Object.keys(json.json.definition.states)).toEqual(["idle", "awaitingCode", "exchanging", "idportenAuthorized", "altinnAuthorized", "expired"]);
  expect(json.json.definition.states.awaitingCode.on.EXCHANGE_CODE[0].guard).toBe("codeHeld && attemptUser");
  const svg = await fetch(`${t.url}/api/machines/authorization?format=svg`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  expect(svg.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
  expect(await svg.text()).toContain('data-state="altinnAuthorized.renewing"');
  const mermaid = await fetch(`${t.url}/api/machines/authorization?format=mermaid`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  expect(mermaid.headers.get("content-type")).toContain("text/plain");
  expect(await mermaid.text()).toMatch(/^stateDiagram-v2\n/);
  expect((await t.api("GET", "/api/machines/nope")).status).toBe(404);
  expect((await t.api("GET", "/api/machines/authorization?format=png")).status).toBe(400);
  expect((await t.api("GET", "/api/machines", undefined, null)).status).toBe(401);
});
