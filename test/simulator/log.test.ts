// The simulator's log says what happened without ever writing a token, code, secret or full pid.

import { afterAll, beforeAll, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, CLIENT_SECRET, exchange, loginWithHint, otherSyntheticPid, PID, postForm, relyingParty, start } from "./helpers.ts";

const lines: string[] = [];
let simulator: RunningSimulator;

beforeAll(async () => {
  simulator = await start({ log: (line) => lines.push(line) });
});
afterAll(() => simulator.close());

it("logs logins, token calls, exchanges, errors and controls, and no secret", async () => {
  const config = await relyingParty(simulator);
  const tokens = await authorize(config);
  const renewed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  await fetch(simulator.altinnExchangeUrl, { headers: { authorization: `Bearer ${renewed.access_token}` } });
  const login = await loginWithHint(config);
  await exchange(config, login);
  await exchange(config, login).catch(() => {});
  simulator.control.addFault({ endpoint: "token", count: 1, status: 500 });
  await client.refreshTokenGrant(config, renewed.refresh_token!).catch(() => {});
  await simulator.control.revoke(PID);
  // What issues 8 and 9 added: a refused auth method, revocation, PAR, an unknown person at Altinn.
  const basic = { authorization: `Basic ${btoa(`test-client:${CLIENT_SECRET}`)}` };
  await postForm(simulator, "/token", { grant_type: "refresh_token", refresh_token: "x" }, basic);
  const again = await authorize(config);
  await client.tokenRevocation(config, again.refresh_token!);
  await client.buildAuthorizationUrlWithPAR(config, { redirect_uri: "http://localhost:8787/callback", scope: "openid", code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256" });
  const stranger = otherSyntheticPid();
  const unknown = await authorize(config, { login_hint: stranger });
  await fetch(simulator.altinnExchangeUrl, { headers: { authorization: `Bearer ${unknown.access_token}` } });
  await simulator.control.addAltinnPerson(stranger);

  const log = lines.join("\n");
  expect(log).toMatch(/login: 018170\*{5}/);
  expect(log).toMatch(/token: authorization_code/);
  expect(log).toMatch(/token: refresh_token/);
  expect(log).toMatch(/altinn: exchanged/);
  expect(log).toMatch(/invalid_grant \(authorization code already consumed\), correlation id /);
  expect(log).toMatch(/fault: token/);
  expect(log).toMatch(/control: revoked/);
  expect(log).toMatch(/token: invalid_client \(client test-client is registered for client_secret_post, the request used client_secret_basic\), correlation id /);
  expect(log).toMatch(/altinn: refused \(401\), \d{6}\*{5} is not in Altinn's register, traceId 00-/);
  expect(log).toMatch(/control: \d{6}\*{5} added to Altinn's register/);
  const secrets = [PID, stranger, CLIENT_SECRET, login.callback.searchParams.get("code")!];
  for (const set of [tokens, renewed, again, unknown]) secrets.push(set.access_token, set.refresh_token!, set.id_token!, set.claims()!.sub);
  for (const secret of secrets) expect(log).not.toContain(secret);
});
