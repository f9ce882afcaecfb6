// The page behind a reverse proxy that serves it under a path and strips it (PUBLIC_URL
// "http://127.0.0.1:<proxy>/authflow"): every link, form, redirect, script and stream keeps the path,
// so a person completes the whole authorization through the proxy in real Chromium.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { launchChromium } from "../support/chromium.ts";
import { freePort } from "../support/free-port.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const PREFIX = "/authflow";
let t: TestService;
let browser: Browser;
let proxy: Server;
let proxyUrl: string;
const seen: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  proxyUrl = `http://127.0.0.1:${port}`;
  let target = "";
  // The proxy: only paths under /authflow, forwarded with the prefix stripped (as nginx's proxy_pass with a trailing slash).
  proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (!req.url?.startsWith(`${PREFIX}/`)) {
      res.writeHead(404).end(`not under ${PREFIX}: ${req.url}`);
      return;
    }
    const upstream = new URL(target);
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url.slice(PREFIX.length), headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  const users = JSON.stringify([{ user: "alice", passwordHash: await hashPassword("alice-password-1", { ln: 10, r: 8, p: 1 }) }]);
  [t, browser] = await Promise.all([startTestService({ PUBLIC_URL: `${proxyUrl}${PREFIX}`, UI_USERS: users }), launchChromium()]);
  target = t.url;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
});

it("signs in, creates, logs in with ID-porten and reaches altinnAuthorized entirely under the proxy's path", async () => {
  const context = await browser.newContext({ locale: "en-GB" });
  const page = await context.newPage();
  const failures: string[] = [];
  page.on("response", (response) => {
    if (response.url().startsWith(proxyUrl) && !response.url().endsWith("/favicon.ico") && response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
  });
  page.on("console", (message) => {
    // A failed load is counted above, by its address (the browser's favicon guess is not the page's).
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) failures.push(message.text());
  });
  await page.goto(`${proxyUrl}${PREFIX}/`);
  expect(new URL(page.url()).pathname).toBe(`${PREFIX}/signin`);
  await page.getByLabel("User").fill("alice");
  await page.getByLabel("Password").fill("alice-password-1");
  await Promise.all([page.waitForURL(`${proxyUrl}${PREFIX}/`), page.getByRole("button", { name: "Sign in" }).click()]);
  // The stylesheet and the live script came through the proxy too.
  await page.locator("#live-status:not(:empty)").waitFor();
  expect(await page.evaluate(() => getComputedStyle(document.querySelector("header.top")!).backgroundColor)).toBe("rgb(30, 41, 59)");
  await page.getByLabel("Legal entity (organisation number)").fill("999999999");
  await Promise.all([page.waitForURL(/\/authflow\/#flow-/), page.getByRole("button", { name: "Create" }).click()]);
  const card = page.locator("article.flow").first();
  await Promise.all([page.waitForURL(/\/authorize|\/login\/|\/interaction/), card.getByRole("button", { name: "Get authorization code" }).click()]);
  const person = t.service.simulator!.persons[0]!;
  await Promise.all([page.waitForURL(/\/authflow\/callback\?/), page.getByRole("button", { name: new RegExp(person.name) }).click()]);
  await expect(page.locator("h1").textContent()).resolves.toBe("Success");
  await Promise.all([page.waitForURL(/\/authflow\/#flow-/), page.getByRole("link", { name: "Back to the authorizations in authflow" }).click()]);
  await page.locator('article.flow .state code:text-is("altinnAuthorized")').waitFor({ timeout: 10_000 });
  // Every request the browser made to this host went under the path (the proxy answers 404 otherwise).
  // (The browser's own guess at /favicon.ico is not the page's.)
  expect(seen.filter((line) => !line.split(" ")[1]!.startsWith(`${PREFIX}/`) && line !== "GET /favicon.ico")).toEqual([]);
  expect(seen.some((line) => line.startsWith(`GET ${PREFIX}/events`))).toBe(true);
  expect(seen.some((line) => line.startsWith(`GET ${PREFIX}/login/`))).toBe(true);
  expect(failures).toEqual([]);
  await context.close();
}, 60_000);
