// What the token call tells a caller who asks too early (review): the advice must not make things
// worse. "Send AUTHORIZE" while a login is pending replaced that login and spent its link; a code
// being exchanged is a moment from an authorization; a user whose own login is pending has already
// sent AUTHORIZE.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, eventually, heldAtSimulator, LEGAL_ENTITY } from "../support/fault-helpers.ts";

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
}, 60_000);
afterAll(async () => t?.close());

it("a login pending: 409 that says to complete it at its link, not to send AUTHORIZE", async () => {
  const id = (await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY })).json.id as string;
  await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(token.status).toBe(409);
  expect(token.json.detail).toContain(`"alice"'s login is pending`);
  expect(token.json.detail).toContain("only to start over");
});

it("a code being exchanged: the token call waits for it and answers the tokens", async () => {
  const id = (await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY })).json.id as string;
  const url = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" })).json.authorizationUrl as string;
  const before = heldAtSimulator(t);
  await t.control("POST", "/faults", { endpoint: "token", count: 1, delayMs: 1500 });
  const login = t.login(url);
  await eventually(async () => (await t.api("GET", `/api/flows/${id}`)).json.state === "exchanging", "the code is being exchanged");
  await before;
  const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(token.status, token.text).toBe(200);
  expect(token.json.altinnToken).toEqual(expect.any(String));
  await login;
});

it("another user whose own login is pending: 403 says it is pending, not to send AUTHORIZE", async () => {
  const { id } = await authorizedFlow(t, "alice");
  await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" });
  const token = await t.api("POST", `/api/flows/${id}/token`, { user: "bob" });
  expect(token.status).toBe(403);
  expect(token.json.detail).toContain(`"bob"'s own login is pending`);
  expect(token.json.detail).not.toContain("must send AUTHORIZE");
  const carol = await t.api("POST", `/api/flows/${id}/token`, { user: "carol" });
  expect(carol.json.detail).toContain(`"carol" must send AUTHORIZE and log in first`);
  expect((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200); // hers meanwhile
});
