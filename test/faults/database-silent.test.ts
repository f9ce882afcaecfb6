// A database that goes silent rather than away: a network partition, a failover that leaves the
// socket half-open. Nothing is refused or reset — the answers just never come, and postgres.js has no
// timeout for a statement already sent (porsager/postgres#1089), so without one of the service's own
// every call would wait until TCP gives up (≈ 15 minutes). Here a relay in front of the machine's
// server keeps every connection open and lets nothing through (or lets the statements through and
// drops the answers); the service answers 503 within DATABASE_TIMEOUT_SECONDS, lets go of its
// connections, and serves again as soon as the database answers. A write whose answer was lost may
// have been applied: the service then meets its own write and reloads it — the provider's answer is
// in it, the refresh is not made again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_REQUIRED, probe } from "../store/postgres-server.ts";
import { ENCRYPTION_KEY, relayedDatabase, type RelayedDatabase } from "../multi-instance/cluster.ts";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, eventually, expectNoUnexpectedErrors, heldAtSimulator, simulatorSaw } from "../support/fault-helpers.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;
const TIMEOUT_SECONDS = 2;
/** A call given up: its own (no answer in time), or its connection let go when another call was given up first. */
const GIVEN_UP = /did not answer in time|the connection was closed/;
/** The write of a flow's new revision (PostgresFlowStore.save). */
const FLOW_WRITE = /WITH written AS \(\s*UPDATE flows SET/;

/** `answer`, or a failure naming `what` after `ms` (a call that would wait forever must fail this test, not hang it). */
async function within<T>(ms: number, what: string, answer: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(skip)(`PostgreSQL gone silent${skip && !reach.ok ? ` (skipped: ${reach.reason})` : ""}`, () => {
  let cluster: RelayedDatabase | undefined;
  let t: TestService | undefined;

  beforeAll(async () => {
    if (!reach.ok) throw new Error(`${reach.reason}. This test is required here (CI or AUTHFLOW_PG_TESTS=required).`);
    cluster = await relayedDatabase();
    t = await startTestService({
      SIMULATED_CLOCK: "on",
      OUTBOUND_TIMEOUT_SECONDS: "3",
      DATABASE_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS),
      DATABASE_URL: cluster.relay.url(cluster.db.name),
      ENCRYPTION_KEY,
    });
  }, 30_000);

  const service = () => t ?? (() => { throw new Error("the service did not start"); })();

  afterAll(async () => {
    cluster?.relay.speak();
    await t?.close().catch(() => undefined);
    await cluster?.teardown();
  }, 30_000);

  it("nothing gets through, then the database answers again on new connections only (a failover): every call answers 503 within DATABASE_TIMEOUT_SECONDS, in words, even with the pool full; then the service works again within one more timeout", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id } = await authorizedFlow(t);
    const served = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(served.status, served.text).toBe(200);
    // Every connection of the pool (10) is made and up before the silence: then no call waits on a
    // new connection, whose own connect timeout would end it — only on connections that are up.
    const warm = await Promise.all(Array.from({ length: 16 }, () => t.api("GET", "/api/flows?limit=5")));
    expect(warm.map((l) => l.status)).toEqual(Array(16).fill(200));

    relay.silence();
    const limit = TIMEOUT_SECONDS * 1000 + 1500;
    for (const [what, call] of [
      ["the token call", () => t.api("POST", `/api/flows/${id}/token`, { user: "alice" })],
      ["a list", () => t.api("GET", "/api/flows?limit=5")],
      ["a create", () => t.api("POST", "/api/flows", { legalEntity: "999999999" })],
    ] as const) {
      const asked = Date.now();
      const answer = await within(limit + 2000, what, call());
      expect(answer.status, `${what}: ${answer.text}`).toBe(503);
      expect(answer.type).toContain("application/problem+json");
      expect(Date.now() - asked, `${what}: ms until the 503`).toBeLessThan(limit);
      // Its own call given up, or the connections let go under it when another call (the deadline tick's) was given up first.
      expect(answer.json.detail, what).toMatch(GIVEN_UP);
    }
    // A page meanwhile: its policy's form-action still names the ID-porten (the list read before is
    // kept), and it does not wait for the database.
    const pageAsked = Date.now();
    const away = await within(limit, "a page while the database is silent", fetch(`${t.url}/signin`, { headers: { accept: "text/html" } }));
    expect(away.status).toBe(200);
    expect(Date.now() - pageAsked, "ms for a page").toBeLessThan(1000);
    expect(away.headers.get("content-security-policy")).toMatch(/form-action 'self' http:\/\/127\.0\.0\.1:\d+/);
    // More calls at once than the pool has connections (10): each one stuck, the rest queued behind them.
    const asked = Date.now();
    const lists = await within(limit + 2000, "12 lists at once", Promise.all(Array.from({ length: 12 }, () => t.api("GET", "/api/flows?limit=5"))));
    expect(lists.map((l) => l.status)).toEqual(Array(12).fill(503));
    expect(Date.now() - asked, "ms until the last 503").toBeLessThan(limit);
    // Connections made during the silence stay silent for good; only new ones reach the database.
    const stuck = Array.from({ length: 12 }, () => t.api("GET", "/api/flows?limit=5"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    relay.speak({ onlyNew: true });
    expectNoUnexpectedErrors(t);

    // The calls stuck on those connections give up, the pool lets go of them all, and new ones serve:
    // within one more timeout, not when TCP gives up (≈ 15 minutes).
    const back = Date.now();
    const again = await eventually(async () => {
      const answer = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      return answer.status === 200 ? answer : undefined;
    }, "the token call answers 200 once the database answers again", 3 * TIMEOUT_SECONDS * 1000 + 2000);
    expect(Date.now() - back, "ms until served again").toBeLessThan(2 * TIMEOUT_SECONDS * 1000 + 1500);
    expect(again.json.altinnToken).toBe(served.json.altinnToken);
    // So do the other pools: the integrations have a pool of their own, whose connections went
    // silent too — bounded the same way, so their calls answer instead of hanging.
    const listAsked = Date.now();
    let integrations: Awaited<ReturnType<TestService["api"]>> | undefined;
    for (let attempt = 0; attempt < 3 && integrations?.status !== 200; attempt++) {
      integrations = await within(TIMEOUT_SECONDS * 1000 + 2000, "the integrations", t.api("GET", "/api/integrations"));
    }
    expect(integrations?.status, integrations?.text).toBe(200);
    expect(Date.now() - listAsked, "ms until the integrations are served again").toBeLessThan(2 * TIMEOUT_SECONDS * 1000 + 1500);
    // And a page, whose policy lists the integrations' ID-porten (kept from before, not emptied).
    const page = await within(TIMEOUT_SECONDS * 1000 + 2000, "a page", fetch(`${t.url}/signin`, { headers: { accept: "text/html" } }));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/form-action 'self' http:\/\/127\.0\.0\.1:\d+/);
    // The calls made on the connections that went silent for good were answered too (503), not left waiting.
    const stuckAnswers = await within(limit + 2000, "the calls made just before the failover", Promise.all(stuck));
    expect(stuckAnswers.filter((l) => l.status !== 200 && l.status !== 503).map((l) => l.status)).toEqual([]);
  }, 60_000);

  it("a renewal's write reaches the database but its answer never comes back: the caller gets 503 within the timeout, and once the database answers the service finds its own write — the renewed tokens, one refresh at the provider", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id } = await authorizedFlow(t);
    const before = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(before.status, before.text).toBe(200);
    await t.api("POST", "/api/clock", { advanceSeconds: 7200 }); // the access token is due for renewal
    const saw = simulatorSaw(t);

    // The refresh is held at the provider. Its answer is written — the write reaches the database
    // and is applied, but its outcome never comes back.
    await t.control("POST", "/faults", { endpoint: "token", delayMs: 1500, count: 1 });
    const asked = Date.now();
    const during = t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    await heldAtSimulator(t);
    // The write of the provider's answer is caught on its way (on a connection that is up), the
    // silence begins, and it goes on to the server.
    const write = relay.hold(FLOW_WRITE, id);
    await write.reached;
    relay.silence("answers");
    write.release();
    // The token call waits for the renewal to be written, as long as it waits for any change to
    // settle (twice OUTBOUND_TIMEOUT_SECONDS and a second: 7 s here) — the held write is retried
    // meanwhile — and then answers 503: bounded, never the ≈ 15 minutes TCP would take.
    const settle = (2 * 3 + 1) * 1000;
    const refused = await within(1500 + settle + 5000, "the token call during the silence", during);
    expect(refused.status, refused.text).toBe(503);
    expect(refused.json.detail, refused.text).toMatch(GIVEN_UP);
    expect(Date.now() - asked, "ms until the 503").toBeLessThan(1500 + settle + 2000);
    await eventually(() => simulatorSaw(t).refreshes === saw.refreshes + 1, "the provider answered the refresh", 10_000);
    await eventually(() => t.lines.some((l) => l.startsWith(`flow ${id}: write failed (`) && /is held/.test(l)), "the log says the write is held", 10_000);

    relay.speak();
    const renewed = await eventually(async () => {
      const answer = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      return answer.status === 200 ? answer : undefined;
    }, "the token call answers 200 once the database answers again", 15_000);
    expect(renewed.json.altinnToken, "the renewed Altinn token, not the one before").not.toBe(before.json.altinnToken);
    // The write had been applied: the retry found its own revision there and the flow was reloaded.
    expect(t.lines.some((l) => l.startsWith(`flow ${id}: `) && /reloading it from the store/.test(l)), t.lines.slice(-30).join("\n") + "\n" + relay.queries().slice(-30).join("\n")).toBe(true);
    const after = simulatorSaw(t);
    expect(after.refreshes - saw.refreshes, "one refresh, never re-run").toBe(1);
    expect(after.reuses).toBe(saw.reuses);
    expect(after.invalidGrants).toBe(saw.invalidGrants);
    expect((await t.api("GET", `/api/flows/${id}`)).json.state).toBe("altinnAuthorized");
    expectNoUnexpectedErrors(t);

    await t.restart();
    const restarted = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(restarted.status, restarted.text).toBe(200);
    expect(restarted.json.altinnToken).toBe(renewed.json.altinnToken);
  }, 60_000);
});
