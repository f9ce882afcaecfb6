// Issue 8, point 6: the client secret expires before the authorization does (Digdir secrets live at
// most 360 days). `invalid_client` on refresh needs a person, not a year of retries: the flow is
// listed under GET /api/flows?attention=true with words naming IDPORTEN_CLIENT_SECRET, the
// authorization is kept, and once the service restarts with a working secret it resumes — a
// renewal clears the attention — without a new login.
import { afterEach, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, eventually, simulatorSaw, sleep } from "../support/fault-helpers.ts";

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("invalid_client on a token-call renewal: attention with IDPORTEN_CLIENT_SECRET named, authorization kept; after the fault ends and a restart, it resumes without a login", async () => {
  // Real time throughout (a simulated clock starts again at real time on a restart, which would put
  // the attention's "since" in the future): access tokens live 2 s, so a token call soon renews.
  t = await startTestService({ SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS: "2" });
  const { id } = await authorizedFlow(t);
  const other = await authorizedFlow(t, "carol");
  const before = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json;
  const authorizedAt = (await t.api("GET", `/api/flows/${id}`)).json.authorizedAt;
  const sawBefore = simulatorSaw(t);

  await sleep(1700); // alice's access token is within its expiry margin (a quarter of 2 s)
  await t.control("POST", "/faults", {
    endpoint: "token",
    count: 3,
    status: 401,
    body: { error: "invalid_client", error_description: "Client authentication failed (correlation id: 5c7e1f0a-0000-4000-8000-000000000000)" },
  });
  const refused = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  // Not "expired" (the authorization is good), and not "retry in 5 s" (asking again does not help): a person must act.
  expect(refused.status, refused.text).toBe(409);
  expect(refused.json).toMatchObject({ type: expect.stringContaining("needs_attention"), lastError: { error: "invalid_client" } });
  expect(refused.json.detail).toContain("IDPORTEN_CLIENT_SECRET");
  expect(refused.type).toContain("application/problem+json");

  const attention = (await t.api("GET", "/api/flows?attention=true")).json.flows as Array<Record<string, any>>;
  expect(attention.map((f) => f.id)).toEqual([id]);
  const item = attention[0]!;
  expect(item.needsAttention).toEqual(expect.arrayContaining([expect.objectContaining({ reason: "invalid_client", detail: expect.stringContaining("IDPORTEN_CLIENT_SECRET") })]));
  expect(item).toMatchObject({ state: "altinnAuthorized", authorizationState: "altinnAuthorized", boundUser: "alice" });
  expect(item.authorizationExpiresAt).toEqual(expect.any(String));
  const notAttention = (await t.api("GET", "/api/flows?attention=false")).json.flows.map((f: { id: string }) => f.id);
  expect(notAttention).toContain(other.id);
  expect(notAttention).not.toContain(id);
  expect(simulatorSaw(t).refreshes - sawBefore.refreshes, "the refused client got no tokens").toBe(0);

  // The secret is renewed (the fault ends) and the service restarts: it tries again at once.
  await t.control("DELETE", "/faults");
  const sawBeforeRestart = simulatorSaw(t); // t.lines runs on across the restart
  await t.restart();
  await eventually(async () => simulatorSaw(t!).refreshes > sawBeforeRestart.refreshes, "a renewal after the restart");
  const resumed = await eventually(async () => {
    const view = (await t!.api("GET", `/api/flows/${id}`)).json;
    return view.attention === null && view.substate === "ready" ? view : undefined;
  }, "the attention is cleared by a renewal");
  expect(resumed).toMatchObject({ state: "altinnAuthorized", boundUser: "alice", lastError: null });
  expect(resumed.authorizedAt, "the same authorization, no new login").toBe(authorizedAt);
  expect((await t.api("GET", "/api/flows?attention=true")).json.flows).toEqual([]);
  expect(simulatorSaw(t).codeExchanges - sawBeforeRestart.codeExchanges, "no new login").toBe(0);
  const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(token.status).toBe(200);
  expect(token.json.altinnToken).not.toBe(before.altinnToken);
}, 30_000);
