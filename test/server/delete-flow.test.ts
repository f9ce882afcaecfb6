// DELETE /api/flows/{id}: a flow and its audit trail go, but only once nothing of it lives at
// ID-porten (an authorization, a revocation not confirmed) — against the service on 127.0.0.1, the
// embedded simulator over real HTTP and lowdb files in a temp folder.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_TOKEN, startTestService, type TestService } from "../support/test-service.ts";

async function authorizedFlow(t: TestService, user = "alice") {
  const created = await t.api("POST", "/api/flows", { legalEntity: "999999999" });
  const id = created.json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user, uiLocale: "en" });
  expect((await t.login(authorize.json.authorizationUrl)).status).toBe(200);
  return id;
}

describe("deleting a flow", () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t.close();
  });

  it("an authorized flow is refused (409 flow_in_use, REVOKE first); after REVOKE it goes with its audit trail, on disk too, and answers 404 from then on", async () => {
    const id = await authorizedFlow(t);
    const refused = await t.api("DELETE", `/api/flows/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ type: "https://authflow.dev/problems/flow_in_use", state: "altinnAuthorized" });
    expect(refused.json.detail).toContain("holds alice's authorization: send REVOKE first");
    expect((await t.api("GET", `/api/flows/${id}`)).json.state).toBe("altinnAuthorized");
    expect((await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" })).status).toBe(200);
    const deleted = await t.api("DELETE", `/api/flows/${id}`);
    expect(deleted.status, JSON.stringify(deleted.json)).toBe(204);
    for (const [method, path, body] of [
      ["GET", `/api/flows/${id}`],
      ["GET", `/api/flows/${id}/audit`],
      ["POST", `/api/flows/${id}/token`, { user: "alice" }],
      ["POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" }],
      ["DELETE", `/api/flows/${id}`],
    ] as const) {
      expect((await t.api(method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    expect(((await t.api("GET", "/api/flows?limit=500")).json.flows as { id: string }[]).map((f) => f.id)).not.toContain(id);
    expect((await readdir(join(t.dataDir, "flows"))).filter((f) => f.includes(id))).toEqual([]);
    expect((await readdir(join(t.dataDir, "audit"))).filter((f) => f.includes(id))).toEqual([]);
    expect(t.lines.some((l) => l.includes(`flow ${id}: deleted with its audit trail (by client `))).toBe(true);
  });

  it("a revocation ID-porten has not confirmed stops it (409 naming it), so no refresh token is left alive without a record", async () => {
    const id = await authorizedFlow(t, "bob");
    expect((await t.control("POST", "/faults", { endpoint: "revocation", status: 503, count: 1 })).status).toBe(200);
    expect((await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "bob" })).status).toBe(200);
    const refused = await t.api("DELETE", `/api/flows/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ type: "https://authflow.dev/problems/flow_in_use", pendingRevocations: 1 });
    expect(refused.json.detail).toMatch(/has not yet confirmed the revocation of 1 refresh token/);
    expect((await t.api("GET", `/api/flows/${id}`)).status).toBe(200);
  });

  it("a flow waiting for its login can go; its stream gets a `deleted` message and ends; an unknown id is 404", async () => {
    const created = await t.api("POST", "/api/flows", { legalEntity: "999999999" });
    const id = created.json.id as string;
    expect((await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "carol" })).json.state).toBe("awaitingCode");
    const stream = await fetch(`${t.url}/api/flows/${id}/stream`, { headers: { authorization: `Bearer ${API_TOKEN}`, accept: "text/event-stream" } });
    expect(stream.status).toBe(200);
    const text = stream.text(); // resolves when the server ends the stream
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.api("DELETE", `/api/flows/${id}`)).status).toBe(204);
    const received = await Promise.race([text, new Promise<string>((_, reject) => setTimeout(() => reject(new Error("the stream did not end")), 5000))]);
    expect(received).toContain(`event: deleted\ndata: {"id":"${id}"}`);
    expect((await t.api("DELETE", "/api/flows/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });
});
