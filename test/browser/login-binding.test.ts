// Issue 9, point 4, in a real browser (Debian's Chromium): the login is bound to the browser that
// opened its login link. The authorization URL opened in one browser context completes; the same
// callback URL from a second context (no login cookie) is refused with a page in words and the flow
// does not change — neither before the first browser used it (403) nor after (400). And with
// uiLocale "nb" the page is in Norwegian, naming the organisation.
import { mkdir } from "node:fs/promises";
import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import { withServiceAndBrowser } from "../support/chromium.ts";

const ctx = withServiceAndBrowser();

/** What must not move when a refused callback arrives: the stored revision, updatedAt, state and binding. */
async function fingerprint(id: string) {
  const row = await ctx.t.service.engine.get(id);
  const view = (await ctx.t.api("GET", `/api/flows/${id}`)).json;
  return { revision: row.revision, updatedAt: view.updatedAt, state: view.state, boundUser: view.boundUser, codeReceived: view.codeReceived, lastError: view.lastError };
}

async function pickPerson(page: Page, name: string) {
  await Promise.all([page.waitForURL(/\/callback\?/), page.getByRole("button", { name: new RegExp(name) }).click()]);
}

it("the authorization URL completes in the browser that opened it; its callback from a second browser context is refused and changes nothing", async () => {
  const { t, browser } = ctx;
  await mkdir("test-output", { recursive: true });
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const authorizationUrl = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en" })).json.authorizationUrl;
  expect(authorizationUrl.startsWith(`${t.url}/login/`)).toBe(true);
  const person = t.service.simulator!.persons[0]!;

  const mine = await browser.newContext();
  const theirs = await browser.newContext();
  try {
    // The person's browser logs in; ID-porten's redirect back is caught before it reaches us
    // (Chromium's Fetch domain: playwright's page.route does not see requests that follow a redirect).
    const page = await mine.newPage();
    let callbackUrl = "";
    const cdp = await mine.newCDPSession(page);
    cdp.on("Fetch.requestPaused", (paused: { requestId: string; request: { url: string } }) => {
      callbackUrl = paused.request.url;
      void cdp.send("Fetch.failRequest", { requestId: paused.requestId, errorReason: "Aborted" });
    });
    await cdp.send("Fetch.enable", { patterns: [{ urlPattern: `${t.url}/callback?*`, requestStage: "Request" }] });
    await page.goto(authorizationUrl);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toMatch(/Log in/);
    await page.getByRole("button", { name: new RegExp(person.name) }).click();
    await expect.poll(() => callbackUrl).toMatch(/\/callback\?code=.+&state=/);
    expect((await mine.cookies()).some((c) => c.name.startsWith("authflow_login_") && c.httpOnly && c.sameSite === "Lax")).toBe(true);

    // A second browser context sends the same callback first: 403, a page in words, nothing changed.
    const before = await fingerprint(id);
    expect(before).toMatchObject({ state: "awaitingCode", boundUser: null, codeReceived: false });
    const other = await theirs.newPage();
    const refused = await other.goto(callbackUrl);
    expect(refused!.status()).toBe(403);
    await expect(other.locator("h1").textContent()).resolves.toBe("Login started in another browser");
    await expect(other.locator("main p").first().textContent()).resolves.toMatch(/only accepted in the browser that opened the login link\. Nothing was changed\./);
    await other.screenshot({ path: "test-output/login-binding-refused.png" });
    expect(await fingerprint(id)).toEqual(before);

    // The browser that opened the link completes.
    await cdp.send("Fetch.disable");
    const done = await page.goto(callbackUrl);
    expect(done!.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("Success");
    await page.screenshot({ path: "test-output/login-binding-success.png" });
    const authorized = await t.waitForState(id, ["altinnAuthorized"]);
    expect(authorized).toMatchObject({ state: "altinnAuthorized", boundUser: "alice", idporten: { pid: `${person.pid.slice(0, 6)}*****` } });

    // Replayed from the second context once it is used: 400, in words, and still nothing changes.
    const after = await fingerprint(id);
    const replay = await other.goto(callbackUrl);
    expect(replay!.status()).toBe(400);
    await expect(other.locator("h1").textContent()).resolves.toBe("Login already used or not in progress");
    await expect(other.locator("main p").first().textContent()).resolves.toContain("Nothing was changed.");
    expect(await fingerprint(id)).toEqual(after);

    // A reload in the browser that did the login shows its outcome again.
    const reload = await page.reload();
    expect(reload!.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("Success");
    expect(await fingerprint(id)).toEqual(after);
  } finally {
    await mine.close();
    await theirs.close();
  }
}, 30_000);

it("the login link opened a second time, in another browser context, is refused (410) and the login stays with the first", async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const authorizationUrl = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en" })).json.authorizationUrl;
  const mine = await browser.newContext();
  const theirs = await browser.newContext();
  try {
    const page = await mine.newPage();
    await page.goto(authorizationUrl);
    const before = await fingerprint(id);
    const other = await theirs.newPage();
    const second = await other.goto(authorizationUrl);
    expect(second!.status()).toBe(410);
    await expect(other.locator("h1").textContent()).resolves.toBe("Login link already used or expired");
    expect(await fingerprint(id)).toEqual(before);
    await pickPerson(page, t.service.simulator!.persons[1]!.name);
    await expect(page.locator("h1").textContent()).resolves.toBe("Success");
    await expect(t.waitForState(id, ["altinnAuthorized"])).resolves.toMatchObject({ state: "altinnAuthorized", boundUser: "alice" });
  } finally {
    await mine.close();
    await theirs.close();
  }
}, 30_000);

it('with uiLocale "nb" the login asks ID-porten for bokmål and the page is in Norwegian, naming the organisation number', async () => {
  const { t, browser } = ctx;
  const id = (await t.api("POST", "/api/flows", { legalEntity: "923609016" })).json.id;
  const authorizationUrl = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "kari", uiLocale: "nb" })).json.authorizationUrl;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(authorizationUrl);
    await expect(page.content()).resolves.toMatch(/Language asked for<\/dt><dd>nb</);
    await pickPerson(page, t.service.simulator!.persons[2]!.name);
    await expect(page.locator("html").getAttribute("lang")).resolves.toBe("nb");
    await expect(page.locator("h1").textContent()).resolves.toBe("Fullført");
    await expect(page.locator("main p").first().textContent()).resolves.toBe("Du er autorisert for organisasjon 923 609 016. Du kan lukke denne fanen og gå tilbake til systemet ditt.");
    await page.screenshot({ path: "test-output/login-binding-nb.png" });
    await expect(t.waitForState(id, ["altinnAuthorized"])).resolves.toMatchObject({ state: "altinnAuthorized", boundUser: "kari" });
  } finally {
    await context.close();
  }
}, 30_000);
