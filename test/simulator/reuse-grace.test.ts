// The reuse grace for rotated one-time refresh tokens (refreshReuseGraceSeconds): within it, reuse
// answers a fresh rotation; after it, invalid_grant (and the grant ends); with the default 0,
// invalid_grant at once.

import { afterEach, describe, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator, SimulatorOptions } from "../../src/simulator/index.ts";
import { authorize, CORRELATED, decodeJwt, PID, relyingParty, sleep, start } from "./helpers.ts";

const running: RunningSimulator[] = [];
afterEach(async () => {
  for (const simulator of running.splice(0)) await simulator.close();
});

async function setUp(options: Partial<SimulatorOptions> = {}) {
  const simulator = await start(options);
  running.push(simulator);
  return { simulator, config: await relyingParty(simulator) };
}

describe("refresh token reuse grace", () => {
  it("default 0: a rotated token answers invalid_grant at once, and the grant ends", async () => {
    const { config } = await setUp();
    const first = await authorize(config);
    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(CORRELATED),
    });
    await expect(client.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("within the grace: the rotated token answers a fresh rotation, and both new tokens work", async () => {
    const { config } = await setUp({ refreshReuseGraceSeconds: 2 });
    const first = await authorize(config);
    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    const retried = await client.refreshTokenGrant(config, first.refresh_token!);
    expect(retried.refresh_token).toBeTruthy();
    expect(retried.refresh_token).not.toBe(second.refresh_token);
    expect(decodeJwt(retried.access_token)).toMatchObject({ pid: PID });
    await expect(client.refreshTokenGrant(config, retried.refresh_token!)).resolves.toMatchObject({ refresh_token: expect.any(String) });
    await expect(client.refreshTokenGrant(config, second.refresh_token!)).resolves.toMatchObject({ refresh_token: expect.any(String) });
  });

  it("after the grace: invalid_grant, counted from the FIRST rotation (a reuse does not extend it)", async () => {
    const { config } = await setUp({ refreshReuseGraceSeconds: 2 });
    const first = await authorize(config);
    await client.refreshTokenGrant(config, first.refresh_token!);
    await sleep(1200);
    await client.refreshTokenGrant(config, first.refresh_token!); // within: answers
    await sleep(1000);
    await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("can be changed by testers at run time (PUT /control/settings)", async () => {
    const { simulator, config } = await setUp();
    simulator.control.setSettings({ refreshReuseGraceSeconds: 30 });
    const first = await authorize(config);
    await client.refreshTokenGrant(config, first.refresh_token!);
    await expect(client.refreshTokenGrant(config, first.refresh_token!)).resolves.toMatchObject({ refresh_token: expect.any(String) });
  });

  it("refuses a grace that is not a whole number from 0 to 3600 at start", async () => {
    await expect(start({ refreshReuseGraceSeconds: -1 })).rejects.toThrow(/refreshReuseGraceSeconds/);
    await expect(start({ refreshReuseGraceSeconds: 1.5 })).rejects.toThrow(/refreshReuseGraceSeconds/);
  });
});
