// A REVOKE that lands on the instance that does not hold the flow. Its revocation call used to be
// written without a lease (a revocation under way did not count as a call for the engine), so the
// instance holding the flow, reloading it in `revoking` after the other's write, called ID-porten a
// second time (review: two calls for one REVOKE, every time). Now the call is leased like a renewal,
// and the reloaded copy waits for its answer. Counted at the simulator: each revocation call is held
// by a fault (a delay), and the simulator names each fault it answers with in its log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_REQUIRED, probe } from "../store/postgres-server.ts";
import { browserLogin, eventually, LEGAL_ENTITY, pairBehindOneUrl, sleep, type Instance, type RelayedDatabase, type Simulator } from "./cluster.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;
const HOLD_MS = 4_000;

describe.skipIf(skip)(`a REVOKE on another instance than the one holding the flow${skip && !reach.ok ? ` (skipped: ${reach.reason})` : ""}`, () => {
  let cluster: RelayedDatabase | undefined;
  let sim: Simulator;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    if (!reach.ok) throw new Error(`${reach.reason}. This test is required here (CI or AUTHFLOW_PG_TESTS=required).`);
    ({ cluster, sim, a, b } = await pairBehindOneUrl());
  }, 60_000);

  afterAll(() => cluster?.teardown(), 30_000);

  it("makes one revocation call, and the grant is revoked", async () => {
    const created = await a.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
    const id = created.json.id as string;
    const authorize = await a.http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect((await browserLogin(authorize.json.authorizationUrl)).status).toBe(200);
    // A holds the authorized flow (its login and token call were there).
    expect((await a.http.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200);

    const revocationCalls = () => sim.lines().filter((l) => /^fault: revocation call answered by a fault/.test(l)).length;
    expect((await sim.control("POST", "/faults", { endpoint: "revocation", delayMs: HOLD_MS, count: 5 })).status).toBeLessThan(300);
    const revoked = await b.http.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
    expect(revoked.status, revoked.text).toBe(200);
    await eventually(async () => (await a.http.api("GET", `/api/flows/${id}`)).json.pendingRevocations === 0, () => "the revocation did not complete", 30_000);
    // Long enough for a second call, had A made one on reloading the flow, to have reached the simulator.
    await sleep(1_000);
    expect(revocationCalls(), "revocation calls for one REVOKE").toBe(1);
    await sim.control("DELETE", "/faults");
    expect((await sim.control("POST", "/revoke", { pid: "01817010055" })).json.revokedGrants, "live grants left at the simulator").toBe(0);
  }, 60_000);
});
