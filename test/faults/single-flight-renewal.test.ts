// One renewal at a time per flow, however many callers ask (DESIGN §4): twenty token calls that all
// find the access token expired while ID-porten is slow share one refresh. Counted at the simulator
// — its own log of refresh grants and a fault queue that every token call passes through — not by
// the service. A second refresh would spend the one-time refresh token twice.
import { afterEach, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, simulatorLines, simulatorSaw } from "../support/fault-helpers.ts";

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("20 concurrent token calls with an expired access token and a slow provider: all 200, same new tokens, ONE refresh at the simulator", async () => {
  t = await startTestService({ SIMULATED_CLOCK: "on" });
  const { id } = await authorizedFlow(t);
  const before = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(before.status).toBe(200);

  // The engine's clock passes the access token's expiry (7200 s); the simulator runs on real time.
  expect((await t.api("POST", "/api/clock", { advanceSeconds: 7200 })).status).toBe(200);
  const sawBefore = simulatorSaw(t);
  const altinnBefore = simulatorLines(t).filter((l) => l.startsWith("altinn: exchanged")).length;
  // The first token call is held 1.5 s; every later one passes a no-op fault that counts it.
  await t.control("POST", "/faults", { endpoint: "token", delayMs: 1500, count: 1 });
  await t.control("POST", "/faults", { endpoint: "token", delayMs: 0, count: 1000 });

  const answers = await Promise.all(Array.from({ length: 20 }, () => t!.api("POST", `/api/flows/${id}/token`, { user: "alice" })));

  expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
  const first = answers[0]!.json;
  expect(first.altinnToken).not.toBe(before.json.altinnToken);
  expect(first.idportenAccessToken).not.toBe(before.json.idportenAccessToken);
  for (const a of answers) {
    expect(a.json.altinnToken).toBe(first.altinnToken);
    expect(a.json.idportenAccessToken).toBe(first.idportenAccessToken);
  }

  // What the simulator saw: one token call in all (the held one; the counter was never touched),
  // one refresh granted, no reuse and no refusal, one Altinn exchange.
  const counter = (await t.control("GET", "")).json.faults.find((f: { count: number }) => f.count === 1000);
  expect(counter?.remaining, "token calls after the first one").toBe(1000);
  const saw = simulatorSaw(t);
  expect(saw.faulted - sawBefore.faulted, "token calls that reached the simulator").toBe(1);
  expect(saw.refreshes - sawBefore.refreshes, "refresh grants").toBe(1);
  expect(saw.reuses - sawBefore.reuses).toBe(0);
  expect(saw.invalidGrants - sawBefore.invalidGrants).toBe(0);
  expect(simulatorLines(t).filter((l) => l.startsWith("altinn: exchanged")).length - altinnBefore, "Altinn exchanges").toBe(1);
  expect((await t.api("GET", `/api/flows/${id}`)).json.state).toBe("altinnAuthorized");
}, 30_000);
