// Issue 9, points 4 and 5: the login is bound to the browser that opened its login link, and the
// callback page tells the truth about this login, in its language, naming the legal entity.
import { PID } from "../harness.ts";
import type { Scenario } from "../scenario.ts";
import { isSimulatorLoginPage, loginFormAction, ScenarioBrowser } from "./browser.ts";
import { pageText } from "./page.ts";
import { contextOf } from "./tools.ts";

const unchanged = (a: any, b: any) => a.state === b.state && a.updatedAt === b.updatedAt && a.boundUser === b.boundUser && JSON.stringify(a.lastError) === JSON.stringify(b.lastError);

export const BINDING_SCENARIOS: Scenario[] = [
  {
    name: "callback-other-browser",
    summary: "ID-porten's answer replayed from a browser without the login cookie: a 403 page in words, the flow unchanged; the right browser then completes",
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const mine = new ScenarioBrowser();
      // The person's browser logs in; the callback it is sent to is held back, not yet requested.
      const held = await mine.open(`${authorizationUrl}?login_hint=${PID}`, { stopAt: `${t.url}/callback` });
      check(held.url.startsWith(`${t.url}/callback?`) && held.url.includes("code="), "ID-porten sends the browser back with a code");
      const before = (await t.api("GET", `/api/flows/${id}`)).json;
      const other = await new ScenarioBrowser().open(held.url);
      const text = pageText(other.body);
      say(`the same callback from another browser → ${other.status} "${text.title}"`);
      check(other.status === 403, "it is refused with 403");
      check(/another browser/.test(text.message) && /Nothing was changed/.test(text.message), "the page says in words why, and that nothing changed");
      const after = (await t.api("GET", `/api/flows/${id}`)).json;
      check(unchanged(before, after) && after.state === "awaitingCode" && !after.codeReceived, "the flow is unchanged: same state, updatedAt, boundUser, no code taken");
      const done = await mine.open(held.url);
      say(`the same callback from the browser that opened the link → ${done.status} "${pageText(done.body).title}"`);
      check(pageText(done.body).title === "Success", "the browser that opened the link completes the login");
      check((await t.waitForState(id, ["altinnAuthorized"])).state === "altinnAuthorized", "the flow is altinnAuthorized");
    },
  },
  {
    name: "forged-error-callback",
    summary: "A forged ?state=…&error=access_denied without the login cookie, before and after the link is opened, changes nothing",
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      // The attacker knows the login's real state (here read from the sealed snapshot).
      const state = (await contextOf(t, id)).attempt!.request.state;
      const forged = `${t.url}/callback?state=${encodeURIComponent(state)}&error=access_denied&error_description=cancelled`;
      const before = (await t.api("GET", `/api/flows/${id}`)).json;
      const early = await fetch(forged);
      say(`forged error before the link is opened → ${early.status}`);
      check(early.status === 403 && unchanged(before, (await t.api("GET", `/api/flows/${id}`)).json), "refused (403) and the flow is unchanged");

      const mine = new ScenarioBrowser();
      const loginPage = await mine.open(authorizationUrl);
      check(isSimulatorLoginPage(loginPage), "the person opens the link and sees ID-porten's login page");
      const opened = (await t.api("GET", `/api/flows/${id}`)).json;
      const late = await fetch(forged);
      say(`forged error while the person is at ID-porten → ${late.status} "${pageText(await late.text()).title}"`);
      const after = (await t.api("GET", `/api/flows/${id}`)).json;
      check(late.status === 403 && unchanged(opened, after) && after.state === "awaitingCode" && after.lastError === null, "refused (403); the login is still awaiting its code, no lastError");
    },
  },
  {
    name: "login-link-once",
    summary: "The login link works once, in one browser: a second opening (another browser, or the same) gets a 410 page and changes nothing",
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const mine = new ScenarioBrowser();
      const first = await mine.open(authorizationUrl);
      check(isSimulatorLoginPage(first) && mine.has("authflow_login_"), "the first opening sets the login cookie and reaches ID-porten");
      const before = (await t.api("GET", `/api/flows/${id}`)).json;
      const other = await new ScenarioBrowser().open(`${authorizationUrl}?login_hint=${PID}`);
      const again = await mine.open(authorizationUrl);
      say(`second opening: another browser → ${other.status} "${pageText(other.body).title}", the same browser → ${again.status}`);
      check(other.status === 410 && again.status === 410, "both are refused with 410");
      check(/works once, in one browser/.test(pageText(other.body).message), "the page says a login link works once, in one browser");
      check(unchanged(before, (await t.api("GET", `/api/flows/${id}`)).json), "the flow is unchanged");
    },
  },
  {
    name: "callback-reload",
    summary: "Reloading the Success page of a finished login shows its outcome again, not an error; in another browser it is 'already used'",
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const mine = new ScenarioBrowser();
      const done = await mine.open(`${authorizationUrl}?login_hint=${PID}`);
      await t.waitForState(id, ["altinnAuthorized"]);
      const before = (await t.api("GET", `/api/flows/${id}`)).json;
      const reload = await mine.open(done.url);
      say(`reload → ${reload.status} "${pageText(reload.body).title}"`);
      check(reload.status === 200 && pageText(reload.body).title === "Success", "the reload says Success again");
      const elsewhere = await new ScenarioBrowser().open(done.url);
      say(`the same URL in another browser → ${elsewhere.status} "${pageText(elsewhere.body).title}"`);
      check(elsewhere.status === 400 && /already used/.test(pageText(elsewhere.body).title), "another browser is told the login response was already used");
      check(unchanged(before, (await t.api("GET", `/api/flows/${id}`)).json), "the flow is unchanged by either");
    },
  },
  {
    name: "callback-altinn-failed",
    summary: "ID-porten login succeeds, Altinn answers 503: the page says exactly that (not Success, not 'authorization failed')",
    async run({ t, say, check, startLogin }) {
      await t.control("POST", "/faults", { endpoint: "altinn", count: 3, status: 503 });
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl);
      const text = pageText(page.body);
      say(`callback page: "${text.title}": ${text.message}`);
      check(text.title === "Altinn step failed", 'the title is "Altinn step failed"');
      check(/ID-porten login for organisation 999 999 999 succeeded, but the Altinn token exchange did not/.test(text.message), "the message says the ID-porten login succeeded and the Altinn exchange did not, naming the organisation");
      const view = await t.waitForState(id, ["idportenAuthorized"]);
      check(view.state === "idportenAuthorized" && view.boundUser === "alice", "the flow is idportenAuthorized for alice (the login is kept)");
      await t.control("DELETE", "/faults");
    },
  },
  {
    name: "callback-page-nb",
    summary: 'uiLocale "nb": ID-porten is asked for bokmål and the callback page is in Norwegian, naming the organisation number',
    async run({ t, say, check }) {
      const legalEntity = "923609016";
      const id = (await t.api("POST", "/api/flows", { legalEntity })).json.id;
      const url = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "nb" })).json.authorizationUrl;
      const browser = new ScenarioBrowser();
      const loginPage = await browser.open(url);
      check(/Language asked for<\/dt><dd>nb</.test(loginPage.body), "ID-porten is asked for ui_locales=nb");
      const page = await browser.submit(loginFormAction(loginPage), { pid: PID });
      const text = pageText(page.body);
      say(`callback page (lang=${text.lang}): "${text.title}": ${text.message}`);
      check(text.lang === "nb" && text.title === "Fullført", 'the page is in bokmål (lang="nb", "Fullført")');
      check(text.message.includes("organisasjon 923 609 016") && /Du er autorisert/.test(text.message), "it names the organisation number, in Norwegian");
    },
  },
];
