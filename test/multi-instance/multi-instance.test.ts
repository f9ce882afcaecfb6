// Issue 7, "What it must show": three server processes on one PostgreSQL database behind a small
// round-robin balancer (all of them behind one PUBLIC_URL, as in production), sharing one standalone
// simulator. Everything goes over real HTTP between real processes; what the simulator did is read
// from its own log (never the service's counting), and what the store holds from the database.
//
//   1. flows created and driven through random instances; a login whose callback lands on another
//      instance than the one that served its login link works (the balancer sees to it);
//   2. 60 concurrent token calls after the access token expired, spread over the three: all 200,
//      ONE refresh at the simulator (and one Altinn exchange) — once with the refresh held 1.5 s
//      at the simulator so all 60 overlap it, once without;
//   3. 24 concurrent AUTHORIZE by 24 users on one flow from the three: every acknowledged one in
//      the audit exactly once (and none that was refused; a refusal must be a 409 saying "try again");
//   4. logins started on the three and left to time out, one instance SIGKILLed right after: every
//      timeout fires once, also those only the dead instance had armed (started and claimed there);
//   5. an SSE stream on one instance sees changes made through the others; 5b: a read on one
//      instance right after a change acknowledged by another shows it (no stale snapshot).
//
// PostgreSQL: the machine's server (127.0.0.1:5432, trust; AUTHFLOW_PG_ADMIN_URL overrides), a
// database authflow_mi_<random> per run, dropped at the end. Unreachable: the suite FAILS with the
// reason when CI or AUTHFLOW_PG_TESTS=required is set, else it is skipped with a visible note.
//
// Point 4 and the claim length: a tick claims a due flow for 5 s and the owner re-claims its own
// every tick (claimMs in src/engine/flow-engine.ts), so the deadlines a dead instance had claimed
// are taken over by the others' ticks a few seconds after it died (a request for such a flow on a
// live instance would hydrate it there at once, so the test watches them in the database, not
// through the API).
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll } from "../lifecycle/process-group.ts";
import { PG_REQUIRED, probe } from "../store/postgres-server.ts";
import { startBalancer, type Balancer } from "./balancer.ts";
import {
  browserLogin,
  createDatabase,
  eventually,
  httpClient,
  instanceEnv,
  instanceLines,
  LEGAL_ENTITY,
  listenToStore,
  loginHops,
  openStream,
  removeTempDirs,
  sleep,
  startInstance,
  startSimulator,
  type Http,
  type Instance,
  type MiDatabase,
  type Notifications,
  type Simulator,
} from "./cluster.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;
if (skip && !reach.ok) console.warn(`multi-instance tests skipped: ${reach.reason}; set AUTHFLOW_PG_TESTS=required to fail instead`);

const LOGIN_TIMEOUT_SECONDS = 4;
// Long enough that 60 calls on a loaded CI machine all come back while the renewed token is fresh:
// with 4 s (and its 1 s margin) a round that took over 3 s under load renewed a second time — rightly —
// and "one refresh" could not hold.
const ACCESS_TOKEN_SECONDS = 10;
const REAL_CLAIM_WAIT = process.env.AUTHFLOW_MI_REAL_CLAIM_WAIT === "1";

