// Debian's Chromium driven by playwright-core: never a browser download.
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import type { Env } from "../../src/config.ts";
import { startTestService, type TestService } from "./test-service.ts";

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** One service (with its simulator) and one browser for a test file, closed after it. */
export function withServiceAndBrowser(env: Env = {}): { t: TestService; browser: Browser } {
  const ctx = {} as { t: TestService; browser: Browser };
  beforeAll(async () => {
    [ctx.t, ctx.browser] = await Promise.all([startTestService(env), launchChromium()]);
  });
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.t?.close();
  });
  return ctx;
}
