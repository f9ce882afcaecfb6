// Issue 10 §1: each service has its own credential and reach. A client that may act only for bob
// cannot get alice's token (403), a client limited to one legal entity cannot touch another's flow,
// and the audit trail names the client as well as the user. Real service, real simulator, real HTTP.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseApiClients, tokenSha256 } from "../../src/identity/api-clients.ts";
import { API_TOKEN, startTestService, type TestService } from "../support/test-service.ts";

const ERP_TOKEN = "erp-token-for-any-user-0123456789abcdef";
const BOB_TOKEN = "bob-only-token-0123456789abcdef012345";
const ENTITY_A = "999999999";
const ENTITY_B = "123456785";

describe("API clients with their own tokens and reach", () => {
  let t: TestService;
  beforeAll(async () => {
    const clients = [
      { name: "erp", tokenSha256: await tokenSha256(ERP_TOKEN), legalEntities: "*", users: "*" },
      { name: "bobs-service", tokenSha256: await tokenSha256(BOB_TOKEN), legalEntities: [ENTITY_A], users: ["bob"] },
    ];
    t = await startTestService({ API_CLIENTS: JSON.stringify(clients) });
  }, 60_000);
  afterAll(async () => t?.close());

  it("each client's token is accepted; an unknown token is refused with a problem of its own type", async () => {
    expect((await t.api("GET", "/api/flows", undefined, ERP_TOKEN)).status).toBe(200);
    expect((await t.api("GET", "/api/flows", undefined, BOB_TOKEN)).status).toBe(200);
    expect((await t.api("GET", "/api/flows", undefined, API_TOKEN)).status).toBe(200);
    const refused = await t.api("GET", "/api/flows", undefined, "not-a-known-token-0123456789abcdef");
    expect(refused.status).toBe(401);
    expect(refused.type).toContain("application/problem+json");
    expect(refused.json.type).not.toBe("about:blank");
    expect(refused.json.detail).toMatch(/API_CLIENTS/);
  });

  it("a client that may act only for bob cannot get alice's token (403), and the audit names both client and user", async () => {
    const created = await t.api("POST", "/api/flows", { legalEntity: ENTITY_A }, ERP_TOKEN);
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" }, ERP_TOKEN);
    expect(authorize.status).toBe(200);
    // The login link is a capability: a client that may not act for alice does not get it (list, view, stream).
    expect(authorize.json.authorizationUrl).toMatch(/\/login\//);
    expect((await t.api("GET", `/api/flows/${id}`, undefined, BOB_TOKEN)).json).toMatchObject({ pendingUser: "alice", authorizationUrl: null });
    const bobsList = await t.api("GET", "/api/flows", undefined, BOB_TOKEN);
    expect(bobsList.json.flows.find((f: { id: string }) => f.id === id)).toMatchObject({ authorizationUrl: null });
    const stream = await fetch(`${t.url}/api/flows/${id}/stream`, { headers: { authorization: `Bearer ${BOB_TOKEN}` } });
    const first = new TextDecoder().decode((await stream.body!.getReader().read()).value);
    await stream.body!.cancel().catch(() => undefined);
    expect(first).toContain('"pendingUser":"alice"');
    expect(first).not.toContain("/login/");
    const done = await t.login(authorize.json.authorizationUrl);
    expect(done.status).toBe(200);
    await t.waitForState(id, ["altinnAuthorized"]);

    // bob's service asks for alice's token: refused before the flow is touched, naming whom it may act for.
    const asAlice = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" }, BOB_TOKEN);
    expect(asAlice.status).toBe(403);
    expect(asAlice.type).toContain("application/problem+json");
    expect(asAlice.json.detail).toContain('API client "bobs-service" may act only for the user(s) "bob", not for "alice"');
    // As bob, it reaches the flow, and the binding refuses: alice authorized it, not bob.
    const asBob = await t.api("POST", `/api/flows/${id}/token`, { user: "bob" }, BOB_TOKEN);
    expect(asBob.status).toBe(403);
    // The ERP may act for alice and gets the tokens.
    const erp = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" }, ERP_TOKEN);
    expect(erp.status).toBe(200);
    expect(erp.json.altinnToken).toEqual(expect.any(String));

    const audit = await t.api("GET", `/api/flows/${id}/audit`, undefined, ERP_TOKEN);
    const entries = audit.json.transitions as Array<{ event: string; user: string | null; client?: string }>;
    expect(entries.find((e) => e.event === "create")).toMatchObject({ client: "erp" });
    expect(entries.find((e) => e.event === "AUTHORIZE")).toMatchObject({ user: "alice", client: "erp" });
    // No entry was written for the refused calls: nothing changed.
    expect(entries.some((e) => e.client === "bobs-service")).toBe(false);
  }, 60_000);

  it("a client limited to one legal entity cannot create, see or drive another's flows, and its list and cursors never name them", async () => {
    const other = await t.api("POST", "/api/flows", { legalEntity: ENTITY_B }, ERP_TOKEN);
    expect(other.status).toBe(201);
    const create = await t.api("POST", "/api/flows", { legalEntity: ENTITY_B }, BOB_TOKEN);
    expect(create.status).toBe(403);
    expect(create.json.detail).toContain(`not for ${ENTITY_B}`);
    // Outside its reach a flow is as unknown as one that does not exist: 404, and the answer names no legal entity.
    for (const [method, path, body] of [
      ["GET", `/api/flows/${other.json.id}`],
      ["GET", `/api/flows/${other.json.id}/audit`],
      ["GET", `/api/flows/${other.json.id}/stream`],
      ["POST", `/api/flows/${other.json.id}/events`, { type: "AUTHORIZE", user: "bob" }],
      ["POST", `/api/flows/${other.json.id}/token`, { user: "bob" }],
    ] as const) {
      const refused = await t.api(method, path, body, BOB_TOKEN);
      expect(refused.status, `${method} ${path}`).toBe(404);
      expect(refused.text).not.toContain(ENTITY_B);
    }
    expect((await t.api("GET", `/api/flows?legalEntity=${ENTITY_B}`, undefined, BOB_TOKEN)).status).toBe(403);
    const listed = await t.api("GET", "/api/flows", undefined, BOB_TOKEN);
    expect(listed.json.flows.length).toBeGreaterThan(0);
    expect(listed.json.flows.every((f: { legalEntity: string }) => f.legalEntity === ENTITY_A)).toBe(true);
    // Page by page, one flow at a time: every page and every cursor is about its own flows only.
    const seen: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages < 50; pages++) {
      const page: { json: { flows: Array<{ id: string; legalEntity: string }>; next: string | null } } = await t.api("GET", `/api/flows?limit=1${cursor ? `&cursor=${cursor}` : ""}`, undefined, BOB_TOKEN);
      seen.push(...page.json.flows.map((f) => f.legalEntity));
      if (page.json.next) expect(atob(page.json.next.replace(/-/g, "+").replace(/_/g, "/"))).not.toContain(other.json.id);
      cursor = page.json.next;
      if (!cursor) break;
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([ENTITY_A]));
    const all = await t.api("GET", "/api/flows", undefined, ERP_TOKEN);
    expect(all.json.flows.some((f: { legalEntity: string }) => f.legalEntity === ENTITY_B)).toBe(true);
    // Its own entity, acting for bob: accepted, and the audit names it.
    const mine = await t.api("POST", "/api/flows", { legalEntity: ENTITY_A, user: "bob" }, BOB_TOKEN);
    expect(mine.status).toBe(201);
    const audit = await t.api("GET", `/api/flows/${mine.json.id}/audit`, undefined, BOB_TOKEN);
    expect(audit.json.transitions[0]).toMatchObject({ event: "create", user: "bob", client: "bobs-service" });
  }, 60_000);

  it("API_CLIENTS may name a file; its problems are all named at once, and a token in clear is refused", async () => {
    const file = join(t.dataDir, "clients.json");
    await writeFile(file, JSON.stringify([{ name: "from-file", tokenSha256: await tokenSha256("file-token-0123456789abcdef0123"), legalEntities: "*", users: ["carol"] }]));
    const service = await startTestService({ API_CLIENTS: file });
    try {
      expect((await service.api("GET", "/api/flows", undefined, "file-token-0123456789abcdef0123")).status).toBe(200);
    } finally {
      await service.close();
    }
    expect(() => parseApiClients('[{"name":"a","token":"secret","legalEntities":"*"}]')).toThrow(/tokenSha256.*token" in clear.*users/s);
    expect(() => parseApiClients('[{"name":"a","tokenSha256":"' + "a".repeat(64) + '","legalEntities":["123"],"users":"*"}]')).toThrow(/organisation numbers/);
    expect(() => parseApiClients("{}")).toThrow(/JSON array/);
  }, 60_000);
  it("a client that may act only for bob cannot delete a flow whose login is alice's (403); one of its own it can", async () => {
    const created = await t.api("POST", "/api/flows", { legalEntity: ENTITY_A }, ERP_TOKEN);
    const id = created.json.id as string;
    expect((await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" }, ERP_TOKEN)).status).toBe(200);
    const refused = await t.api("DELETE", `/api/flows/${id}`, undefined, BOB_TOKEN);
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toContain('not for "alice"');
    expect((await t.api("GET", `/api/flows/${id}`, undefined, ERP_TOKEN)).status).toBe(200);
    const own = (await t.api("POST", "/api/flows", { legalEntity: ENTITY_A }, BOB_TOKEN)).json.id as string;
    expect((await t.api("POST", `/api/flows/${own}/events`, { type: "AUTHORIZE", user: "bob" }, BOB_TOKEN)).status).toBe(200);
    expect((await t.api("DELETE", `/api/flows/${own}`, undefined, BOB_TOKEN)).status).toBe(204);
  });
});
