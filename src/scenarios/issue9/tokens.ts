// Issue 9, points 1, 2 and 10: the VAT scopes (and a scope the client is not registered for),
// both tokens from one token call, and manual mode that is manual for Altinn too.
import { VAT_SCOPES } from "../../config.ts";
import { expiryMarginMs } from "../../flows/authorization-service.ts";
import type { Scenario } from "../scenario.ts";
import { pageText } from "./page.ts";
import { claimsOf } from "./tools.ts";

const FIVE = VAT_SCOPES.split(" ");

export const TOKEN_SCENARIOS: Scenario[] = [
  {
    name: "vat-scopes",
    summary: "The login asks for the five VAT scopes and ID-porten grants them: validation, submission and Altinn's instances",
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const view = (await t.api("GET", `/api/flows/${id}`)).json;
      say(`granted scope: ${view.idporten.grantedScope}`);
      const granted = new Set(String(view.idporten.grantedScope).split(" "));
      check(FIVE.length === 5 && FIVE.every((s) => granted.has(s)), `the granted scope has all five: ${FIVE.join(", ")}`);
      const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      const inToken = new Set(String(claimsOf(token.json.idportenAccessToken).scope).split(" "));
      check(FIVE.filter((s) => s !== "openid").every((s) => inToken.has(s)), "the ID-porten access token itself carries the four API scopes");
    },
  },
  {
    name: "scope-not-registered",
    summary: "IDPORTEN_SCOPE asks for a scope the client is not registered for: ID-porten refuses (invalid_scope) and the flow is idle saying so",
    env: { IDPORTEN_SCOPE: `${VAT_SCOPES} skatteetaten:not-granted-to-us` },
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl);
      const text = pageText(page.body);
      say(`opening the login link → ${page.status} "${text.title}": ${text.message.slice(0, 120)}…`);
      check(page.status >= 400 && page.status < 500 && /invalid_scope/.test(text.message), "the page refuses in words, naming invalid_scope");
      const view = await t.waitForState(id, ["idle"]);
      say(`flow ${view.state}, lastError ${JSON.stringify(view.lastError)}`);
      check(view.state === "idle", "the flow is idle");
      check(view.lastError?.error === "invalid_scope", "lastError.error is invalid_scope");
      check(/IDPORTEN_SCOPE/.test(view.lastError?.hint ?? "") && /self-service/.test(view.lastError?.hint ?? ""), "the hint says what to do (Digdir's self-service, or drop it from IDPORTEN_SCOPE)");
    },
  },
  {
    name: "both-tokens",
    summary: "The token call answers the Altinn token and the ID-porten access token, both valid beyond the margin; five callers at once share one renewal",
    env: { SIMULATED_CLOCK: "on" },
    async run({ t, say, check, authorized }) {
      const id = await authorized();
      const first = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      check(first.status === 200, "the token call answers 200");
      check(
        ["altinnToken", "expiresAt", "idportenAccessToken", "idportenAccessTokenExpiresAt"].every((k) => typeof first.json[k] === "string"),
        "it holds altinnToken, expiresAt, idportenAccessToken and idportenAccessTokenExpiresAt",
      );
      const idp = claimsOf(first.json.idportenAccessToken);
      const altinn = claimsOf(first.json.altinnToken);
      check(String(idp.scope).includes("skatteetaten:mvameldingvalidering") && typeof idp.pid === "string", "the ID-porten token is the one validation takes (scope skatteetaten:mvameldingvalidering, pid)");
      check(typeof altinn["urn:altinn:userid"] === "string" && typeof altinn["urn:altinn:partyid"] === "number", "the Altinn token is Altinn's (urn:altinn:userid, urn:altinn:partyid)");

      // 30 s before the tokens expire: inside the margin, so the next token call renews first.
      const lifetimeMs = Date.parse(first.json.idportenAccessTokenExpiresAt) - Date.parse((await t.api("GET", "/api/clock")).json.now);
      await t.api("POST", "/api/clock", { advanceSeconds: Math.floor(lifetimeMs / 1000) - 30 });
      const now = Date.parse((await t.api("GET", "/api/clock")).json.now);
      const refreshesBefore = t.lines.filter((l) => /simulator: token: refresh_token/.test(l)).length;
      const answers = await Promise.all(Array.from({ length: 5 }, () => t.api("POST", `/api/flows/${id}/token`, { user: "alice" })));
      const refreshes = t.lines.filter((l) => /simulator: token: refresh_token/.test(l)).length - refreshesBefore;
      say(`five token calls 30 s before expiry → ${answers.map((a) => a.status).join(", ")}; refreshes at ID-porten: ${refreshes}`);
      check(answers.every((a) => a.status === 200), "all five answer 200");
      check(refreshes === 1, "ID-porten saw exactly one refresh");
      check(new Set(answers.map((a) => a.json.altinnToken + a.json.idportenAccessToken)).size === 1, "all five got the same pair of tokens");
      const fresh = answers[0]!.json;
      check(fresh.altinnToken !== first.json.altinnToken && fresh.idportenAccessToken !== first.json.idportenAccessToken, "both tokens were renewed together");
      const margin = expiryMarginMs(lifetimeMs);
      check(
        Date.parse(fresh.expiresAt) - now >= margin && Date.parse(fresh.idportenAccessTokenExpiresAt) - now >= margin,
        `both are valid for at least the margin (${margin / 1000} s) from now`,
      );
    },
  },
  {
    name: "manual-mode-altinn-waits",
    summary: "Manual mode is manual for Altinn too: after Get access token the token call answers 409 saying to send EXCHANGE_ALTINN, then 200",
    env: { EXCHANGE_MODE: "manual" },
    async run({ t, say, check, startLogin }) {
      const { id, authorizationUrl } = await startLogin();
      const page = await t.login(authorizationUrl);
      check(pageText(page.body).title === "Code received", 'the callback page says "Code received"');
      const exchanged = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_CODE", user: "alice" });
      say(`EXCHANGE_CODE → ${exchanged.json.state}`);
      check(exchanged.json.state === "idportenAuthorized" && exchanged.json.altinn === null, "the flow is idportenAuthorized and no Altinn exchange was made");
      const early = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      say(`token call → ${early.status}: ${early.json.detail}`);
      check(early.status === 409 && /EXCHANGE_ALTINN/.test(early.json.detail), "the token call answers 409 and says to send EXCHANGE_ALTINN");
      check(!t.lines.some((l) => /simulator: altinn: exchanged/.test(l)), "Altinn has not been called");
      const altinn = await t.api("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_ALTINN", user: "alice" });
      say(`EXCHANGE_ALTINN → ${altinn.json.state}`);
      check(altinn.json.state === "altinnAuthorized", "EXCHANGE_ALTINN takes it to altinnAuthorized");
      check((await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).status === 200, "now the token call answers 200");
    },
  },
];
