// A year of renewals in a flow's audit trail. With ID-porten's default refresh-token lifetime
// (600 s) an authorization renews itself every 8 minutes, three audit entries each time: left as
// they were, ≈ 34 MB a flow a year in lowdb's audit file (and 2 billion rows a year for 10,000 flows
// in PostgreSQL). The machine marks upkeep that changed no state a person sees as routine, whoever
// asked for it (a keep-alive, a token call); the store folds the older routine entries into one that
// counts them. What people did stays, entry by entry. Through the service, simulated clock, lowdb.
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import type { AuditEntry } from "../../src/store/flow-store.ts";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, expectNoUnexpectedErrors } from "../support/fault-helpers.ts";

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Waits until the flow's renewal (if one runs) is done: its substate is `ready` again. */
async function settled(t: TestService, id: string): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    if ((await t.api("GET", `/api/flows/${id}`)).json.substate === "ready") return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`flow ${id} did not settle`);
}

const routineOnes = (entries: AuditEntry[]) => entries.filter((e) => e.routine === true && e.folded === undefined);

it("keep-alive renewals and a token call's renewal are routine and folded after a while; the login and a person's RENEW stay entries of their own; every routine entry is still counted", async () => {
  t = await startTestService({
    SIMULATED_CLOCK: "on",
    IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS: "600",
    SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS: "600",
    SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS: "120",
  });
  const { id } = await authorizedFlow(t);
  const audit = async () => (await t!.api("GET", `/api/flows/${id}/audit`)).json.transitions as AuditEntry[];
  const login = await audit();
  expect(login.map((e) => [e.event, e.routine ?? false])).toEqual([
    ["create", false],
    ["AUTHORIZE", false],
    ["LOGIN_OPENED", false],
    ["CALLBACK", false],
    ["done: exchangeCode", false],
    ["done: exchangeAltinn", false],
  ]);

  // A token call whose access token is within its margin renews: upkeep, asked for by a caller.
  expect((await t.api("POST", "/api/clock", { advanceSeconds: 100 })).status).toBe(200);
  expect((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200);
  // A person who presses "Renew now" (RENEW) acts: that entry stays; the provider's answers are upkeep.
  expect((await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" })).status).toBe(200);
  await t.waitForState(id, ["altinnAuthorized"]);
  const afterRenewals = (await audit()).slice(login.length);
  expect(afterRenewals.map((e) => [e.event, e.user, e.routine ?? false])).toEqual([
    ["RENEW", "alice", true],
    ["done: refreshIdporten", null, true],
    ["done: exchangeAltinn", null, true],
    ["RENEW", "alice", false],
    ["done: refreshIdporten", null, true],
    ["done: exchangeAltinn", null, true],
  ]);

  // A day and a half of keep-alives, each due 480 s after the last renewal (80 % of the refresh
  // token's 600 s): the clock moves 500 s at a time, so each step fires one.
  const KEEP_ALIVES = 250;
  for (let n = 0; n < KEEP_ALIVES; n++) {
    expect((await t.api("POST", "/api/clock", { advanceSeconds: 500 })).status).toBe(200);
    await settled(t, id); // the clock fires the keep-alive; its renewal runs on
  }
  const view = (await t.api("GET", `/api/flows/${id}`)).json;
  expect(view.state).toBe("altinnAuthorized");
  expect(view.lastError).toBeNull();

  const newest = await audit();
  expect(newest.filter((e) => e.event === "KEEP_ALIVE").length).toBeGreaterThan(10);
  expect(newest.filter((e) => e.event === "KEEP_ALIVE" || e.event === "done: refreshIdporten").every((e) => e.routine === true)).toBe(true);

  // The whole trail, as the store keeps it: bounded, the people's entries whole, every routine one counted.
  const trail = await t.service.engine.audit(id, 100_000);
  const made = 3 * KEEP_ALIVES + 5;
  expect(trail.length).toBeLessThan(made / 2);
  expect(trail.filter((e) => e.routine !== true).map((e) => [e.event, e.user])).toEqual([
    ["create", null],
    ["AUTHORIZE", "alice"],
    ["LOGIN_OPENED", null],
    ["CALLBACK", null],
    ["done: exchangeCode", null],
    ["done: exchangeAltinn", null],
    ["RENEW", "alice"],
  ]);
  const folded = trail.filter((e) => e.folded !== undefined);
  expect(folded).toHaveLength(1);
  expect(folded[0]!.folded!.entries + routineOnes(trail).length).toBe(made);
  expect(folded[0]!.folded!.first).toBe(afterRenewals[0]!.at);
  // On disk: the audit file stays below its fold size (48 KB) and the lines still in the document.
  expect(statSync(join(t.dataDir, "audit", `${id}.jsonl`)).size).toBeLessThan(48 * 1024 + 4096);
  expectNoUnexpectedErrors(t);
}, 120_000);
