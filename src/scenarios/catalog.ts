// The failures of real life, each as a scenario played against an embedded engine and simulator
// over real HTTP. `npm run scenario -- <name>` prints each transition and ends in PASS or FAIL;
// test/scenarios runs every one of them as a vitest test.
import * as oidc from "openid-client";
import type { AuthorizationContext } from "../machines/authorization-types.ts";
import type { Scenario } from "./scenario.ts";
import { ISSUE_9_SCENARIOS } from "./issue9/index.ts";

export { ScenarioFailure, type Scenario, type ScenarioContext } from "./scenario.ts";

const CORRELATION = /^invalid_grant \(correlation id: [0-9a-f-]{36}\)$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function altinnRefusal(status: number, error: string, fault: Record<string, unknown> = {}): Scenario {
  return {
    name: `altinn-${status === 0 ? "timeout" : status}`,
    summary:
      status === 0
        ? "Altinn does not answer the exchange in time: the flow stays idportenAuthorized with temporarily_unavailable, nothing hangs"
        : `Altinn answers ${status} to the token exchange: the flow stays idportenAuthorized with lastError ${error}`,
    env: { OUTBOUND_TIMEOUT_SECONDS: "1" },
    async run({ t, say, check, startLogin }) {
      await t.control("POST", "/faults", { endpoint: "altinn", count: 5, ...(status ? { status, body: `simulated ${status}` } : {}), ...fault });
      const { id, authorizationUrl } = await startLogin();
      const started = Date.now();
      await t.login(authorizationUrl);
      const view = await t.waitForState(id, ["idportenAuthorized"]);
      say(`flow is ${view.state}, lastError ${JSON.stringify(view.lastError)}`);
      check(view.state === "idportenAuthorized" && view.substate === "ready", "the flow rests in idportenAuthorized (ready)");
      check(view.lastError?.error === error, `lastError.error is ${error}`);
      const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      say(`token call → ${token.status}: ${token.json?.detail}`);
      check(Date.now() - started < 8000, "nothing hung: every call ended within the outbound timeout");
      if (status !== 401 && status !== 403) {
        check(token.status === 503, "the token call answers 503 with the reason: asking again may help");
        await t.control("DELETE", "/faults");
        const retry = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
        check(retry.status === 200, "once Altinn answers, the token call exchanges and answers 200");
        return;
      }
      // A refusal of a fresh token is not mended by asking again: a person must act.
      check(token.status === 409 && token.json?.type?.endsWith("needs_attention"), "the token call answers 409 needs_attention: asking again does not help");
      check(typeof token.json?.detail === "string" && token.json.detail.includes(view.lastError.hint), "its detail says what to do (the hint)");
      const listed = (await t.api("GET", "/api/flows?attention=true")).json.flows.map((f: { id: string }) => f.id);
      check(listed.includes(id), "the flow is listed as needing a person (?attention=true)");
      await t.control("DELETE", "/faults");
      const again = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_ALTINN", user: "alice" });
      check(again.status === 200, "once the cause is mended, the bound user asks for the exchange (EXCHANGE_ALTINN)");
      await t.waitForState(id, ["altinnAuthorized"]);
      const retry = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      check(retry.status === 200, "then the token call answers 200");
    },
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: "happy-path",
    summary: "AUTHORIZE, log in, exchange, Altinn token: altinnAuthorized and a token for the bound user",
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      say(`token call → ${token.status}, expires ${token.json?.expiresAt}`);
      check(token.status === 200 && token.json.altinnToken, "the bound user gets an Altinn token");
    },
  },
  {
    name: "late-exchange",
    summary: "Manual mode, the code is exchanged after its lifetime: invalid_grant with a correlation id, flow back to idle",
    env: { EXCHANGE_MODE: "manual", SIMULATOR_CODE_TTL_SECONDS: "1" },
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl);
      check(page.status === 200 && page.body.includes("Code received"), "the callback page says the code was received and must be exchanged now");
      const held = await t.api("GET", `/api/flows/${id}`);
      check(held.json.state === "awaitingCode" && held.json.codeReceived, "the code is held, the flow waits for Get access token");
      say("waiting 1.5 s: longer than the code's lifetime");
      await sleep(1500);
      const late = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_CODE", user: "alice" });
      say(`EXCHANGE_CODE → ${late.json.state}, lastError ${JSON.stringify(late.json.lastError)}`);
      check(late.json.state === "idle", "the flow is back in idle");
      check(late.json.lastError?.error === "invalid_grant", "lastError.error is invalid_grant");
      check(CORRELATION.test(late.json.lastError?.error_description ?? ""), "error_description is ID-porten's, with a correlation id");
      check(/new code/.test(late.json.lastError?.hint ?? ""), "the hint says to get a new code and exchange it at once");
    },
  },
  {
    name: "replayed-callback",
    summary: "The browser's callback is sent again: the second one is refused and changes nothing",
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl);
      await t.waitForState(id, ["altinnAuthorized"]);
      const before = (await t.api("GET", `/api/flows/${id}`)).json;
      const replay = await fetch(page.url);
      say(`replayed callback → ${replay.status}`);
      const after = (await t.api("GET", `/api/flows/${id}`)).json;
      check(replay.status === 400, "the replay is refused");
      check(after.state === "altinnAuthorized" && after.updatedAt === before.updatedAt, "the flow did not change");
    },
  },
  {
    name: "foreign-state",
    summary: "A callback whose state belongs to no login in progress is refused; the waiting flow is untouched",
    async run({ t, say, check, startLogin }) {
      const { id } = await startLogin();
      const forged = await fetch(`${t.url}/callback?code=forged&state=${id}.not-the-real-state`);
      say(`forged callback → ${forged.status}`);
      const view = (await t.api("GET", `/api/flows/${id}`)).json;
      check(forged.status === 400, "the forged callback is refused");
      check(view.state === "awaitingCode" && !view.codeReceived, "the flow still waits for its own code");
    },
  },
  {
    name: "redirect-not-registered",
    summary: "The redirect URL is not among the integration point's registered URIs: AUTHORIZE is refused with 422 naming both",
    env: { IDPORTEN_REGISTERED_REDIRECT_URIS: "https://erp.example/web-applications" },
    async run({ t, say, check }) {
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
      const res = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      say(`AUTHORIZE → ${res.status}: ${res.json.detail}`);
      check(res.status === 422, "AUTHORIZE answers 422");
      check(res.json.detail.includes("https://erp.example/web-applications") && res.json.detail.includes(`${t.url}/callback`), "the detail names both URLs");
    },
  },
  {
    name: "other-user-token",
    summary: "Another user asks for the token: 403, and the bound user still gets it",
    async run({ t, say, check, authorized }) {
      const id = await authorized("alice");
      const bob = await t.api("POST", `/api/flows/${id}/token`, { user: "bob" });
      say(`bob's token call → ${bob.status}: ${bob.json.detail}`);
      check(bob.status === 403, "bob is refused with 403");
      check((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status === 200, "alice still gets her token");
    },
  },
  {
    name: "authorization-lifetime-passes",
    summary: "The simulated clock passes the authorization lifetime: expired, and the token call says to authorize again",
    env: { SIMULATED_CLOCK: "on" },
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const clock = await t.api("POST", "/api/clock", { advanceSeconds: 31536000 });
      say(`clock advanced a year to ${clock.json.now}`);
      const view = (await t.api("GET", `/api/flows/${id}`)).json;
      check(view.state === "expired", "the flow is expired");
      const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      say(`token call → ${token.status}: ${token.json.detail}`);
      check(token.status === 409 && /Authorize again/i.test(token.json.detail), "the token call answers 409: authorize again");
    },
  },
  {
    name: "token-expiry-renewal",
    summary: "The simulated clock passes the access token's expiry: the next token call renews (one-time refresh token) first",
    env: { SIMULATED_CLOCK: "on" },
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const first = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      await t.api("POST", "/api/clock", { advanceSeconds: 7200 });
      const [a, b] = await Promise.all([
        t.api("POST", `/api/flows/${id}/token`, { user: "alice" }),
        t.api("POST", `/api/flows/${id}/token`, { user: "alice" }),
      ]);
      say(`two token calls after expiry → ${a.status}, ${b.status}`);
      check(a.status === 200 && b.status === 200, "both token calls answer 200");
      check(a.json.altinnToken !== first.json.altinnToken, "the token was renewed");
      check(a.json.altinnToken === b.json.altinnToken, "one renewal served both callers");
    },
  },
  {
    name: "refresh-token-reused",
    summary: "Someone else used the flow's one-time refresh token first (rotation): the renewal gets invalid_grant, the flow expires",
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const ctx = (await t.service.engine.current(id)).context as AuthorizationContext;
      const stolen = ctx.authorization!.idporten.refreshToken!;
      const sim = t.service.simulator!;
      const config = await oidc.discovery(new URL(sim.issuer), "authflow-local", undefined, oidc.ClientSecretPost(t.service.config.idporten.clientSecret), {
        execute: [oidc.allowInsecureRequests],
      });
      await oidc.refreshTokenGrant(config, stolen);
      say("a copy of the refresh token was used elsewhere; it is now dead");
      const renew = await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
      say(`RENEW → ${renew.json.state}, lastError ${JSON.stringify(renew.json.lastError)}`);
      check(renew.json.state === "expired", "the flow is expired");
      check((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status === 409, "the token call answers 409");
    },
  },
  {
    name: "refresh-after-provider-lifetime",
    summary: "The provider's authorization lifetime ends before ours: refresh answers invalid_grant and the flow expires",
    env: { SIMULATOR_AUTHORIZATION_LIFETIME_SECONDS: "2" },
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      say("waiting 2.5 s: past the provider's authorization lifetime");
      await sleep(2500);
      const renew = await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
      say(`RENEW → ${renew.json.state}, lastError ${JSON.stringify(renew.json.lastError)}`);
      check(renew.json.state === "expired", "the flow is expired");
    },
  },
  altinnRefusal(401, "altinn_unauthorized"),
  altinnRefusal(403, "altinn_forbidden"),
  altinnRefusal(429, "altinn_locked_out"),
  altinnRefusal(503, "temporarily_unavailable"),
  altinnRefusal(0, "temporarily_unavailable", { delayMs: 3000 }),
  {
    name: "idporten-token-down",
    summary: "ID-porten's token endpoint drops the connection: the exchange fails, the flow returns to idle with the reason",
    env: { OUTBOUND_TIMEOUT_SECONDS: "2" },
    async run({ t, say, check, startLogin }) {
      await t.control("POST", "/faults", { endpoint: "token", count: 5, drop: true });
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl);
      say(`callback page → ${page.status}`);
      const view = await t.waitForState(id, ["idle"]);
      say(`flow is ${view.state}, lastError ${JSON.stringify(view.lastError)}`);
      check(view.state === "idle", "the flow is back in idle, not stuck in exchanging");
      check(view.lastError?.error === "temporarily_unavailable", "lastError says ID-porten was unavailable");
      check(/authorization failed/i.test(page.body), "the callback page says the authorization failed");
    },
  },
  ...ISSUE_9_SCENARIOS,
];
