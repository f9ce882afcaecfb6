// Review finding: a person Altinn does not know (in TT02, a test person not in Altinn's register)
// logs in at ID-porten, and Altinn answers 401 to the exchange. Asking again does not mend that:
// the flow needs a person. It was listed by nobody's ?attention=true, and every token call asked
// Altinn again and answered 503 "retry in 5 s" — an ERP that obeyed asked forever, and against
// real Altinn each ask is an exchange (Altinn locks a person out with 429).
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { eventually, LEGAL_ENTITY, simulatorLines } from "../support/fault-helpers.ts";

// A valid synthetic national identity number that is not one of the simulator's Altinn persons.
const UNKNOWN_TO_ALTINN = "12838510068";
const altinnRefusals = (t: TestService) => simulatorLines(t).filter((l) => /^altinn: refused \(401\)/.test(l)).length;

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
}, 60_000);
afterAll(async () => t?.close());

it("Altinn refusing the person: the flow needs attention, the token call says what to do (409) and asks Altinn again at most once a minute; once the person is known and the user asks, it is authorized", async () => {
  const id = (await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY })).json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  await t.login(authorize.json.authorizationUrl, UNKNOWN_TO_ALTINN);
  const view = await eventually(async () => {
    const v = (await t.api("GET", `/api/flows/${id}`)).json;
    return v.state === "idportenAuthorized" && v.lastError ? v : undefined;
  }, "the Altinn exchange failed");
  expect(view.lastError.error).toBe("altinn_unauthorized");
  expect(altinnRefusals(t)).toBe(1);

  const attention = (await t.api("GET", "/api/flows?attention=true")).json.flows as Array<Record<string, any>>;
  expect(attention.map((f) => f.id)).toEqual([id]);
  expect(attention[0]!.needsAttention).toEqual([expect.objectContaining({ reason: "altinn_unauthorized", detail: expect.stringContaining("registered in Altinn") })]);

  for (let call = 0; call < 3; call++) {
    const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status, token.text).toBe(409);
    expect(token.json).toMatchObject({ type: expect.stringContaining("needs_attention"), state: "idportenAuthorized", lastError: { error: "altinn_unauthorized" } });
    expect(token.json.detail).toMatch(/until a person acts: .*Tenor/);
    expect(token.json.retryAfterSeconds).toBeUndefined(); // nothing to wait for: a person must act
  }
  // The first token call asked once more; the next ones within the minute did not.
  expect(altinnRefusals(t)).toBe(2);
  const asked = altinnRefusals(t);
  await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
  expect(altinnRefusals(t)).toBe(asked);

  // The person is registered at Altinn, and alice asks for the exchange ("NO Altinn: get access token").
  await t.control("POST", "/altinn/persons", { pid: UNKNOWN_TO_ALTINN });
  const exchanged = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_ALTINN", user: "alice" });
  expect(exchanged.status, exchanged.text).toBe(200);
  await eventually(async () => (await t.api("GET", `/api/flows/${id}`)).json.state === "altinnAuthorized", "altinnAuthorized");
  expect((await t.api("GET", `/api/flows/${id}`)).json).toMatchObject({ attention: null, lastError: null });
  expect((await t.api("GET", "/api/flows?attention=true")).json.flows).toEqual([]);
  expect((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200);
}, 60_000);
