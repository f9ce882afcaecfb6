// The testers' controls: lifetimes, faults on the token and exchange endpoints, and input checks.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, CORRELATED, loginWithHint, exchange, postToken, relyingParty, start } from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  simulator = await start();
  config = await relyingParty(simulator);
});
afterEach(() => void simulator.control.clearFaults());
afterAll(() => simulator.close());

const control = (method: string, path: string, body?: unknown) =>
  fetch(`${simulator.controlUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

describe("control API", () => {
  it("shows the lifetimes and pending faults, and changes lifetimes for what is issued afterwards", async () => {
    expect(await (await control("GET", "")).json()).toEqual({
      lifetimes: { authorizationSeconds: 31536000, accessTokenSeconds: 7200, refreshTokenSeconds: 31536000, codeSeconds: 60 },
      faults: [],
    });
    const res = await control("PUT", "/lifetimes", { accessTokenSeconds: 120 });
    expect((await res.json()).lifetimes.accessTokenSeconds).toBe(120);
    try {
      const tokens = await authorize(config);
      expect(tokens.expires_in).toBe(120);
    } finally {
      await control("PUT", "/lifetimes", { accessTokenSeconds: 7200 });
    }
  });

  it.each([
    ["PUT", "/lifetimes", { accessTokenSeconds: 0 }, /accessTokenSeconds/],
    ["PUT", "/lifetimes", { tokenSeconds: 5 }, /unknown field/],
    ["PUT", "/lifetimes", "not json", /JSON/],
    ["POST", "/revoke", { pid: "12345678901" }, /pid/],
    ["POST", "/revoke", {}, /pid/],
    ["POST", "/faults", { endpoint: "userinfo", status: 500 }, /endpoint/],
    ["POST", "/faults", { endpoint: "token", count: 0, status: 500 }, /count/],
    ["POST", "/faults", { endpoint: "token" }, /status, a delayMs or drop/],
    ["POST", "/faults", { endpoint: "token", status: 500, drop: true }, /not both/],
  ])("%s %s %j → 400 naming the problem", async (method, path, body, problem) => {
    const res = await control(method, path, body);
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json.error).toBe("bad_request");
    expect(json.detail).toMatch(problem);
  });

  it("answers 404 with the list of routes for an unknown control path", async () => {
    const res = await control("GET", "/nothing");
    expect(res.status).toBe(404);
    expect((await res.json()).detail).toMatch(/expire-codes/);
  });
});

describe("faults", () => {
  it("answer the next N token calls with the given status and body, then the real endpoint answers", async () => {
    await control("POST", "/faults", { endpoint: "token", count: 2, status: 503, body: { error: "temporarily_unavailable" } });
    expect(simulator.control.state().faults).toMatchObject([{ endpoint: "token", remaining: 2 }]);
    for (let i = 0; i < 2; i++) {
      const res = await postToken(simulator, { grant_type: "refresh_token", refresh_token: "x" });
      expect(res.status).toBe(503);
      expect(res.json).toEqual({ error: "temporarily_unavailable" });
    }
    const real = await postToken(simulator, { grant_type: "refresh_token", refresh_token: "x" });
    expect(real.status).toBe(400);
    expect(real.json).toMatchObject({ error: "invalid_grant" });
    expect(simulator.control.state().faults).toEqual([]);
  });

  it("default to ID-porten's invalid_grant body for a 400 on the token endpoint", async () => {
    simulator.control.addFault({ endpoint: "token", count: 1, status: 400 });
    const login = await loginWithHint(config);
    await expect(exchange(config, login)).rejects.toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(CORRELATED),
    });
  });

  it("answer the Altinn exchange with a text body and delay it", async () => {
    simulator.control.addFault({ endpoint: "altinn", count: 1, status: 429, body: "locked out", delayMs: 300 });
    const started = Date.now();
    const res = await fetch(simulator.altinnExchangeUrl);
    expect(res.status).toBe(429);
    expect(await res.text()).toBe("locked out");
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it("with only a delay, let the real endpoint answer late", async () => {
    simulator.control.addFault({ endpoint: "altinn", count: 1, delayMs: 200 });
    const started = Date.now();
    const res = await fetch(simulator.altinnExchangeUrl);
    expect(res.status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  });

  it("drop the connection without an answer", async () => {
    await control("POST", "/faults", { endpoint: "token", drop: true });
    await expect(postToken(simulator, { grant_type: "refresh_token", refresh_token: "x" })).rejects.toThrow();
    expect((await postToken(simulator, { grant_type: "refresh_token", refresh_token: "x" })).status).toBe(400);
  });

  it("are cleared by DELETE /control/faults", async () => {
    simulator.control.addFault({ endpoint: "token", count: 5, status: 500 });
    const res = await control("DELETE", "/faults");
    expect((await res.json()).faults).toEqual([]);
    expect((await postToken(simulator, { grant_type: "refresh_token", refresh_token: "x" })).status).toBe(400);
  });
});
