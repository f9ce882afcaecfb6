// Issue 10, "what it must show": a person completes the authorization on the Web applications page
// by clicking, in real headless Chromium against the whole service (embedded simulator over real
// HTTP, lowdb on disk). Screenshots of each step go to test-output/web-page/.
import { mkdir, rm } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { launchChromium } from "../support/chromium.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const SHOTS = "test-output/web-page";
const ENTITY = "999999999";
const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-2" };

async function uiUsers(): Promise<string> {
  // A cheap cost for the test (the hash says its own cost); the service's default is far dearer.
  const cost = { ln: 10, r: 8, p: 1 };
  return JSON.stringify([
    { user: "alice", name: "Alice Nordmann", passwordHash: await hashPassword(PASSWORDS.alice, cost) },
    { user: "bob", name: "Bob Hansen", passwordHash: await hashPassword(PASSWORDS.bob, cost) },
  ]);
}

let shot = 0;
beforeAll(() => rm(SHOTS, { recursive: true, force: true })); // this run's screenshots only
async function screenshot(page: Page, name: string) {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${String(++shot).padStart(2, "0")}-${name}.png`, fullPage: true });
}

async function signIn(browser: Browser, t: TestService, user: "alice" | "bob"): Promise<Page> {
  const context = await browser.newContext({ locale: "en-GB", timezoneId: "Europe/Oslo" });
  const page = await context.newPage();
  await page.goto(`${t.url}/`);
  expect(new URL(page.url()).pathname).toBe("/signin");
  await page.getByLabel("User").fill(user);
  await page.getByLabel("Password").fill(PASSWORDS[user]);
  await Promise.all([page.waitForURL(`${t.url}/`), page.getByRole("button", { name: "Sign in" }).click()]);
  await expect(page.getByText(`Signed in as`).textContent()).resolves.toContain(user === "alice" ? "Alice Nordmann" : "Bob Hansen");
  return page;
}

const card = (page: Page, entity = ENTITY, integration = "default") => page.locator(`article.flow[data-legal-entity="${entity}"][data-integration="${integration}"]`).first();

async function createAuthorization(page: Page, entity = ENTITY) {
  await page.getByLabel("Legal entity (organisation number)").fill(entity);
  await Promise.all([page.waitForURL(/#flow-/), page.getByRole("button", { name: "Create" }).click()]);
  await screenshot(page, "created");
  await expect(card(page, entity).locator(".state code").textContent()).resolves.toBe("idle");
}

/** "Get authorization code", then the simulator's login page: pick the first test person. */
async function logIn(page: Page, t: TestService, name: string) {
  await card(page).getByLabel("Language at ID-porten").selectOption("en");
  await Promise.all([page.waitForURL(/\/authorize|\/login|\/interaction/), card(page).getByRole("button", { name: /Get authorization code|Start the login again/ }).click()]);
  const person = t.service.simulator!.persons[0]!;
  const button = page.getByRole("button", { name: new RegExp(person.name) });
  await button.waitFor();
  await screenshot(page, `${name}-idporten-login`);
  await Promise.all([page.waitForURL(/\/callback\?/), button.click()]);
  return person;
}

describe("the Web applications page (automatic Altinn step)", () => {
  let t: TestService;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService({ UI_USERS: await uiUsers(), INTEGRATION_ADMINS: "alice" }), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("a person signs in, creates an authorization, logs in with ID-porten and sees altinnAuthorized with scope and expiries", async () => {
    const page = await signIn(browser, t, "alice");
    await screenshot(page, "signed-in");
    await createAuthorization(page);
    const person = await logIn(page, t, "auto");
    await expect(page.locator("h1").textContent()).resolves.toBe("Success");
    await screenshot(page, "callback-success");
    await Promise.all([page.waitForURL(/#flow-/), page.getByRole("link", { name: "Back to the authorizations in authflow" }).click()]);
    const flow = card(page);
    await flow.locator('.state code:text-is("altinnAuthorized")').waitFor({ timeout: 10_000 });
    await expect(flow.locator('[data-field="boundUser"]').textContent()).resolves.toBe("alice");
    await expect(flow.locator('[data-field="person"]').textContent()).resolves.toBe(`${person.pid.slice(0, 6)}*****`);
    const scope = await flow.locator('[data-field="scope"]').textContent();
    for (const s of ["skatteetaten:mvameldinginnsending", "altinn:instances.write"]) expect(scope).toContain(s);
    // One time format: Oslo time with its offset, and how far off.
    expect(await flow.locator('[data-field="accessExpires"]').textContent()).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2} \(in \d+ (s|min|h)\)$/);
    expect(await flow.locator('[data-field="altinnExpires"]').textContent()).toMatch(/[+-]\d{2}:\d{2} \(in /);
    expect(await flow.locator('[data-field="authorizationExpires"]').textContent()).toMatch(/^\d{2}\.\d{2}\.\d{4}/);
    // Only the buttons the state takes from her: renew and revoke; no code exchange, no Altinn step.
    await expect(flow.getByRole("button", { name: "Renew now" }).count()).resolves.toBe(1);
    await expect(flow.getByRole("button", { name: "Revoke" }).count()).resolves.toBe(1);
    await expect(flow.getByRole("button", { name: "Get access token" }).count()).resolves.toBe(0);
    await expect(flow.getByRole("button", { name: "NO Altinn: get access token" }).count()).resolves.toBe(0);
    await screenshot(page, "altinn-authorized");
    // The audit names the page and the person.
    const id = (await flow.getAttribute("data-flow"))!;
    const audit = (await t.api("GET", `/api/flows/${id}/audit`)).json.transitions as Array<{ event: string; user: string | null; client?: string }>;
    expect(audit.find((e) => e.event === "AUTHORIZE")).toMatchObject({ user: "alice", client: "page" });
    await page.context().close();
  }, 60_000);

  it("a second person cannot use the first person's authorization, is told who holds it, and the page moves without a reload", async () => {
    const page = await signIn(browser, t, "bob");
    const flow = card(page);
    await flow.locator('.state code:text-is("altinnAuthorized")').waitFor();
    await expect(flow.locator(".held").textContent()).resolves.toContain("held by alice");
    await expect(flow.locator(".held").textContent()).resolves.toContain("authorize yourself");
    await expect(flow.getByRole("button", { name: "Renew now" }).count()).resolves.toBe(0);
    await expect(flow.getByRole("button", { name: "Revoke" }).count()).resolves.toBe(0);
    // A hand-made form post for bob's Renew (the button is not there) is refused in words, nothing changes.
    const id = (await flow.getAttribute("data-flow"))!;
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const refused = await page.evaluate(
      async ({ id, csrf }) => {
        const response = await fetch(`/flows/${id}/renew`, { method: "POST", body: new URLSearchParams({ _csrf: csrf }), redirect: "follow" });
        return { url: response.url, text: await response.text() };
      },
      { id, csrf },
    );
    expect(refused.text).toContain("another person");
    expect(refused.text).toContain("held by alice");
    await page.goto(`${t.url}/#flow-${id}`);
    await screenshot(page, "second-person-refused");
    // Without a CSRF token the same post is refused outright.
    const noToken = await page.evaluate(async (id) => (await fetch(`/flows/${id}/renew`, { method: "POST", body: new URLSearchParams({}) })).status, id);
    expect(noToken).toBe(403);
    // Alice revokes through the API; bob's open page shows it without a reload.
    await page.locator("#live-status:not(:empty)").waitFor();
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    const revoked = await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
    expect(revoked.status).toBe(200);
    await card(page).locator('.state code:text-is("idle")').waitFor({ timeout: 10_000 });
    expect(navigations).toEqual([]);
    await expect(page.locator("#live-status").textContent()).resolves.toContain("Not authorized");
    // Bob is not in INTEGRATION_ADMINS: he reads the integrations but has no form, and a hand-made post is refused in words.
    await expect(page.getByText("Add integration").count()).resolves.toBe(0);
    await expect(page.locator("section.integrations .note").last().textContent()).resolves.toContain("INTEGRATION_ADMINS");
    const post = await page.evaluate(
      async (csrf) => (await fetch("/integrations", { method: "POST", body: new URLSearchParams({ _csrf: csrf, name: "bobs", issuer: "https://idporten.example.com", clientId: "x", clientSecret: "y", redirectUri: "https://erp.example/callback", exchangeUrl: "https://altinn.example/x" }) })).text(),
      csrf,
    );
    expect(post).toContain("You may read the integrations but not change them");
    expect((await t.api("GET", "/api/integrations/bobs")).status).toBe(404);
    await page.context().close();
  }, 60_000);

  it("a flow made elsewhere appears first without a reload, and one deleted elsewhere goes; while one legal entity is found, another's does not", async () => {
    await t.api("POST", "/api/flows", { legalEntity: ENTITY }); // at least one card on the page before
    const page = await signIn(browser, t, "bob");
    await page.locator("#live-status:not(:empty)").waitFor();
    const made = (await t.api("POST", "/api/flows", { legalEntity: "123456785" })).json.id as string;
    await page.locator(`#flow-${made}`).waitFor({ timeout: 10_000 });
    // First among the cards (newest first), not at the bottom.
    await expect(page.locator("section.flows article.flow").first().getAttribute("data-flow")).resolves.toBe(made);
    // Deleted elsewhere (DELETE /api/flows/:id): its card goes without a reload.
    const doomed = (await t.api("POST", "/api/flows", { legalEntity: "123456785" })).json.id as string;
    await page.locator(`#flow-${doomed}`).waitFor({ timeout: 10_000 });
    expect((await t.api("DELETE", `/api/flows/${doomed}`)).status).toBe(204);
    await page.locator(`#flow-${doomed}`).waitFor({ state: "detached", timeout: 10_000 });
    // Find one legal entity: its cards only, and a new flow of another legal entity stays off the page.
    await page.getByLabel("Find a legal entity").fill("999 999 999");
    await Promise.all([page.waitForURL(/\?legalEntity=/), page.getByRole("button", { name: "Show", exact: true }).click()]);
    await expect(page.locator("section.flows").getAttribute("data-only")).resolves.toBe(ENTITY);
    await expect(page.locator(`article.flow:not([data-legal-entity="${ENTITY}"])`).count()).resolves.toBe(0);
    await page.locator("#live-status:not(:empty)").waitFor();
    const other = (await t.api("POST", "/api/flows", { legalEntity: "123456785" })).json.id as string;
    const same = (await t.api("POST", "/api/flows", { legalEntity: ENTITY })).json.id as string;
    await page.locator(`#flow-${same}`).waitFor({ timeout: 10_000 }); // events come in order: the other one's came first
    await expect(page.locator(`#flow-${other}`).count()).resolves.toBe(0);
    await screenshot(page, "found-one-legal-entity");
    await page.context().close();
  }, 60_000);

  it("adds an integration on the page: each problem is named at its field, the secret is never shown, the change is audited", async () => {
    const page = await signIn(browser, t, "alice");
    const secret = "integration-secret-on-the-page-0123456789";
    const issuer = t.service.simulator!.issuer;
    await page.getByText("Add integration").first().click();
    const form = page.locator('form[action="/integrations"]');
    await form.getByLabel("Name").fill("acme-test");
    await form.getByLabel("Issuer").fill("http://idporten.example.com");
    await form.getByLabel("Client ID").fill("acme-client");
    await form.getByLabel("Client secret").fill(secret);
    await form.getByLabel("Redirect URL").fill(`${t.url}/callback`);
    await form.getByLabel("Registered redirect URIs").fill(`${t.url}/elsewhere`);
    await form.getByLabel("Exchange URL").fill(`${issuer}/altinn/authentication/api/v1/exchange/id-porten`);
    await Promise.all([page.waitForURL(/#integration-/), form.getByRole("button", { name: "Add integration" }).click()]);
    const refused = page.locator('form[action="/integrations"]');
    await expect(refused.locator('#new-issuer[aria-invalid="true"]').count()).resolves.toBe(1);
    await expect(refused.locator("#new-issuer-help").textContent()).resolves.toContain("must be https");
    await expect(refused.locator("#new-redirectUri-help").textContent()).resolves.toContain("must be one of the registered redirect URIs");
    await expect(refused.getByLabel("Name").inputValue()).resolves.toBe("acme-test"); // what was typed is kept…
    await expect(refused.getByLabel("Client secret").inputValue()).resolves.toBe(""); // …but never the secret
    await screenshot(page, "integration-problems");
    await refused.getByLabel("Issuer").fill(issuer);
    await refused.getByLabel("Registered redirect URIs").fill(`${t.url}/callback`);
    await refused.getByLabel("Client secret").fill(secret);
    await Promise.all([page.waitForURL(/#integration-acme-test/), refused.getByRole("button", { name: "Add integration" }).click()]);
    const saved = page.locator("#integration-acme-test");
    await expect(saved.locator('[data-field="clientSecret"]').textContent()).resolves.toContain("set (hidden)");
    await expect(saved.locator('[data-field="redirectCheck"]').textContent()).resolves.toContain("Matches");
    expect(await page.content()).not.toContain(secret);
    await screenshot(page, "integration-saved");
    const audit = await t.api("GET", "/api/integrations/acme-test/audit");
    expect(JSON.stringify(audit.json)).toContain('"client":"page"');
    expect(JSON.stringify(audit.json)).toContain('"user":"alice"');
    expect(JSON.stringify(audit.json)).not.toContain(secret);
    await page.context().close();
  }, 60_000);

  it("a client secret ID-porten refuses is said on the card: which integration, what to renew and where", async () => {
    // As at Digdir: the integration's client is registered at the simulator with its secret.
    const secret = "acme-secret-first-0123456789abcdef";
    expect((await t.control("POST", "/clients", { clientId: "acme-client", clientSecret: secret, redirectUris: [`${t.url}/callback`] })).status).toBe(201);
    const current = (await t.api("GET", "/api/integrations/acme-test")).json;
    const updated = await t.api("PUT", "/api/integrations/acme-test", {
      idporten: { issuer: current.idporten.issuer, clientId: "acme-client", clientSecret: secret, redirectUri: current.idporten.redirectUri, registeredRedirectUris: current.idporten.registeredRedirectUris },
      altinn: current.altinn,
      revision: current.revision,
    });
    expect(updated.status, updated.text).toBe(200);
    const page = await signIn(browser, t, "alice");
    await page.getByLabel("Legal entity (organisation number)").fill("123456785");
    await page.locator("#integration").selectOption("acme-test");
    await Promise.all([page.waitForURL(/#flow-/), page.getByRole("button", { name: "Create" }).click()]);
    const flow = card(page, "123456785", "acme-test");
    await Promise.all([page.waitForURL(/\/authorize|\/login|\/interaction/), flow.getByRole("button", { name: "Get authorization code" }).click()]);
    const person = t.service.simulator!.persons[0]!;
    await Promise.all([page.waitForURL(/\/callback\?/), page.getByRole("button", { name: new RegExp(person.name) }).click()]);
    await page.goto(`${t.url}/`);
    await card(page, "123456785", "acme-test").locator('.state code:text-is("altinnAuthorized")').waitFor();
    // The secret is renewed at Digdir (the old one dies) but not yet here: "Renew now" is refused.
    expect((await t.control("POST", "/clients", { clientId: "acme-client", clientSecret: "acme-secret-second-0123456789abcd", redirectUris: [`${t.url}/callback`] })).status).toBe(201);
    await Promise.all([page.waitForURL(/#flow-/), card(page, "123456785", "acme-test").getByRole("button", { name: "Renew now" }).click()]);
    const error = card(page, "123456785", "acme-test").locator('.error[data-error="invalid_client"]');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain("ID-porten refused the client secret of the integration “acme-test”");
    await expect(error.textContent()).resolves.toContain("enter it under Integrations");
    // The authorization itself is kept.
    await expect(card(page, "123456785", "acme-test").locator(".state code").textContent()).resolves.toBe("altinnAuthorized");
    await screenshot(page, "client-secret-refused");
    await page.context().close();
  }, 60_000);
});

describe("the Web applications page (manual mode, a code exchanged too late)", () => {
  let t: TestService;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService({ UI_USERS: await uiUsers(), EXCHANGE_MODE: "manual", SIMULATOR_CODE_TTL_SECONDS: "5" }), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("waits too long, clicks Get access token, reads the invalid_grant explanation, starts again and succeeds", async () => {
    const page = await signIn(browser, t, "alice");
    await createAuthorization(page);
    await logIn(page, t, "manual");
    await expect(page.locator("h1").textContent()).resolves.toBe("Code received");
    await page.getByRole("link", { name: "Back to the authorizations in authflow" }).click();
    let flow = card(page);
    await expect(flow.locator(".pending").textContent()).resolves.toContain("The authorization code has arrived");
    await screenshot(page, "manual-code-received");
    // The simulator's codes live 5 s here (time enough for a loaded machine to exchange at once below): wait them out, then exchange.
    await page.waitForTimeout(5_500);
    await Promise.all([page.waitForURL(/#flow-/), flow.getByRole("button", { name: "Get access token" }).click()]);
    flow = card(page);
    const error = flow.locator('.error[data-error="invalid_grant"]');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain("The code was exchanged too late");
    await expect(error.textContent()).resolves.toContain("valid for 5 seconds");
    await expect(flow.locator(".state code").textContent()).resolves.toBe("idle");
    await screenshot(page, "manual-invalid-grant");
    // Start again, and exchange at once this time.
    await logIn(page, t, "manual-again");
    await page.getByRole("link", { name: "Back to the authorizations in authflow" }).click();
    flow = card(page);
    await Promise.all([page.waitForURL(/#flow-/), flow.getByRole("button", { name: "Get access token" }).click()]);
    flow = card(page);
    await flow.locator('.state code:text-is("idportenAuthorized")').waitFor();
    await screenshot(page, "manual-idporten-authorized");
    await Promise.all([page.waitForURL(/#flow-/), flow.getByRole("button", { name: "NO Altinn: get access token" }).click()]);
    flow = card(page);
    await flow.locator('.state code:text-is("altinnAuthorized")').waitFor();
    await expect(flow.locator(".error").count()).resolves.toBe(0);
    await screenshot(page, "manual-altinn-authorized");
    await page.context().close();
  }, 60_000);
});
