// A person the trusted proxy signs in holds the page only while the proxy says so on each request,
// so their page's event stream is renewed now and then through the proxy. The first version ended
// the stream and let the browser reconnect: every change made during the reconnection's pause was
// never shown (review). Now the page opens the next stream first and closes the old one once the
// new one is ready. Here the renewal comes every second, and every flow made meanwhile must appear.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchChromium } from "../support/chromium.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

let t: TestService;
let browser: Browser;
beforeAll(async () => {
  [t, browser] = await Promise.all([
    startTestService({ TRUSTED_USER_HEADER: "x-remote-user", TRUSTED_PROXIES: "127.0.0.1" }, undefined, { proxyStreamMs: 1000 }),
    launchChromium(),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

it("the page's stream is renewed through the proxy without a gap: every flow made across four renewals appears", async () => {
  const context = await browser.newContext({ locale: "en-GB", extraHTTPHeaders: { "x-remote-user": "pat" } });
  const page = await context.newPage();
  await page.goto(`${t.url}/`);
  await page.locator("#live-status", { hasText: "Live updates on" }).waitFor({ timeout: 10_000 });
  const streamsBefore = t.lines.filter((l) => /^GET \/events\b/.test(l)).length;
  const made: string[] = [];
  for (const end = Date.now() + 4500; Date.now() < end; ) {
    made.push((await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id as string);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const id of made) await page.locator(`#flow-${id}`).waitFor({ state: "attached", timeout: 5_000 });
  const streams = t.lines.filter((l) => /^GET \/events\b/.test(l)).length - streamsBefore;
  expect(streams, "the stream was renewed (each renewal is a request through the proxy)").toBeGreaterThanOrEqual(3);
  expect(await page.locator("#live-status").textContent()).not.toContain("Signed out");
  await context.close();
}, 60_000);
