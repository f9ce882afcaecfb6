// The PostgreSQL store's counterpart of full-disk-during-refresh: the database goes out of reach
// (a failover, a restart, a network fault — here a relay in front of the machine's server drops
// every connection and refuses new ones) while ID-porten holds a refresh. The provider's answer
// cannot be written; it must be held and the write retried, never thrown away or re-run with the
// spent one-time token. Meanwhile every request that needs the store gets a 503 problem that says
// so (never a 500), and /readyz names the database (without leaving rotation: every instance shares
// it, and the service's own 503s and pages say more than a balancer's); once the database is back the answer lands, the
// token call answers 200, the refresh was made once, and a restart finds the flow altinnAuthorized.
// And a person in the middle of a login is told, in words on a page, to try again in a moment —
// the login link is not used up, the code in the callback URL not spent: a reload completes it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_REQUIRED, probe } from "../store/postgres-server.ts";
import { ENCRYPTION_KEY, relayedDatabase, type RelayedDatabase } from "../multi-instance/cluster.ts";
import { API_TOKEN, PID, startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, eventually, expectNoUnexpectedErrors, heldAtSimulator, LEGAL_ENTITY, simulatorSaw } from "../support/fault-helpers.ts";

const reach = await probe();
/** The write of a flow's new revision (PostgresFlowStore.save), not the tick's claims. */
const FLOW_WRITE = /WITH written AS \(\s*UPDATE flows SET/;
const skip = !reach.ok && !PG_REQUIRED;

/** The login went through: the flow altinnAuthorized, its code exchanged once since `before` (the simulator's count), no 500. */
async function expectLoginCompletedOnce(t: TestService, id: string, before: number, timeoutMs?: number): Promise<void> {
  expect((await t.waitForState(id, ["altinnAuthorized"], timeoutMs)).state).toBe("altinnAuthorized");
  expect(simulatorSaw(t).codeExchanges - before, "the code was exchanged once").toBe(1);
  expectNoUnexpectedErrors(t);
}

/** A new flow whose login alice started: its id and its login link. */
async function loginStarted(t: TestService): Promise<{ id: string; link: string }> {
  const created = await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
  expect(created.status, created.text).toBe(201);
  const id = created.json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  expect(authorize.status, authorize.text).toBe(200);
  return { id, link: authorize.json.authorizationUrl as string };
}

describe.skipIf(skip)(`PostgreSQL out of reach${skip && !reach.ok ? ` (skipped: ${reach.reason})` : ""}`, () => {
  let cluster: RelayedDatabase | undefined;
  let t: TestService | undefined;

  beforeAll(async () => {
    if (!reach.ok) throw new Error(`${reach.reason}. This test is required here (CI or AUTHFLOW_PG_TESTS=required).`);
    cluster = await relayedDatabase();
    // A 2 s outbound timeout: the 1.5 s hold is answered, and a caller waits at most ~5 s for a write.
    t = await startTestService({ SIMULATED_CLOCK: "on", OUTBOUND_TIMEOUT_SECONDS: "2", DATABASE_URL: cluster.relay.url(cluster.db.name), ENCRYPTION_KEY });
  }, 30_000);

  const service = () => t ?? (() => { throw new Error("the service did not start"); })();

  afterAll(async () => {
    if (t) await cluster?.relay.restore().catch(() => undefined);
    await t?.close().catch(() => undefined);
    await cluster?.teardown();
  }, 30_000);

  it("during a refresh: the answer is held while the database is away: 503 meanwhile (not 500, not expired), 200 once it is back, one refresh at the provider, altinnAuthorized after a restart", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id } = await authorizedFlow(t);
    await t.api("POST", "/api/clock", { advanceSeconds: 7200 }); // the access token is due for renewal

    await t.control("POST", "/faults", { endpoint: "token", delayMs: 1500, count: 1 });
    const during = t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    await heldAtSimulator(t);
    relay.cut();

    const refused = await during;
    const tail = () => t.lines.slice(-12).join("\n");
    expect(refused.status, `${refused.text}\n${tail()}`).toBe(503);
    expect(refused.type).toContain("application/problem+json");
    // The refresh goes on at the provider; its answer cannot be written and is held.
    await eventually(() => simulatorSaw(t).refreshes === 1, "the provider answers the refresh", 10_000);
    await eventually(() => t.lines.some((l) => /write failed/.test(l) && /held/.test(l)), "the log says the change is held", 10_000);

    // Meanwhile: tokens whose renewal is not written are not handed out; what needs the database
    // answers 503 in words; a read of the flow this instance holds shows what is written (never
    // `expired`); nothing answers 500. /readyz names the database, and stays 200.
    const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status, `${token.text}\n${tail()}`).toBe(503);
    expect(token.json.detail).toMatch(/not written to the store yet|database cannot be reached/);
    // At once, not after the database client's default wait between attempts to connect (up to 20 s).
    const asked = Date.now();
    const list = await t.api("GET", "/api/flows?limit=5");
    expect(list.status, list.text).toBe(503);
    expect(Date.now() - asked, "ms until the 503").toBeLessThan(4000);
    expect(list.json).toMatchObject({ type: "https://authflow.dev/problems/store_unavailable", retryAfterSeconds: 2 });
    expect(list.json.detail).toMatch(/^The database cannot be reached just now \(the connection was (reset|closed|refused)\)/);
    const create = await t.api("POST", "/api/flows", { legalEntity: "999999999" });
    expect(create.status, create.text).toBe(503);
    expect(create.json.detail).toMatch(/not created/);
    const view = await t.api("GET", `/api/flows/${id}`);
    expect([200, 503], view.text).toContain(view.status);
    if (view.status === 200) expect(view.json.authorizationState).toBe("altinnAuthorized");
    expectNoUnexpectedErrors(t);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as any).checks.database).toMatchObject({ ok: false, detail: expect.stringMatching(/^does not answer just now: the connection was refused; /) });

    await relay.restore();
    const served = await eventually(async () => {
      const answer = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      return answer.status === 200 ? answer : undefined;
    }, "the token call answers 200 once the database is back (within a few seconds: the client tries again every second at most)", 8000);
    expect(served.json.altinnToken).toEqual(expect.stringMatching(/^eyJ/));
    expect((await t.api("GET", `/api/flows/${id}`)).json.state).toBe("altinnAuthorized");
    const saw = simulatorSaw(t);
    expect(saw.refreshes, "one refresh, never re-run").toBe(1);
    expect(saw.reuses).toBe(0);
    expect(saw.invalidGrants).toBe(0);
    const readyAgain = await fetch(`${t.url}/readyz`);
    expect(readyAgain.status).toBe(200);
    expect(((await readyAgain.json()) as any).checks.database).toEqual({ ok: true, detail: "answers" });
    // The deadline tick failed every second of the outage (several seconds): named once when it began and once when it ended.
    await eventually(() => t.lines.some((l) => l.startsWith("deadline tick works again")), "the log says the tick works again", 5000);
    const tickLines = t.lines.filter((l) => l.startsWith("deadline tick"));
    expect(tickLines, tickLines.join("\n")).toHaveLength(2);
    expect(tickLines[0]).toMatch(/^deadline tick failed: the connection was (refused|reset|closed); tried again every 1 s/);

    await t.restart();
    expect((await t.api("GET", `/api/flows/${id}`)).json.state).toBe("altinnAuthorized");
    const again = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(again.status).toBe(200);
    expect(again.json.altinnToken).toBe(served.json.altinnToken);
  }, 60_000);

  it("a person's login link and return from ID-porten while the database is away: a page that says to try again in a moment, and a reload completes the login", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id, link } = await loginStarted(t);
    const page = async (url: string, cookie?: string) => {
      const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
      return { status: res.status, type: res.headers.get("content-type") ?? "", location: res.headers.get("location"), body: await res.text() };
    };

    relay.cut();
    const linkPage = await page(link);
    expect(linkPage.status, linkPage.body).toBe(503);
    expect(linkPage.type).toContain("text/html");
    expect(linkPage.body).toContain("Try again in a moment");
    expect(linkPage.body).toMatch(/cannot reach its database/);
    await relay.restore();

    // The link was not used up: opened again, it goes on to ID-porten; the walk stops before the callback.
    const walked = await t.login(link, undefined, `${t.url}/callback`);
    expect(walked.url.startsWith(`${t.url}/callback?`), walked.url).toBe(true);
    const before = simulatorSaw(t).codeExchanges;

    relay.cut();
    const away = await page(walked.url, walked.cookie);
    expect(away.status, away.body).toBe(503);
    expect(away.type).toContain("text/html");
    expect(away.body).toContain("Try again in a moment");
    expect(away.body).not.toContain("Unknown login");
    await relay.restore();

    const reloaded = await page(walked.url, walked.cookie);
    expect(reloaded.status, reloaded.body).toBe(200);
    expect(reloaded.body).toContain("Success");
    await expectLoginCompletedOnce(t, id, before);
  }, 60_000);

  it("the database goes away just as the return from ID-porten is being written: the page says the login is received and kept, and it completes once the database is back", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id, link } = await loginStarted(t);
    const walked = await t.login(link, undefined, `${t.url}/callback`);
    const before = simulatorSaw(t).codeExchanges;

    // The callback's write is held on its way to the server, and then the line is cut under it.
    const hold = relay.hold(FLOW_WRITE);
    const answer = fetch(walked.url, { headers: { cookie: walked.cookie } });
    await hold.reached;
    relay.cut();
    const res = await answer;
    const body = await res.text();
    expect(res.status, body).toBe(202);
    expect(body).toContain("Login received");
    expect(body).toMatch(/is kept/);
    expect(simulatorSaw(t).codeExchanges - before, "nothing exchanged before the callback is written").toBe(0);

    await relay.restore();
    await expectLoginCompletedOnce(t, id, before, 15_000);
  }, 60_000);

  it("a return from ID-porten while the login link's opening is still on its way to the database (which answers everything else): 'Try again in a moment', not 'Login received', nothing exchanged; once the opening is written, a reload completes the login", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id, link } = await loginStarted(t);
    // The opening's write (its parameters hold the flow's id) is held before the server; every other
    // statement goes through.
    const opening = relay.hold(FLOW_WRITE, id);
    const walked = await t.login(link, undefined, `${t.url}/callback`);
    await opening.reached;
    expect(walked.url.startsWith(`${t.url}/callback?`), walked.url).toBe(true);
    const before = simulatorSaw(t).codeExchanges;

    // The callback's own change cannot go on top of one not written yet: it is not made, so the page
    // must not say it was received.
    const asked = Date.now();
    const early = await fetch(walked.url, { headers: { cookie: walked.cookie } });
    const earlyBody = await early.text();
    expect(early.status, earlyBody).toBe(503);
    // After the wait for the earlier change (2 s), not after a call given up as silent (15 s).
    expect(Date.now() - asked, "ms until the page").toBeLessThan(5000);
    expect(earlyBody).toContain("Try again in a moment");
    expect(earlyBody).not.toContain("Login received");
    expect(simulatorSaw(t).codeExchanges - before, "nothing exchanged").toBe(0);

    opening.release();
    const reloaded = await eventually(async () => {
      const res = await fetch(walked.url, { headers: { cookie: walked.cookie } });
      return res.status === 200 ? res.text() : undefined;
    }, "the reloaded callback completes the login", 10_000);
    expect(reloaded).toContain("Success");
    await expectLoginCompletedOnce(t, id, before);
  }, 60_000);

  it("a page asked for while the database is away (a sign-in: its attempts are counted in the database) answers a page in words, not a JSON document", async () => {
    const { relay } = cluster!;
    const t = service();
    const form = await fetch(`${t.url}/signin`, { headers: { accept: "text/html" } });
    expect(form.status).toBe(200);
    const token = /authflow_signin=([0-9a-f]+)/.exec(form.headers.getSetCookie().join("; "))?.[1];
    expect(token, "the sign-in form's token cookie").toBeDefined();
    relay.cut();
    const res = await fetch(`${t.url}/signin`, {
      method: "POST",
      redirect: "manual",
      headers: { accept: "text/html,application/xhtml+xml", "content-type": "application/x-www-form-urlencoded", cookie: `authflow_signin=${token}` },
      body: new URLSearchParams({ _csrf: token!, user: "someone", password: "not-the-password" }),
    });
    const body = await res.text();
    await relay.restore();
    expect(res.status, body).toBe(503);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("retry-after")).toBe("2");
    expect(body).toContain("<h1 class=\"bad\">Service unavailable</h1>");
    expect(body).toContain("The database cannot be reached just now");
    // The API keeps its problem documents, whatever the caller accepts.
    relay.cut();
    const api = await fetch(`${t.url}/api/flows?limit=1`, { headers: { accept: "text/html", authorization: `Bearer ${API_TOKEN}` } });
    await relay.restore();
    expect(api.status).toBe(503);
    expect(api.headers.get("content-type")).toContain("application/problem+json");
  }, 60_000);

  it("the line cut under the login link's write: the browser goes on to ID-porten with its cookie (the opening is kept), and the login completes once the database is back", async () => {
    const { relay } = cluster!;
    const t = service();
    const { id, link } = await loginStarted(t);

    const hold = relay.hold(FLOW_WRITE);
    const opening = fetch(`${link}?login_hint=${PID}`, { redirect: "manual" });
    await hold.reached;
    relay.cut();
    const opened = await opening;
    expect(opened.status, await opened.clone().text()).toBe(302);
    const cookie = opened.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    expect(cookie, "the login cookie").toMatch(/=/);
    await relay.restore();

    // The rest of the browser's walk, with its cookies, to the callback page.
    const jar = new Map(cookie.split("; ").map((c) => [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)] as const));
    let next = new URL(opened.headers.get("location")!, t.url).toString();
    let last!: Response;
    for (let hop = 0; hop < 20; hop++) {
      last = await fetch(next, { redirect: "manual", headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } });
      for (const c of last.headers.getSetCookie()) {
        const [pair] = c.split(";");
        jar.set(pair!.slice(0, pair!.indexOf("=")), pair!.slice(pair!.indexOf("=") + 1));
      }
      const location = last.headers.get("location");
      if (!location) break;
      next = new URL(location, next).toString();
    }
    const body = await last.text();
    expect(last.status, body).toBe(200);
    expect(body).toContain("Success");
    expect((await t.waitForState(id, ["altinnAuthorized"])).state).toBe("altinnAuthorized");
    expectNoUnexpectedErrors(t);
  }, 60_000);
});
