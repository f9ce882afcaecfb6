// The testers' controls: lifetimes, faults on the token and exchange endpoints, and input checks.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, CORRELATED, loginWithHint, exchange, postToken, relyingParty, start, control as controlOf } from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  simulator = await start();
  config = await relyingParty(simulator);
});
afterEach(() => void simulator.control.clearFaults());
afterAll(() => simulator.close());

// JSON on every POST and every request with a body (the control API refuses anything else, 415).
const control = (method: string, path: string, body?: unknown) =>
  fetch(`${simulator.controlUrl}${path}`, {
    method,
    headers: body === undefined && method !== "POST" ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

describe("control API", () => {
  it("shows the lifetimes and pending faults, and changes lifetimes for what is issued afterwards", async () => {
    expect(await (await control("GET", "")).json()).toEqual({
      lifetimes: { authorizationSeconds: 31536000, accessTokenSeconds: 7200, refreshTokenSeconds: 31536000, codeSeconds: 60, sessionSeconds: 1800 },
      settings: { refreshReuseGraceSeconds: 0 },
      faults: [],
      altinnPersons: simulator.persons.map((person) => person.pid).sort(),
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
    ["PUT", "/settings", { refreshReuseGraceSeconds: 3601 }, /refreshReuseGraceSeconds/],
    ["PUT", "/settings", { grace: 1 }, /unknown field/],
    ["PUT", "/lifetimes", { sessionSeconds: 0 }, /sessionSeconds/],
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

describe("the control API takes JSON only", () => {
  it.each([
    ["a form post", { "content-type": "application/x-www-form-urlencoded" }, "pid=01817010055"],
    ["text/plain (a no-cors fetch)", { "content-type": "text/plain" }, '{"pid":"01817010055"}'],
    ["no content type", {}, undefined],
  ])("refuses %s with 415 and does nothing", async (_name, headers, body) => {
    for (const path of ["/revoke", "/expire-codes", "/faults", "/altinn/persons"]) {
      const res = await fetch(`${simulator.controlUrl}${path}`, { method: "POST", headers, body });
      expect(res.status, path).toBe(415);
      expect((await res.json()).error).toBe("unsupported_media_type");
    }
    expect(simulator.control.state().faults).toEqual([]);
  });

  it("refuses a body that is not JSON on PUT too", async () => {
    const res = await fetch(`${simulator.controlUrl}/lifetimes`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(res.status).toBe(415);
  });
});

describe("a control token", () => {
  const TOKEN = "control-token-".padEnd(40, "x");
  let guarded: RunningSimulator;
  beforeAll(async () => {
    guarded = await start({ controlToken: TOKEN });
  });
  afterAll(() => guarded.close());

  it.each([
    ["no Authorization", {}],
    ["a wrong token", { authorization: "Bearer wrong-token-wrong-token" }],
    ["Basic", { authorization: `Basic ${btoa(`x:${TOKEN}`)}` }],
  ])("with %s, every route answers 401 and does nothing", async (_name, headers) => {
    for (const [method, path, body] of [["GET", ""], ["POST", "/faults", { endpoint: "token", status: 500 }], ["PUT", "/settings", { refreshReuseGraceSeconds: 9 }]] as const) {
      const res = await controlOf(guarded, method, path, body, headers);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect(guarded.control.state()).toMatchObject({ faults: [], settings: { refreshReuseGraceSeconds: 0 } });
  });

  it("with the right bearer token works, and still takes JSON only", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await controlOf(guarded, "GET", "", undefined, auth)).status).toBe(200);
    expect((await controlOf(guarded, "PUT", "/settings", { refreshReuseGraceSeconds: 3 }, auth)).json).toEqual({ settings: { refreshReuseGraceSeconds: 3 } });
    const form = await fetch(`${guarded.controlUrl}/expire-codes`, { method: "POST", headers: { ...auth, "content-type": "application/x-www-form-urlencoded" }, body: "a=b" });
    expect(form.status).toBe(415);
  });

  it("must be at least 16 characters", async () => {
    await expect(start({ controlToken: "short" })).rejects.toThrow(/controlToken/);
  });
});
