// Issue 8's reproduction, at service level: a colleague's abandoned login must never cost the bound
// user the authorization. ID-porten's lifetimes scaled down, on real time, enforced by the
// simulator: access tokens live 3 s, refresh tokens die after 4 s unused, a login times out after
// 4 s. Bob starts a login on alice's flow and never finishes it, re-sending AUTHORIZE meanwhile.
// Alice asks nothing for longer than a refresh token lives: only the keep-alive, running beside
// bob's pending login, keeps her grant alive. Her token calls answer 200 throughout and after bob's
// login times out; the flow is never expired.
import { afterEach, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, eventually, simulatorSaw, sleep } from "../support/fault-helpers.ts";

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("bob's abandoned (and re-sent) login never stops alice's keep-alive, renewal or token call; the flow never expires", async () => {
  t = await startTestService({
    SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS: "3",
    SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS: "4", // the engine's keep-alive follows it (IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS)
    LOGIN_TIMEOUT_SECONDS: "4",
  });
  const { id } = await authorizedFlow(t, "alice");
  const token = () => t!.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  const states: string[] = [];
  const look = async () => {
    const view = (await t!.api("GET", `/api/flows/${id}`)).json;
    states.push(view.authorizationState);
    return view;
  };

  const bob = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" });
  expect(bob.status).toBe(200);
  expect(bob.json).toMatchObject({ state: "awaitingCode", pendingUser: "bob", boundUser: "alice", authorizationState: "altinnAuthorized" });
  expect((await token()).status).toBe(200);

  // 5 s without a token call from alice (her refresh token would die after 4 s unused); bob re-sends AUTHORIZE twice.
  for (const _ of [1, 2]) {
    await sleep(1500);
    const again = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" });
    expect(again.status, again.text).toBe(200);
    expect((await look()).state).toBe("awaitingCode");
  }
  await sleep(2000);
  const afterQuiet = await token();
  expect(afterQuiet.status, afterQuiet.text).toBe(200);
  expect(simulatorSaw(t).refreshes, "the keep-alive renewed while bob's login was pending").toBeGreaterThanOrEqual(1);

  // Alice keeps asking until bob's login has timed out, and a while after.
  const answers: number[] = [];
  const timedOut = await eventually(async () => {
    answers.push((await token()).status);
    const view = await look();
    return view.state === "altinnAuthorized" ? view : undefined;
  }, "bob's login timed out", 10_000);
  expect(timedOut.lastError?.error).toBe("login_timeout");
  expect(timedOut.pendingUser).toBeNull();
  expect(timedOut.boundUser).toBe("alice");
  for (let i = 0; i < 3; i++) {
    answers.push((await token()).status);
    await look();
    await sleep(300);
  }
  expect(answers.every((s) => s === 200), JSON.stringify(answers)).toBe(true);

  expect(states).not.toContain("expired");
  const audit = (await t.api("GET", `/api/flows/${id}/audit`)).json.transitions as Array<{ to: string }>;
  expect(audit.map((a) => a.to)).not.toContain("expired");
  const saw = simulatorSaw(t);
  expect(saw.invalidGrants).toBe(0);
  expect(saw.reuses).toBe(0);
}, 30_000);
