// Issue 9, points 7, 8, 9 (control API) and 11: private_key_jwt end to end, https for the Altinn
// exchange, every required variable named at once with a real issuer, the control API JSON-only
// with a token, and a dress rehearsal against the standalone simulator as an external provider.
import { exportJWK, generateKeyPair } from "jose";
import * as oidc from "openid-client";
import { readConfig } from "../../config.ts";
import { API_TOKEN, PID, startTestService } from "../harness.ts";
import type { Scenario } from "../scenario.ts";
import { startAgainstSimulator } from "./external.ts";
import { ScenarioBrowser } from "./browser.ts";
import { pageText } from "./page.ts";
import { contextOf, startProcess, tryRefresh } from "./tools.ts";

const REAL = { IDPORTEN_ISSUER: "https://test.idporten.no", IDPORTEN_CLIENT_ID: "my-client", IDPORTEN_CLIENT_SECRET: "my-secret", API_TOKEN };

export const SETUP_SCENARIOS: Scenario[] = [
  {
    name: "private-key-jwt",
    summary: "IDPORTEN_CLIENT_AUTH=private_key_jwt with a JWK made here: authorizes and renews end to end; the simulator refuses this client a secret",
    async run({ say, check }) {
      const { privateKey } = await generateKeyPair("RS256", { extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), alg: "RS256", use: "sig" };
      say("made an RSA key pair; the private JWK goes in IDPORTEN_CLIENT_KEY, its public half is what Digdir's self-service registers");
      const t = await startTestService({ IDPORTEN_CLIENT_AUTH: "private_key_jwt", IDPORTEN_CLIENT_KEY: JSON.stringify(jwk), IDPORTEN_CLIENT_KEY_ID: "scenario-key-1" });
      try {
        check(t.service.config.idporten.clientAuth === "private_key_jwt" && t.service.config.idporten.clientSecret === "", "the service runs with private_key_jwt and no client secret at all");
        const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
        const url = (await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" })).json.authorizationUrl;
        const page = await t.login(url);
        const view = await t.waitForState(id, ["altinnAuthorized", "idle"]);
        say(`login (PAR and code exchange signed with the key) → "${pageText(page.body).title}", flow ${view.state} ${JSON.stringify(view.lastError)}`);
        check(view.state === "altinnAuthorized", "the flow is altinnAuthorized");
        const renewed = await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" });
        check(renewed.json.state === "altinnAuthorized" && renewed.json.lastError === null, "a refresh (client authentication again) works too");
        const token = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
        check(token.status === 200 && token.json.altinnToken && token.json.idportenAccessToken, "the token call answers both tokens");
        const refreshToken = (await contextOf(t, id)).authorization!.idporten.refreshToken!;
        const withSecret = await oidc.discovery(new URL(t.service.simulator!.issuer), t.service.config.idporten.clientId, undefined, oidc.ClientSecretPost("a-guessed-secret"), {
          execute: [oidc.allowInsecureRequests],
        });
        const answer = await tryRefresh(t, refreshToken, withSecret);
        say(`the same client with client_secret_post → ${answer}`);
        check(answer === "invalid_client", "the simulator refuses any other method for this client (invalid_client)");
      } finally {
        await t.close();
      }
    },
  },
  {
    name: "altinn-url-must-be-https",
    summary: "ALTINN_EXCHANGE_URL=http://example.org/… (the ID-porten token would travel in clear) stops npm start with one line; https and localhost pass",
    async run({ say, check }) {
      const run = await startProcess({ ...REAL, ALTINN_EXCHANGE_URL: "http://example.org/authentication/api/v1/exchange/id-porten" });
      const lines = run.stderr.trim().split("\n");
      say(`npm start → exit ${run.code}: ${run.stderr.trim()}`);
      check(run.code === 2, "start-up stops with exit code 2 (wrong set-up)");
      check(lines.length === 1 && /ALTINN_EXCHANGE_URL must be https/.test(lines[0]!), "one line, naming ALTINN_EXCHANGE_URL and that it must be https");
      check(!/listening/.test(run.stdout), "nothing was started");
      const ok = (url: string) => {
        try {
          readConfig({ ...REAL, ALTINN_EXCHANGE_URL: url });
          return true;
        } catch {
          return false;
        }
      };
      check(ok("https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten"), "TT02's https URL is accepted");
      check(ok("http://localhost:8788/altinn/authentication/api/v1/exchange/id-porten"), "plain http to localhost (a local simulator) is accepted");
    },
  },
  {
    name: "real-issuer-every-variable",
    summary: "IDPORTEN_ISSUER set and nothing else: npm start names every missing variable in one line, not one per restart",
    async run({ say, check }) {
      const run = await startProcess({ IDPORTEN_ISSUER: "https://test.idporten.no" });
      const line = run.stderr.trim();
      say(`npm start → exit ${run.code}: ${line}`);
      check(run.code === 2 && !line.includes("\n"), "start-up stops with one line (exit 2)");
      const named = ["API_TOKEN", "IDPORTEN_CLIENT_ID", "IDPORTEN_CLIENT_SECRET", "ALTINN_EXCHANGE_URL"];
      check(named.every((v) => line.includes(v)), `it names all of ${named.join(", ")}`);
    },
  },
  {
    name: "simulator-control-json-only",
    summary: "The simulator's control API takes JSON only and, with SIMULATOR_CONTROL_TOKEN, a bearer token: a cross-site form post cannot add a fault",
    env: { SIMULATOR_CONTROL_TOKEN: "control-token-0123456789abcdef" },
    async run({ t, say, check }) {
      const url = `${t.service.simulator!.controlUrl}/faults`;
      const form = { "content-type": "application/x-www-form-urlencoded" };
      const bearer = { authorization: "Bearer control-token-0123456789abcdef" };
      const body = JSON.stringify({ endpoint: "token", status: 500 });
      const anonymous = await fetch(url, { method: "POST", headers: form, body: "endpoint=token&status=500" });
      const formWithToken = await fetch(url, { method: "POST", headers: { ...form, ...bearer }, body });
      const json = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...bearer }, body });
      say(`form post without token → ${anonymous.status}; form post with token → ${formWithToken.status}; JSON with token → ${json.status}`);
      check(anonymous.status === 401, "without the token: 401");
      check(formWithToken.status === 415, "a form body, even with the token: 415 (JSON only)");
      check(json.status === 200, "JSON with the token: 200");
      check(t.service.simulator!.control.state().faults.length === 1, "only the JSON request added a fault");
    },
  },
  {
    name: "dress-rehearsal-external",
    summary: "The service configured as for TT02 (IDPORTEN_ISSUER, client id and secret, ALTINN_EXCHANGE_URL) against a standalone simulator: authorizes end to end; another spelling of the issuer is refused",
    async run({ say, check }) {
      const x = await startAgainstSimulator();
      try {
        say(`simulator issuer ${x.simulator.issuer}; service IDPORTEN_ISSUER ${x.service.config.idporten.issuer}`);
        check(x.service.simulator === undefined && x.service.config.idporten.issuer === x.simulator.issuer, "no embedded simulator; IDPORTEN_ISSUER is the simulator's issuer, spelled the same");
        const id = (await x.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
        const url = (await x.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" })).json.authorizationUrl;
        const page = await new ScenarioBrowser().open(`${url}?login_hint=${PID}`);
        check(pageText(page.body).title === "Success", "the login through the external provider ends on Success");
        const token = await x.api("POST", `/api/flows/${id}/token`, { user: "alice" });
        check(token.status === 200 && token.json.altinnToken, "the token call answers both tokens");
      } finally {
        await x.close();
      }
      const other = await startAgainstSimulator((sim) => ({ IDPORTEN_ISSUER: sim.issuer.replace("127.0.0.1", "localhost") }));
      try {
        const id = (await other.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
        const res = await other.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
        say(`IDPORTEN_ISSUER ${other.service.config.idporten.issuer} for issuer ${other.simulator.issuer} → AUTHORIZE ${res.status}: ${res.json.detail}`);
        check(res.status >= 400 && res.json.state === undefined, "the same provider under another spelling is refused (the issuer must match exactly)");
      } finally {
        await other.close();
      }
    },
  },
];