describe.skipIf(skip)(`three instances on one PostgreSQL behind a round-robin balancer${skip && !reach.ok ? ` (skipped: ${reach.reason})` : ""}`, () => {
  let db: MiDatabase | undefined;
  let balancer: Balancer | undefined;
  let sim: Simulator;
  let notes: Notifications | undefined;
  let sql: postgres.Sql | undefined;
  let instances: Instance[] = [];
  let lb: Http;
  /** Flows authorized in check 1 (user, flow id). */
  const authorized: { id: string; user: string }[] = [];

  const random = () => instances[Math.floor(Math.random() * instances.length)]!;
  const view = async (http: Http, id: string) => {
    const answer = await http.api("GET", `/api/flows/${id}`);
    if (answer.status !== 200) throw new Error(`GET ${http.base}/api/flows/${id} answered ${answer.status}: ${answer.text}`);
    return answer.json;
  };
  const audit = async (http: Http, id: string): Promise<any[]> => {
    const answer = await http.api("GET", `/api/flows/${id}/audit`);
    if (answer.status !== 200) throw new Error(`audit of ${id} answered ${answer.status}: ${answer.text}`);
    return answer.json.transitions;
  };
  /** What went wrong, with the processes' last words: a failure here is read by a person. */
  const tails = () =>
    [
      ...instances.map((i) => `--- instance ${i.index} (${i.url}, ${i.instanceId})\n${instanceLines(i).slice(-25).join("\n")}\n${i.proc.output().stderr.slice(-2000)}`),
      `--- simulator\n${sim?.lines().slice(-15).join("\n")}`,
    ].join("\n");

  beforeAll(async () => {
    if (!reach.ok) throw new Error(`${reach.reason}. The multi-instance test is required here (CI or AUTHFLOW_PG_TESTS=required).`);
    db = await createDatabase();
    balancer = await startBalancer();
    lb = httpClient(balancer.url);
    sim = await startSimulator({
      SIMULATOR_REDIRECT_URIS: `${balancer.url}/callback`,
      SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS: String(ACCESS_TOKEN_SECONDS),
    });
    const env = {
      ...instanceEnv({ databaseUrl: db.url, sim, publicUrl: balancer.url }),
      LOGIN_TIMEOUT_SECONDS: String(LOGIN_TIMEOUT_SECONDS),
      SIMULATED_CLOCK: "off",
    };
    // Three at once: the migrations are applied once, under the store's advisory lock.
    instances = await Promise.all([0, 1, 2].map((index) => startInstance(index, env)));
    balancer.upstreams = instances.map((i) => i.port);
    for (const instance of instances) {
      await eventually(
        async () => (await fetch(`${instance.url}/readyz`)).status === 200,
        () => `instance ${instance.index} is not ready:\n${tails()}`,
        15_000,
      );
    }
    // Each instance's id, as the store knows it: from the notification of a flow it created.
    notes = await listenToStore(db.url);
    for (const instance of instances) {
      const created = await instance.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
      expect(created.status, created.text).toBe(201);
      const heard = await eventually(
        () => notes!.heard.find((n) => n.flowId === created.json.id),
        () => `no notification of the flow instance ${instance.index} created`,
        5000,
      );
      instance.instanceId = heard.instanceId;
    }
    expect(new Set(instances.map((i) => i.instanceId)).size).toBe(3);
    // Started at once, the migrations were applied by exactly one of them.
    expect(instances.filter((i) => instanceLines(i).some((l) => /^store: PostgreSQL .*\(applied now: /.test(l))), "instances that applied the migrations").toHaveLength(1);
    sql = postgres(db.url, { max: 2, onnotice: () => undefined });
  }, 90_000);

  afterAll(async () => {
    killAll(); // every process group the test started, whatever happened
    await notes?.close().catch(() => undefined);
    await sql?.end({ timeout: 1 }).catch(() => undefined);
    await balancer?.close().catch(() => undefined);
    await db?.drop();
    removeTempDirs();
  }, 30_000);

  it("1. flows created and driven through random instances; each login's callback lands on another instance than its login link, and works", async () => {
    const n = 6;
    // The balancer sends each callback to an instance other than the one that served that flow's
    // login link (the two are otherwise round robin, which would also mostly cross).
    balancer!.route = (method, url) => {
      if (!url.startsWith("/callback")) return undefined;
      const flowId = new URL(url, "http://x").searchParams.get("state")?.split(".")[0] ?? "";
      const link = loginHops(balancer!, flowId).link.at(-1);
      return link === undefined ? undefined : (link + 1 + Math.floor(Math.random() * 2)) % 3;
    };
    try {
      for (let k = 0; k < n; k++) {
        const user = `user-${k}`;
        const created = await lb.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
        expect(created.status, created.text).toBe(201);
        const id = created.json.id as string;
        const authorize = await random().http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user });
        expect(authorize.status, authorize.text).toBe(200);
        expect(authorize.json.authorizationUrl.startsWith(`${balancer!.url}/login/${id}.`)).toBe(true);
        // Seen from every instance at once: the store is the truth, no instance serves a stale copy.
        for (const instance of instances) expect((await view(instance.http, id)).state, `instance ${instance.index}`).toBe("awaitingCode");

        const page = await browserLogin(authorize.json.authorizationUrl);
        expect(page.status, `${page.body.slice(0, 400)}\n${tails()}`).toBe(200);
        expect(page.body).toMatch(/Success/);
        const hops = loginHops(balancer!, id);
        expect(hops.link).toHaveLength(1);
        expect(hops.callback).toHaveLength(1);
        expect(hops.callback[0], "the callback's instance").not.toBe(hops.link[0]);

        const done = await eventually(
          async () => {
            const v = await view(random().http, id);
            return v.state === "altinnAuthorized" ? v : undefined;
          },
          () => `flow ${id} is not altinnAuthorized\n${tails()}`,
        );
        expect(done.boundUser).toBe(user);
        authorized.push({ id, user });
        // The token, from each instance: the same authorization.
        const tokens = await Promise.all(instances.map((i) => i.http.api("POST", `/api/flows/${id}/token`, { user })));
        for (const t of tokens) expect(t.status, t.text).toBe(200);
      }
    } finally {
      balancer!.route = undefined;
    }
    // Every instance served some of it.
    const served = new Set(balancer!.log.map((f) => f.upstream));
    expect([...served].sort()).toEqual([0, 1, 2]);
    // The simulator exchanged each login's code once.
    expect(sim.saw().codeExchanges).toBe(n);
    expect(sim.saw().altinnExchanges).toBeGreaterThanOrEqual(n);
  }, 60_000);

  it("5. an SSE stream on one instance sees the changes made through the other two", async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const created = await b.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const stream = await openStream(a.url, id); // direct to A, not through the balancer
    try {
      await eventually(() => stream.flows.length >= 1, () => "the stream's first event", 5000);
      expect(stream.flows[0].view.state).toBe("idle");

      expect((await b.http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "sse-b" })).status).toBe(200);
      const seenB = await eventually(
        () => stream.flows.find((f) => f.view.state === "awaitingCode" && f.view.pendingUser === "sse-b"),
        () => `A's stream did not see B's AUTHORIZE; it got ${JSON.stringify(stream.flows.map((f) => [f.view.state, f.view.pendingUser]))}\n${tails()}`,
        5000,
      );
      // The transitions come from the shared audit trail.
      expect(
        seenB.audit.map((e: any) => `${e.event}${e.user ? ` by ${e.user}` : ""}`),
        "the audit sent with the view that shows B's AUTHORIZE (read by A from the shared trail)",
      ).toContain("AUTHORIZE by sse-b");

      expect((await c.http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "sse-c" })).status).toBe(200);
      await eventually(
        () => stream.flows.find((f) => f.view.pendingUser === "sse-c"),
        () => `A's stream did not see C's AUTHORIZE; it got ${JSON.stringify(stream.flows.map((f) => [f.view.state, f.view.pendingUser]))}`,
        5000,
      );
    } finally {
      stream.close();
    }
  }, 20_000);

  it("5b. no instance serves a stale snapshot: a read on A right after a change acknowledged by B or C shows that change (100 times)", async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const created = await a.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const stale: string[] = [];
    for (let k = 0; k < 100; k++) {
      expect((await a.http.api("GET", `/api/flows/${id}`)).status).toBe(200); // A holds the flow in memory
      const changed = await (k % 2 ? b : c).http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: `reader-${k}` });
      expect(changed.status, changed.text).toBe(200);
      const read = await a.http.api("GET", `/api/flows/${id}`);
      if (read.json.pendingUser !== `reader-${k}`) {
        // Late (the notification not yet heard) or lost (missed for good): read again after a while.
        await sleep(500);
        const again = (await a.http.api("GET", `/api/flows/${id}`)).json.pendingUser;
        stale.push(`#${k}: A showed ${read.json.pendingUser}, not reader-${k}; 0.5 s later ${again === `reader-${k}` ? "current" : `still ${again}`}`);
      }
    }
    expect(stale, `reads on A that missed a change B or C had acknowledged (${stale.length} of 100)`).toEqual([]);
  }, 30_000);

  it("3. 24 concurrent AUTHORIZE by 24 users on one flow from the three instances: every acknowledged one in the audit exactly once, no refused one", async () => {
    const created = await lb.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const users = Array.from({ length: 24 }, (_, k) => `concurrent-${String(k).padStart(2, "0")}`);
    const answers = await Promise.all(users.map((user, k) => instances[k % 3]!.http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user })));

    const acknowledged = users.filter((_, k) => answers[k]!.status === 200);
    const refused = users.filter((_, k) => answers[k]!.status !== 200);
    // A refusal is acceptable only as a 409 that tells the caller to try again.
    for (const [k, answer] of answers.entries()) {
      if (answer.status === 200) continue;
      expect(answer.status, `${users[k]}: ${answer.text}`).toBe(409);
      expect(answer.json?.detail ?? answer.text, `${users[k]}`).toMatch(/try again/i);
    }
    console.log(`check 3: ${acknowledged.length} of 24 AUTHORIZE acknowledged, ${refused.length} refused with 409 (try again)`);
    expect(acknowledged.length).toBeGreaterThan(0);

    const trail = await audit(random().http, id);
    // The route answers the newest 100 entries: all of this flow's fit, the first is its creation.
    expect(trail.length).toBeLessThan(100);
    expect(trail[0]?.event).toBe("create");
    const authorizes = trail.filter((e) => e.event === "AUTHORIZE");
    for (const user of acknowledged) expect(authorizes.filter((e) => e.user === user), `audit entries of ${user}`).toHaveLength(1);
    for (const user of refused) expect(authorizes.filter((e) => e.user === user), `audit entries of refused ${user}`).toHaveLength(0);
    expect(authorizes).toHaveLength(acknowledged.length);
    // The last acknowledged one is the login in progress, as the flow says on every instance.
    const last = authorizes.at(-1)!.user;
    for (const instance of instances) expect((await view(instance.http, id)).pendingUser, `instance ${instance.index}`).toBe(last);
    // The revision moved once per written transition: create + each acknowledged AUTHORIZE.
    const [row] = await sql!`SELECT revision FROM flows WHERE id = ${id}`;
    expect(Number(row!.revision)).toBe(1 + acknowledged.length);
  }, 30_000);

  it("2. 60 concurrent token calls after the access token expired, spread over the three: all 200, ONE refresh at the simulator (refresh held; then not held)", async () => {
    const { id, user } = authorized[0] ?? (() => { throw new Error("check 1 authorized no flow"); })();
    // Round "held": the first token call reaching the simulator is held 1.5 s, so all 60 find the
    // renewal under way. Round "plain": no fault; the 60 race each other and the renewal as they come.
    for (const round of ["held", "plain"] as const) {
      // The access token expires (ACCESS_TOKEN_SECONDS at the simulator); wait it out.
      const beforeToken = await lb.api("POST", `/api/flows/${id}/token`, { user });
      expect(beforeToken.status, beforeToken.text).toBe(200);
      const expiresAt = Date.parse(beforeToken.json.idportenAccessTokenExpiresAt);
      await sleep(Math.max(0, expiresAt - Date.now()) + 300);
      expect(Date.now()).toBeGreaterThan(expiresAt);

      const sawBefore = sim.saw();
      // Every token call after the first passes a no-op fault that counts it (none should come).
      expect((await sim.control("POST", "/faults", { endpoint: "token", delayMs: round === "held" ? 1500 : 0, count: 1 })).status).toBe(200);
      expect((await sim.control("POST", "/faults", { endpoint: "token", delayMs: 0, count: 1000 })).status).toBe(200);
      const logFrom = balancer!.log.length;
      try {
        const started = Date.now();
        const answers = await Promise.all(Array.from({ length: 60 }, () => lb.api("POST", `/api/flows/${id}/token`, { user })));
        const tookMs = Date.now() - started;
        const served = balancer!.log.slice(logFrom).filter((f) => f.url === `/api/flows/${id}/token`);
        expect([...new Set(served.map((f) => f.upstream))].sort(), "instances that served the token calls").toEqual([0, 1, 2]);

        const statuses = answers.reduce<Record<number, number>>((m, a) => ((m[a.status] = (m[a.status] ?? 0) + 1), m), {});
        const failed = answers.filter((a) => a.status !== 200).map((a, k) => `${k}: ${a.status} ${a.text}`);
        const errors = instances.flatMap((i) => instanceLines(i).filter((l) => l.startsWith(`error on POST /api/flows/${id}/token`)).map((l) => `instance ${i.index}: ${l}`));
        // Soft: the round goes on, and the next round runs, so one run reports both.
        expect.soft(statuses, `round ${round}: token calls answered ${JSON.stringify(statuses)}\n${failed.slice(0, 3).join("\n")}\n${[...new Set(errors)].slice(0, 5).join("\n")}`).toEqual({ 200: 60 });
        const ok = answers.filter((a) => a.status === 200);
        const altinnTokens = new Set(ok.map((a) => a.json.altinnToken));
        const accessTokens = new Set(ok.map((a) => a.json.idportenAccessToken));
        // What a person needs to tell a second renewal that was due (a round slower than the renewed
        // token's life less its margin) from one that was not.
        const seen = () => `round ${round}: the 60 calls took ${tookMs} ms; at the simulator since the round began: ${JSON.stringify(Object.fromEntries(Object.entries(sim.saw()).map(([k, v]) => [k, v - sawBefore[k as keyof typeof sawBefore]])))}; expiries handed out: ${[...new Set(ok.map((a) => a.json.idportenAccessTokenExpiresAt))].join(", ")}`;
        expect(altinnTokens.size, `distinct Altinn tokens handed out\n${seen()}`).toBe(1);
        expect(accessTokens.size, `distinct access tokens handed out\n${seen()}`).toBe(1);
        expect([...accessTokens][0]).not.toBe(beforeToken.json.idportenAccessToken);
        expect(Date.parse(ok[0]!.json.idportenAccessTokenExpiresAt)).toBeGreaterThan(Date.now());

        const saw = sim.saw();
        const counter = (await sim.control("GET", "")).json.faults.find((f: { count: number }) => f.count === 1000);
        expect(saw.refreshes - sawBefore.refreshes, `round ${round}: refresh grants at the simulator\n${tails()}`).toBe(1);
        expect(saw.faultedTokenCalls - sawBefore.faultedTokenCalls, `round ${round}: token calls that reached the simulator`).toBe(1);
        expect(counter?.remaining, "token calls after the first one").toBe(1000);
        expect(saw.invalidGrants - sawBefore.invalidGrants).toBe(0);
        expect(saw.reuses - sawBefore.reuses).toBe(0);
        expect(saw.altinnExchanges - sawBefore.altinnExchanges, "Altinn exchanges").toBe(1);
        for (const instance of instances) expect((await view(instance.http, id)).state).toBe("altinnAuthorized");
      } finally {
        await sim.control("DELETE", "/faults");
      }
    }
  }, 40_000);

  it("4. logins left to time out, one instance SIGKILLed right after: every timeout fires once, also those only the dead instance had armed", async () => {
    const flows: { id: string; startedOn: number }[] = [];
    // Logins started on the three in turn over ~1.2 s; the instances' ticks (1 s each) claim them.
    const started = Date.now();
    for (let k = 0; Date.now() - started < 1200; k++) {
      const on = instances[k % 3]!;
      const created = await on.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
      expect(created.status).toBe(201);
      const id = created.json.id as string;
      const authorize = await on.http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: `timeout-${k}` });
      expect(authorize.status, authorize.text).toBe(200);
      flows.push({ id, startedOn: on.index });
      await sleep(50);
    }
    const ids = flows.map((f) => f.id);
    // Every one claimed by some instance's tick (nobody has read them since).
    const claims = await eventually(
      async () => {
        const rows = await sql!`SELECT id, claim_owner, claim_until, state, next_deadline_at FROM flows WHERE id IN ${sql!(ids)}`;
        return rows.length === ids.length && rows.every((r) => r.claim_owner !== null) ? rows : undefined;
      },
      () => "every login claimed by a tick",
      2500,
      25,
    );
    // A login started on an instance and claimed by that same instance is armed there alone: the
    // victim is the instance holding most of those.
    const claimOf = new Map(claims.map((r) => [r.id as string, r]));
    const armedAlone = (i: Instance) => flows.filter((f) => f.startedOn === i.index && claimOf.get(f.id)!.claim_owner === i.instanceId && claimOf.get(f.id)!.state === "awaitingCode").map((f) => f.id);
    const victim = [...instances].sort((x, y) => armedAlone(y).length - armedAlone(x).length)[0]!;
    const survivors = instances.filter((i) => i !== victim);
    process.kill(-victim.proc.pgid, "SIGKILL");
    const killedAt = Date.now();
    balancer!.markDown(victim.index);
    await victim.proc.exited;

    const deadlines = new Map(claims.map((r) => [r.id as string, Number(r.next_deadline_at)]));
    const armedByDead = armedAlone(victim).filter((id) => deadlines.get(id)! > killedAt);
    const claimEnd = Math.max(...claims.filter((r) => r.claim_owner === victim.instanceId).map((r) => Number(r.claim_until)), killedAt);
    console.log(
      `check 4: ${flows.length} logins started on the three; claimed by ${instances.map((i) => `${i.index}: ${claims.filter((r) => r.claim_owner === i.instanceId).length}`).join(", ")}; ` +
        `instance ${victim.index} SIGKILLed with ${armedByDead.length} armed by it alone (${flows.filter((f) => f.startedOn === victim.index).length} started on it); its claims end ${((claimEnd - killedAt) / 1000).toFixed(1)} s after it died`,
    );
    // Without a login only the dead instance held, this run shows nothing about the takeover.
    expect(armedByDead.length, "logins armed by the victim alone when it died").toBeGreaterThan(0);

    // Watched in the database only: a request for a flow on a live instance hydrates it there, and
    // its timer then fires at once — that would take the flow over and hide what the claims do.
    const firedInDb = async (list: string[]) => {
      if (list.length === 0) return new Map<string, number>();
      const rows = await sql!`SELECT flow_id, count(*)::int AS n FROM flow_audit WHERE event = 'LOGIN_TIMEOUT' AND flow_id IN ${sql!(list)} GROUP BY flow_id`;
      return new Map(rows.map((r) => [r.flow_id as string, r.n as number]));
    };
    // The rest time out on the survivors on their own (they hold them live).
    const others = ids.filter((id) => !armedByDead.includes(id));
    const lastOther = Math.max(...others.map((id) => deadlines.get(id)!), Date.now());
    await eventually(
      async () => (await firedInDb(others)).size === others.length,
      () => `logins held by the survivors did not time out\n${tails()}`,
      lastOther - Date.now() + 5000,
      100,
    );
    // The dead instance's: taken over when its claims end.
    const lastDead = Math.max(...armedByDead.map((id) => deadlines.get(id)!));
    await sleep(Math.max(0, lastDead + 3000 - Date.now()));
    await eventually(
      async () => (await firedInDb(armedByDead)).size === armedByDead.length,
      () => `logins armed by the dead instance did not time out within 10 s of their claims' end (${((claimEnd - killedAt) / 1000).toFixed(1)} s after it died)\n${tails()}`,
      Math.max(claimEnd, lastDead) - Date.now() + 10_000,
      100,
    );
    console.log(`check 4: the dead instance's logins timed out ${((Date.now() - killedAt) / 1000).toFixed(1)} s after it died (its claims ended ${((claimEnd - killedAt) / 1000).toFixed(1)} s after)`);
    const timeouts = async (id: string) => (await audit(survivors[0]!.http, id)).filter((e) => e.event === "LOGIN_TIMEOUT");
    await sleep(1500); // a second firing would have landed by now

    for (const id of ids) {
      const entries = await timeouts(id);
      expect(entries, `LOGIN_TIMEOUT entries of ${id}`).toHaveLength(1);
      expect(entries[0]).toMatchObject({ from: "awaitingCode", to: "idle" });
      for (const instance of survivors) {
        const v = await view(instance.http, id);
        expect(v.state, `${id} on instance ${instance.index}`).toBe("idle");
        expect(v.lastError?.error).toBe("login_timeout");
      }
    }
    // Through the balancer too (it no longer sends to the dead one).
    expect((await view(lb, ids[0]!)).state).toBe("idle");
  }, REAL_CLAIM_WAIT ? 150_000 : 40_000);
});
