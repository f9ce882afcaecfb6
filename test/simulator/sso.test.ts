// The browser's SSO session: a second authorization in the same browser (cookie jar) logs the
// previous person in silently; prompt=login shows the login page again; a higher acr than the
// session's asks again; the session ends after sessionSeconds.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import {
  authorizationUrl,
  type CookieJar,
  exchange,
  follow,
  loginWithHint,
  otherSyntheticPid,
  PID,
  REDIRECT_URI,
  relyingParty,
  sleep,
  start,
} from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  simulator = await start();
  config = await relyingParty(simulator);
});
afterAll(() => simulator.close());

/** A browser with a session: one login_hint login, its cookies kept. */
async function browserWithSession(extra: Record<string, string> = {}): Promise<CookieJar> {
  const jar: CookieJar = new Map();
  await exchange(config, await loginWithHint(config, extra, jar));
  return jar;
}

/** An authorization in that browser without login_hint: where does it end? */
async function authorizeIn(jar: CookieJar, extra: Record<string, string> = {}) {
  const attempt = await authorizationUrl(config, extra);
  const landed = await follow(attempt.url.toString(), jar);
  return { attempt, landed, silent: landed.url.startsWith(REDIRECT_URI) };
}

describe("SSO session", () => {
  it("logs the previous person in silently, without a page, with a new grant", async () => {
    const jar = await browserWithSession();
    const { attempt, landed, silent } = await authorizeIn(jar);
    expect(silent).toBe(true);
    const tokens = await exchange(config, { ...attempt, callback: new URL(landed.url) });
    expect(tokens.claims()).toMatchObject({ pid: PID, acr: "idporten-loa-substantial" });
    expect(tokens.refresh_token).toBeTruthy();
  });

  it("shows the login page again with prompt=login", async () => {
    const jar = await browserWithSession();
    const { landed, silent } = await authorizeIn(jar, { prompt: "login" });
    expect(silent).toBe(false);
    expect(landed.status).toBe(200);
    expect(landed.body).toContain("Choose a test person");
  });

  it("with prompt=login, a login_hint still logs the hinted person in (and ends the previous person's session)", async () => {
    const jar = await browserWithSession();
    const other = simulator.persons[2].pid;
    const { attempt, landed, silent } = await authorizeIn(jar, { prompt: "login", login_hint: other });
    expect(silent).toBe(true);
    expect((await exchange(config, { ...attempt, callback: new URL(landed.url) })).claims()!.pid).toBe(other);
    // The browser's session is now the hinted person's.
    const next = await authorizeIn(jar);
    expect((await exchange(config, { ...next.attempt, callback: new URL(next.landed.url) })).claims()!.pid).toBe(other);
  });

  it("asks again when the request wants a higher level than the session has", async () => {
    const jar = await browserWithSession();
    const { silent, landed } = await authorizeIn(jar, { acr_values: "idporten-loa-high" });
    expect(silent).toBe(false);
    expect(landed.body).toContain("idporten-loa-high");
  });

  it("answers a substantial request from a session logged in at high", async () => {
    const jar = await browserWithSession({ acr_values: "idporten-loa-high" });
    const { attempt, landed, silent } = await authorizeIn(jar);
    expect(silent).toBe(true);
    expect((await exchange(config, { ...attempt, callback: new URL(landed.url) })).claims()!.acr).toBe("idporten-loa-high");
  });

  it("ends after the session lifetime: the page is shown again", async () => {
    simulator.control.setLifetimes({ sessionSeconds: 1 });
    try {
      const jar = await browserWithSession();
      await sleep(2100);
      expect((await authorizeIn(jar)).silent).toBe(false);
    } finally {
      simulator.control.setLifetimes({ sessionSeconds: 1800 });
    }
  });

  it("makes one grant per authorization: none is left behind when the request needs a fresh login", async () => {
    const pid = otherSyntheticPid(7, 5, 91); // nobody else's grants in the count
    const jar = await browserWithSession({ login_hint: pid }); // 1
    const silent = await authorizeIn(jar); // 2, from the session
    await exchange(config, { ...silent.attempt, callback: new URL(silent.landed.url) });
    // prompt=login, a step-up and a hint for the same person: each asks for a login first; one grant each after it.
    for (const extra of [{ prompt: "login" }, { acr_values: "idporten-loa-high" }, { login_hint: `${pid}:high` }] as Record<string, string>[]) {
      const again = await authorizeIn(jar, { login_hint: pid, ...extra });
      expect(again.silent).toBe(true);
      await exchange(config, { ...again.attempt, callback: new URL(again.landed.url) });
    }
    expect(await simulator.control.revoke(pid)).toBe(5);
  });

  it("is per browser: another cookie jar sees the page", async () => {
    await browserWithSession();
    expect((await authorizeIn(new Map())).silent).toBe(false);
  });
});
