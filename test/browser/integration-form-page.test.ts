// The integration form in real headless Chromium (the service with its embedded simulator, lowdb on
// disk): a private_key_jwt integration is shown and saved as one (its key kept), a refresh token
// lifetime of none stays none, and a refusal of input too long to carry back in the flash cookie
// (which the browser would drop) still shows its problem, in English and bokmål. Screenshots of the
// forms go to test-output/integration-form/.
import { mkdir } from "node:fs/promises";
import { exportJWK, generateKeyPair } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { launchChromium } from "../support/chromium.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const PASSWORD = "alice-password-1";
const SHOTS = "test-output/integration-form";

let t: TestService;
let browser: Browser;
beforeAll(async () => {
  const users = [{ user: "alice", name: "Alice Nordmann", passwordHash: await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }) }];
  [t, browser] = await Promise.all([startTestService({ UI_USERS: JSON.stringify(users), INTEGRATION_ADMINS: "alice" }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(locale: "en-GB" | "nb-NO"): Promise<Page> {
  const page = await (await browser.newContext({ locale })).newPage();
  await page.goto(`${t.url}/signin`);
  await page.locator("#user").fill("alice");
  await page.locator("#password").fill(PASSWORD);
  await Promise.all([page.waitForURL(`${t.url}/`), page.locator("form.signin button[type=submit]").click()]);
  return page;
}

describe("the integration form in a browser", () => {
  it("a private_key_jwt integration with no refresh token lifetime: the edit form shows both, and saving another field keeps them and the key", async () => {
    const key = JSON.stringify(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey));
    const created = await t.api("POST", "/api/integrations", {
      name: "pkj",
      idporten: { issuer: t.service.simulator!.issuer, clientId: "pkj-client", clientAuth: "private_key_jwt", clientKey: key, clientKeyId: "kid-1", redirectUri: `${t.url}/callback`, refreshTokenLifetimeSeconds: null },
      altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl },
    });
    expect(created.status, created.text).toBe(201);
    const page = await signIn("en-GB");
    const card = page.locator("#integration-pkj");
    await expect(card.locator('[data-field="refreshTokenLifetimeSeconds"]').textContent()).resolves.toBe("none (no keep-alive)");
    await card.locator("summary").click();
    const form = card.locator("form");
    await expect(form.locator("select[name=clientAuth]").inputValue()).resolves.toBe("private_key_jwt");
    await expect(form.getByLabel("Key ID (kid)").inputValue()).resolves.toBe("kid-1");
    await expect(form.getByLabel("None: the refresh token does not expire when unused").isChecked()).resolves.toBe(true);
    await mkdir(SHOTS, { recursive: true });
    await form.screenshot({ path: `${SHOTS}/pkj-edit-form.png` });
    await form.getByLabel("Login timeout (seconds)").fill("180");
    await Promise.all([page.waitForURL(/#integration-pkj/), form.getByRole("button", { name: "Save" }).click()]);
    await expect(page.locator(".notice.ok").textContent()).resolves.toContain("Saved.");
    const after = (await t.api("GET", "/api/integrations/pkj")).json;
    expect(after).toMatchObject({ loginTimeoutSeconds: 180, idporten: { clientAuth: "private_key_jwt", clientKeyId: "kid-1", clientSecretSet: true, refreshTokenLifetimeSeconds: null } });
    const audit = (await t.api("GET", "/api/integrations/pkj/audit")).json.entries as Array<{ changed: string[] }>;
    expect(audit.at(-1)!.changed).toEqual(["loginTimeoutSeconds"]);
    await page.context().close();
  }, 60_000);

  for (const [locale, problem, leftOut] of [
    ["en-GB", "Scope (idporten.scope) must be at most 1000 characters", "Too long to show again: what you typed in “Scope”"],
    ["nb-NO", "Scope (idporten.scope) must be at most 1000 characters", "For langt til å vises igjen: det du skrev i «Scope»"],
  ] as const) {
    it(`a new integration with a 5,000-character scope: the problem is shown and the form kept, the scope said to be left out (${locale})`, async () => {
      const page = await signIn(locale);
      await page.locator("details:has(form[action='/integrations']) summary").click();
      const add = page.locator('form[action="/integrations"]');
      await add.locator("input[name=name]").fill("longscope");
      await add.locator("input[name=issuer]").fill(t.service.simulator!.issuer);
      await add.locator("input[name=clientId]").fill("c");
      await add.locator("input[name=clientSecret]").fill("s");
      await add.locator("input[name=redirectUri]").fill(`${t.url}/callback`);
      await add.locator("input[name=exchangeUrl]").fill(t.service.simulator!.altinnExchangeUrl);
      await add.locator("input[name=scope]").fill(`openid ${"x".repeat(5_000)}`);
      await Promise.all([page.waitForURL(/#integration-new/), add.locator("button[type=submit]").click()]);
      const shown = page.locator('form[action="/integrations"]');
      await expect(page.locator("details:has(form[action='/integrations'])").getAttribute("open")).resolves.not.toBeNull();
      const said = (await shown.locator(".notice.error").allInnerTexts()).join(" ");
      expect(said).toContain(problem);
      expect(said).toContain(leftOut);
      await expect(shown.locator("#new-scope-help").textContent()).resolves.toContain(problem);
      await expect(shown.locator("input[name=name]").inputValue()).resolves.toBe("longscope");
      await mkdir(SHOTS, { recursive: true });
      await shown.screenshot({ path: `${SHOTS}/long-scope-refused-${locale}.png` });
      expect((await t.api("GET", "/api/integrations/longscope")).status).toBe(404);
      await page.context().close();
    }, 60_000);
  }
});
