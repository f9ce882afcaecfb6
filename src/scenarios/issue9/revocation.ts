// Issue 9, point 6: REVOKE (and a replaced authorization) end the grant at ID-porten, not only
// here; a revocation that fails is retried and never holds up the REVOKE.
import { PID } from "../harness.ts";
import type { Scenario } from "../scenario.ts";
import { contextOf, eventually, tryRefresh } from "./tools.ts";

export const REVOCATION_SCENARIOS: Scenario[] = [
  {
    name: "revoke-ends-grant",
    summary: "REVOKE: the flow is idle at once and the grant is ended at ID-porten (its refresh token answers invalid_grant there)",
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const refreshToken = (await contextOf(t, id)).authorization!.idporten.refreshToken!;
      const revoked = await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
      say(`REVOKE → ${revoked.status} ${revoked.json.state}`);
      check(revoked.status === 200 && revoked.json.state === "idle" && revoked.json.boundUser === null, "the flow is idle and nobody is bound");
      const view = await eventually(async () => ((await t.api("GET", `/api/flows/${id}`)).json.pendingRevocations === 0 ? true : null));
      check(view, "the revocation at ID-porten is done (no revocation pending)");
      const answer = await tryRefresh(t, refreshToken);
      say(`the flow's last refresh token at ID-porten → ${answer}`);
      check(answer === "invalid_grant", "ID-porten refuses it: the grant has ended");
      check((await t.control("POST", "/revoke", { pid: PID })).json.revokedGrants === 0, "no grant of the person is left alive at the simulator");
    },
  },
  {
    name: "revocation-retried",
    summary: "ID-porten's revocation endpoint fails (slow, then 503): REVOKE answers at once anyway, the revocation is kept and retried until the grant is ended",
    env: { SIMULATED_CLOCK: "on" },
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const refreshToken = (await contextOf(t, id)).authorization!.idporten.refreshToken!;
      await t.control("POST", "/faults", { endpoint: "revocation", count: 1, status: 503, delayMs: 1500 });
      const started = Date.now();
      const revoked = await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
      const took = Date.now() - started;
      say(`REVOKE → ${revoked.json.state} in ${took} ms, revocations pending: ${revoked.json.pendingRevocations}`);
      check(revoked.status === 200 && revoked.json.state === "idle" && took < 1000, "REVOKE answers idle at once, not waiting for ID-porten's slow answer");
      await eventually(async () => t.service.simulator!.control.state().faults.length === 0 && !(await t.service.engine.current(id)).matches({ revocation: "revoking" }), 5000);
      const failed = (await t.api("GET", `/api/flows/${id}`)).json;
      say(`after ID-porten's 503: revocations pending ${failed.pendingRevocations}`);
      check(failed.pendingRevocations === 1, "the failed revocation is kept, to be retried");
      const clock = await t.api("POST", "/api/clock", { advanceSeconds: 31 });
      say(`clock moved 31 s to ${clock.json.now} (past the first backoff)`);
      const done = await eventually(async () => ((await t.api("GET", `/api/flows/${id}`)).json.pendingRevocations === 0 ? true : null));
      check(done, "the retry went through: no revocation pending");
      check((await tryRefresh(t, refreshToken)) === "invalid_grant", "the grant has ended at ID-porten");
    },
  },
  {
    name: "replaced-grant-revoked",
    summary: "A colleague's login replaces the authorization: the old grant is revoked at ID-porten, the new one serves the new user",
    async run({ t, say, check, authorized }) {
      const id = await authorized("alice");
      const old = (await contextOf(t, id)).authorization!.idporten.refreshToken!;
      const url = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob", uiLocale: "en" })).json.authorizationUrl;
      check((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status === 200, "while bob's login is pending, alice still gets her tokens");
      await t.login(url, "15889211056");
      const view = await eventually(async () => {
        const v = (await t.api("GET", `/api/flows/${id}`)).json;
        return v.boundUser === "bob" && v.state === "altinnAuthorized" && v.pendingRevocations === 0 ? v : null;
      });
      say(`bound user now ${view?.boundUser}, state ${view?.state}`);
      check(view, "bob is bound, the flow is altinnAuthorized and no revocation is pending");
      const answer = await tryRefresh(t, old);
      say(`alice's old refresh token at ID-porten → ${answer}`);
      check(answer === "invalid_grant", "alice's grant has ended at ID-porten");
      check((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status === 403, "alice is refused (403); bob holds the authorization now");
    },
  },
];
