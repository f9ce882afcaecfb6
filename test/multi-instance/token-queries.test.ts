// What a token call asks of PostgreSQL: one read of the flow's stored revision (so that no instance
// hands out tokens from a stale copy), nothing else; and an event, its reads and its one write. Counted on the wire by a relay between the
// service and the machine's server (test/support/pg-wire-count.ts), with a real service process
// and a real login. A second look at the flow (an existence check before the tokens, as there once
// was) doubled the queries and cost a third of the token calls' throughput on PostgreSQL.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANNEL } from "../../src/store/postgres/postgres-store.ts";
import { PG_REQUIRED, probe } from "../store/postgres-server.ts";
import { freePort } from "../support/free-port.ts";
import { API_TOKEN, browserLogin, instanceEnv, LEGAL_ENTITY, relayedDatabase, startInstance, startSimulator, type Instance, type RelayedDatabase } from "./cluster.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;

const isRevisionRead = (query: string) => /^SELECT revision FROM flows WHERE id = \$1$/.test(query.trim());

describe.skipIf(skip)(`the queries of a token call and an event on PostgreSQL${skip && !reach.ok ? ` (skipped: ${reach.reason})` : ""}`, () => {
  let cluster: RelayedDatabase | undefined;
  let instance: Instance;

  beforeAll(async () => {
    if (!reach.ok) throw new Error(`${reach.reason}. This test is required here (CI or AUTHFLOW_PG_TESTS=required).`);
    cluster = await relayedDatabase();
    const { db, relay } = cluster;
    // The simulator registers the callback URL before the instance listens: a port chosen first.
    const port = await freePort();
    const sim = await startSimulator({ SIMULATOR_REDIRECT_URIS: `http://127.0.0.1:${port}/callback` });
    instance = await startInstance(0, { ...instanceEnv({ databaseUrl: relay.url(db.name), sim, publicUrl: `http://127.0.0.1:${port}` }), PORT: String(port) });
  }, 60_000);

  afterAll(() => cluster?.teardown(), 30_000);

  it("a token call reads the flow's stored revision once and does nothing else in the store; an event reads it before its write, without a separate existence check", async () => {
    const created = await instance.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    const beforeEvent = cluster!.relay.queries().length;
    const authorize = await instance.http.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect(authorize.status, authorize.text).toBe(200);
    // AUTHORIZE looks at the flow to check the login may start, then again when it sends the event
    // (time has passed: the check of a cached copy is repeated), then writes: two reads, not three.
    const event = cluster!.relay.queries().slice(beforeEvent);
    expect(event.filter(isRevisionRead), `queries of AUTHORIZE:\n${event.join("\n")}`).toHaveLength(2);
    expect(event.filter((q) => /^\s*WITH written AS \(\s*UPDATE flows\b/.test(q)), `queries of AUTHORIZE:\n${event.join("\n")}`).toHaveLength(1);
    expect((await browserLogin(authorize.json.authorizationUrl)).status).toBe(200);
    expect((await instance.http.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200);

    // 30 calls one after the other.
    const before = cluster!.relay.queries().length;
    for (let k = 0; k < 30; k++) {
      const answer = await instance.http.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      expect(answer.status, answer.text).toBe(200);
    }
    const during = cluster!.relay.queries().slice(before);
    const revisionReads = during.filter(isRevisionRead);
    const others = during.filter((q) => !revisionReads.includes(q));
    expect(revisionReads, `queries during 30 token calls:\n${during.join("\n")}`).toHaveLength(30);
    // Besides them only the engine's deadline tick (once a second: its heartbeat and claim of due flows), however long the calls took.
    expect(others.filter((q) => !/FOR UPDATE OF f SKIP LOCKED/.test(q)), `the other queries:\n${others.join("\n")}`).toEqual([]);
  }, 60_000);

  it("another instance's change costs no read of the flow here unless something watches it (an SSE stream does)", async () => {
    const created = await instance.http.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
    const id = created.json.id as string;
    const direct = postgres(cluster!.db.url, { max: 1, onnotice: () => undefined });
    try {
      const revision = Number((await direct`SELECT revision FROM flows WHERE id = ${id}`)[0]!.revision);
      const rowReads = (from: number) => cluster!.relay.queries().slice(from).filter((q) => /^SELECT \* FROM flows WHERE id = \$1$/.test(q.trim())).length;
      // A change notified as another instance's (the payload names the writer), with no stream open: nothing read.
      let before = cluster!.relay.queries().length;
      await direct`SELECT pg_notify(${CHANNEL}, ${`${id}:${revision}:another-instance`})`;
      await new Promise((r) => setTimeout(r, 500));
      expect(rowReads(before)).toBe(0);
      // With a stream open on the flow, the same notice is read once and sent to it.
      const abort = new AbortController();
      const stream = await fetch(`${instance.url}/api/flows/${id}/stream`, { headers: { authorization: `Bearer ${API_TOKEN}`, accept: "text/event-stream" }, signal: abort.signal });
      expect(stream.status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      before = cluster!.relay.queries().length;
      await direct`SELECT pg_notify(${CHANNEL}, ${`${id}:${revision}:another-instance`})`;
      await new Promise((r) => setTimeout(r, 500));
      expect(rowReads(before)).toBe(1);
      abort.abort();
    } finally {
      await direct.end({ timeout: 1 });
    }
  });

  it("no connection asks for the catalog's array types (postgres.js drops that query's promise: a connection lost just then ended the process)", async () => {
    const all = cluster!.relay.queries();
    expect(all.length, "the instance's queries went through the relay").toBeGreaterThan(30);
    expect(all.filter((q) => /pg_catalog\.pg_type/.test(q))).toEqual([]);
  });
});
