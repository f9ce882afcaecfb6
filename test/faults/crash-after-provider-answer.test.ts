// Issue 8, point 1: a crash between the provider's answer and its write. The refresh leaves only
// once `renewing` is written; the provider rotates the one-time refresh token and answers; the
// process dies before the answer is written. On start-up the engine finds `renewing` and runs the
// refresh again at once with the spent token:
// - with a provider that has a reuse grace (SIMULATOR_REFRESH_REUSE_GRACE_SECONDS), it answers and
//   the authorization lives on;
// - without one, the flow ends `expired` with words that say why (invalid_grant, and that a
//   renewal's answer may have been lost).
// The crash is made by putting back the flow document copied while the refresh was in flight (the
// state a crash leaves on disk) and starting again on the same DATA_DIR.
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, heldAtSimulator, reopen, simulatorSaw, waitForRest } from "../support/fault-helpers.ts";

let t: TestService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  t = dir = undefined;
});

/** Authorizes, renews through a token call while the simulator holds the refresh, and "crashes" with the renewing document on disk. */
async function crashWithRenewalAnswerLost(graceSeconds: number): Promise<{ id: string; answered: string }> {
  dir = await mkdtemp(join(tmpdir(), "authflow-crash-"));
  const env = { SIMULATED_CLOCK: "on", SIMULATOR_REFRESH_REUSE_GRACE_SECONDS: String(graceSeconds) };
  t = await startTestService(env, dir);
  const { id } = await authorizedFlow(t);
  const doc = join(dir, "flows", `${id}.json`);
  const copy = join(dir, "..", `${id}.renewing.${process.pid}.json`);

  await t.api("POST", "/api/clock", { advanceSeconds: 7200 }); // the access token is now due for renewal
  await t.control("POST", "/faults", { endpoint: "token", delayMs: 1500, count: 1 });
  const renewal = t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  await heldAtSimulator(t);
  // The refresh is at the provider: its starting state must already be on disk.
  await copyFile(doc, copy);
  const onDisk = JSON.parse(await readFile(copy, "utf8"));
  expect(onDisk.summary).toMatchObject({ authorizationState: "altinnAuthorized", substate: "renewing" });
  const answered = await renewal;
  expect(answered.status, answered.text).toBe(200);
  expect(simulatorSaw(t).refreshes).toBe(1);

  // The answer is "lost": the document goes back to what it was while the call was in flight.
  t = await reopen(t, env, async () => {
    await copyFile(copy, doc);
    await rm(copy);
  });
  return { id, answered: answered.json.altinnToken };
}

describe("crash between the provider's answer and the write", () => {
  it("with a reuse grace (30 s): the refresh is re-run at start-up with the spent token, the provider answers, the flow is altinnAuthorized and serves", async () => {
    const { id, answered } = await crashWithRenewalAnswerLost(30);
    const view = await waitForRest(t!, id);
    expect(view.state, JSON.stringify(view.lastError)).toBe("altinnAuthorized");
    expect(view.substate).toBe("ready");
    // The new process's simulator saw the re-run: a reuse within the grace, answered with new tokens.
    const saw = simulatorSaw(t!);
    expect(saw.reuses).toBe(1);
    expect(saw.refreshes).toBe(1);
    expect(saw.invalidGrants).toBe(0);
    const token = await t!.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status, token.text).toBe(200);
    expect(token.json.altinnToken).not.toBe(answered);
  }, 30_000);

  it("without a grace: the re-run gets invalid_grant and the flow ends expired, saying a renewal's answer may have been lost", async () => {
    const { id } = await crashWithRenewalAnswerLost(0);
    const view = await waitForRest(t!, id);
    expect(view.state).toBe("expired");
    expect(view.lastError.error).toBe("authorization_expired");
    expect(view.lastError.error_description).toMatch(/invalid_grant/);
    expect(view.lastError.error_description).toMatch(/answer was lost/);
    expect(view.lastError.hint).toMatch(/AUTHORIZE/);
    expect(simulatorSaw(t!).invalidGrants).toBe(1);
    const token = await t!.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status).toBe(409);
    expect(token.json.detail).toMatch(/expired/);
  }, 30_000);
});
