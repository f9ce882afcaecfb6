// One walk through the simulator's login page in headless Chromium, as a person would do it:
// open the authorization URL, pick a test person, land on the Success page.
import { mkdir } from "node:fs/promises";
import { expect, it } from "vitest";
import { withServiceAndBrowser } from "../support/chromium.ts";

const ctx = withServiceAndBrowser();

it("a person logs in through the login page and the flow reaches altinnAuthorized", async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en" });
  const page = await browser.newPage();
  await page.goto(authorize.json.authorizationUrl);
  const person = t.service.simulator!.persons[0]!;
  const button = page.getByRole("button", { name: new RegExp(person.name) });
  await expect(button.count()).resolves.toBe(1);
  await expect(page.content()).resolves.toContain(person.pid);
  await mkdir("test-output", { recursive: true });
  await page.screenshot({ path: "test-output/login-page.png", fullPage: true });
  await Promise.all([page.waitForURL(/\/callback\?/), button.click()]);
  await expect(page.locator("h1").textContent()).resolves.toBe("Success");
  await page.screenshot({ path: "test-output/callback-success.png" });
  const view = await t.waitForState(id, ["altinnAuthorized"]);
  expect(view).toMatchObject({ state: "altinnAuthorized", boundUser: "alice", idporten: { pid: `${person.pid.slice(0, 6)}*****` } });
}, 30_000);

it("a person who cancels at the login page lands on a page that says so; the flow is idle with access_denied", async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  const page = await browser.newPage();
  await page.goto(authorize.json.authorizationUrl);
  await Promise.all([page.waitForURL(/\/callback\?/), page.getByRole("button", { name: "Cancel" }).click()]);
  await expect(page.locator("h1").textContent()).resolves.toBe("Login not completed");
  await expect(page.locator("main p").first().textContent()).resolves.toContain("access_denied");
  const view = await t.waitForState(id, ["idle"]);
  expect(view).toMatchObject({ state: "idle", boundUser: null, lastError: { error: "access_denied" } });
}, 30_000);
