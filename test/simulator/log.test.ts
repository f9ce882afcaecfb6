// The simulator's log says what happened without ever writing a token, code, secret or full pid.

import { afterAll, beforeAll, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, CLIENT_SECRET, exchange, loginWithHint, PID, relyingParty, start } from "./helpers.ts";

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

  const log = lines.join("\n");
  expect(log).toMatch(/login: 018170\*{5}/);
  expect(log).toMatch(/token: authorization_code/);
  expect(log).toMatch(/token: refresh_token/);
  expect(log).toMatch(/altinn: exchanged/);
  expect(log).toMatch(/invalid_grant \(authorization code already consumed\), correlation id /);
  expect(log).toMatch(/fault: token/);
  expect(log).toMatch(/control: revoked/);
  const secrets = [PID, CLIENT_SECRET, login.callback.searchParams.get("code")!];
  for (const set of [tokens, renewed]) secrets.push(set.access_token, set.refresh_token!, set.id_token!);
  for (const secret of secrets) expect(log).not.toContain(secret);
});
