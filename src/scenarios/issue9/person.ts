// Issue 9, points 3 and 9: the right person — prompt=login beats the browser's SSO session, a lower
// acr than asked is refused in words, the audit names the person (masked) — and what the simulator
// shows of ID-porten and Altinn: a pairwise sub, ID-porten's id_token claims, Altinn's register.
import { PID, startTestService } from "../harness.ts";
import type { Scenario } from "../scenario.ts";
import { isSimulatorLoginPage, loginFormAction, ScenarioBrowser } from "./browser.ts";
import { pageText } from "./page.ts";
import { claimsOf, contextOf, syntheticPid } from "./tools.ts";

const masked = (pid: string) => `${pid.slice(0, 6)}*****`;
const SECOND = "15889211056"; // Rask Fjellbekk, the simulator's second test person

async function authorizeIn(t: { api: (m: string, p: string, b?: unknown) => Promise<{ json: any }> }, user: string, extra: Record<string, string> = {}) {
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id as string;
  const url = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user, uiLocale: "en", ...extra })).json.authorizationUrl as string;
  return { id, url };
}

export const PERSON_SCENARIOS: Scenario[] = [
  {
    name: "prompt-login-beats-sso",
    summary: "One browser, two logins: with prompt=login ID-porten shows its login page again (SSO would log in the last person silently, as IDPORTEN_PROMPT=off shows)",
    async run({ t, say, check }) {
      const browser = new ScenarioBrowser();
      const first = await authorizeIn(t, "alice");
      const done = await browser.open(`${first.url}?login_hint=${PID}`);
      check(pageText(done.body).title === "Success", `the first login (${masked(PID)}) succeeds and leaves an SSO session in the browser`);

      const second = await authorizeIn(t, "bob");
      const page = await browser.open(second.url);
      say(`second login in the same browser ends at ${new URL(page.url).pathname} (${page.status})`);
      check(isSimulatorLoginPage(page), "ID-porten shows its login page again: nobody is logged in silently");
      const picked = await browser.submit(loginFormAction(page), { pid: SECOND });
      check(pageText(picked.body).title === "Success", `bob picks ${masked(SECOND)} on the page and succeeds`);
      const view = await t.waitForState(second.id, ["altinnAuthorized"]);
      check(view.idporten?.pid === masked(SECOND), "the flow holds the person who logged in now, not the SSO session's");

      // The same browser walk without prompt=login: the SSO session logs in whoever used it last.
      const off = await startTestService({ IDPORTEN_PROMPT: "off" });
      try {
        const b = new ScenarioBrowser();
        const one = await authorizeIn(off, "alice");
        await b.open(`${one.url}?login_hint=${PID}`);
        const two = await authorizeIn(off, "bob");
        const silent = await b.open(two.url);
        say(`with IDPORTEN_PROMPT=off the second login ends at ${new URL(silent.url).pathname}: "${pageText(silent.body).title}"`);
        const bobs = await off.waitForState(two.id, ["altinnAuthorized", "idle"]);
        check(!isSimulatorLoginPage(silent) && bobs.idporten?.pid === masked(PID), `without prompt=login bob is silently bound to ${masked(PID)}, the browser's last person (the danger prompt=login prevents)`);
      } finally {
        await off.close();
      }
    },
  },
  {
    name: "acr-too-low",
    summary: "AUTHORIZE asks for idporten-loa-high, the person logs in at substantial: refused in words, flow idle with insufficient_acr, the grant revoked",
    async run({ t, say, check }) {
      const { id, url } = await authorizeIn(t, "alice", { acr: "idporten-loa-high" });
      const page = await t.login(url, `${PID}:substantial`);
      const text = pageText(page.body);
      say(`callback page: "${text.title}": ${text.message}`);
      check(text.title !== "Success" && /lower than the idporten-loa-high/.test(text.message), "the page refuses, saying the level was lower than the one asked for");
      const view = await t.waitForState(id, ["idle"]);
      say(`flow ${view.state}, lastError ${JSON.stringify(view.lastError)}`);
      check(view.state === "idle" && view.boundUser === null, "the flow is idle and nobody is bound");
      check(view.lastError?.error === "insufficient_acr" && /idporten-loa-substantial/.test(view.lastError.error_description), "lastError is insufficient_acr and names both levels");
      const left = (await t.control("POST", "/revoke", { pid: PID })).json.revokedGrants;
      say(`grants of ${masked(PID)} still alive at ID-porten: ${left}`);
      check(left === 0, "the refused login's grant was revoked: none is left alive at ID-porten");
    },
  },
  {
    name: "login-audit-names-person",
    summary: "The audit entry of each login names the person, masked; a new login by the same user as another person is allowed and shows there",
    async run({ t, say, check }) {
      const { id, url } = await authorizeIn(t, "alice");
      await t.login(url, PID);
      await t.waitForState(id, ["altinnAuthorized"]);
      const again = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en" })).json.authorizationUrl;
      await t.login(again, SECOND);
      const view = await t.waitForState(id, ["altinnAuthorized"]);
      const audit = await t.api("GET", `/api/flows/${id}/audit`);
      const persons = (audit.json.transitions as Array<{ person?: string; event: string }>).filter((e) => e.person).map((e) => e.person);
      say(`audit: logins by ${persons.join(", ")}`);
      check(persons.length === 2 && persons[0] === masked(PID) && persons[1] === masked(SECOND), "two login entries, each naming its person masked");
      check(view.boundUser === "alice" && view.idporten.pid === masked(SECOND), "the second person replaced the first for the same user");
      check(!audit.text.includes(PID) && !audit.text.includes(SECOND), "no full national identity number in the audit");
      check(![PID, SECOND].some((p) => JSON.stringify(view).includes(p)), "nor in the flow view");
    },
  },
  {
    name: "pairwise-sub",
    summary: "ID-porten's sub is pairwise, not the pid; the id_token has pid, acr, amr, auth_time, locale and sid, as ID-porten's",
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const second = await authorized();
      const token = (await contextOf(t, id)).authorization!.idporten.idToken!;
      const claims = claimsOf(token);
      say(`id_token claims: ${Object.keys(claims).sort().join(", ")}`);
      check(claims.pid === PID, "pid is the person's national identity number");
      check(typeof claims.sub === "string" && claims.sub !== PID && !String(claims.sub).includes(PID), "sub is not the pid");
      check(["acr", "amr", "auth_time", "locale", "sid"].every((c) => c in claims), "acr, amr, auth_time, locale and sid are there");
      const again = claimsOf((await contextOf(t, second)).authorization!.idporten.idToken!);
      check(again.sub === claims.sub, "the same person has the same sub at this client in another login (pairwise is stable per client)");
    },
  },
  {
    name: "person-unknown-to-altinn",
    summary: "A valid synthetic person Altinn does not know logs in at ID-porten but gets Altinn's 401: page and lastError say so and what to do in TT02",
    async run({ t, say, check, startLogin }) {
      const stranger = syntheticPid(17, 5, 1990);
      const register = (await t.control("GET", "/altinn/persons")).json.altinnPersons as string[];
      check(!register.includes(stranger), `${masked(stranger)} is a valid synthetic number, not among the ${register.length} persons Altinn knows`);
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl, stranger);
      const text = pageText(page.body);
      say(`callback page: "${text.title}": ${text.message}`);
      check(text.title === "Altinn step failed" && /ID-porten login .* succeeded/.test(text.message), "the page says the ID-porten login succeeded and the Altinn step did not");
      const view = await t.waitForState(id, ["idportenAuthorized"]);
      say(`flow ${view.state}, lastError ${JSON.stringify(view.lastError)}`);
      check(view.state === "idportenAuthorized" && view.lastError?.error === "altinn_unauthorized", "the flow is idportenAuthorized with altinn_unauthorized");
      check(/Altinn does not know|not known to Altinn/.test(view.lastError?.hint ?? ""), "lastError says the person is not known to Altinn");
      check(/TT02/.test(view.lastError?.hint ?? "") && /registered in Altinn/.test(view.lastError?.hint ?? ""), "and what to do in TT02: a test person registered in Altinn");
      await t.control("POST", "/altinn/persons", { pid: stranger });
      const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      say(`person added to Altinn's register; token call → ${token.status}`);
      check(token.status === 200, "once Altinn knows the person, the token call exchanges and answers 200");
    },
  },
];
