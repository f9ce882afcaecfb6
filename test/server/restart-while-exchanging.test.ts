// A failure never leaves a flow stuck in `exchanging`, also across a restart: the restored flow
// re-runs its exchange (a code is single-use, so the re-run may honestly end in invalid_grant).
import { expect, it } from "vitest";
import { startTestService } from "../support/test-service.ts";

it("a flow persisted in exchanging finishes its exchange after a restart", async () => {
  const t = await startTestService({ OUTBOUND_TIMEOUT_SECONDS: "10" });
  try {
    await t.control("POST", "/faults", { endpoint: "token", count: 1, delayMs: 4000 });
    const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
    const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    const browser = t.login(authorize.json.authorizationUrl).catch(() => undefined); // the old server's page; not awaited
    const during = await t.waitForState(id, ["exchanging"]);
    expect(during.state).toBe("exchanging");
    await t.restart();
    // The delayed call never reached the provider's token logic, so the code is unused and the
    // re-run succeeds. (Had it been spent, the honest outcome would be idle with invalid_grant.)
    const after = await t.waitForState(id, ["altinnAuthorized", "idle"], 15_000);
    expect(after.state, JSON.stringify(after.lastError)).toBe("altinnAuthorized");
    expect(after.boundUser).toBe("alice");
    void browser;
  } finally {
    await t.close();
  }
}, 40_000);

it("an ID-porten that does not answer in time puts the flow back in idle, with the reason", async () => {
  const t = await startTestService({ OUTBOUND_TIMEOUT_SECONDS: "1" });
  try {
    await t.control("POST", "/faults", { endpoint: "token", count: 1, delayMs: 3000 });
    const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
    const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    const started = Date.now();
    const page = await t.login(authorize.json.authorizationUrl);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(page.body).toMatch(/Authorization failed/);
    const view = await t.waitForState(id, ["idle"]);
    expect(view.state).toBe("idle");
    expect(view.lastError).toMatchObject({ error: "temporarily_unavailable", error_description: expect.stringMatching(/did not answer the code exchange within 1 s/) });
  } finally {
    await t.close();
  }
}, 30_000);
