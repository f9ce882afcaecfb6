// RFC 7009 revocation, as ID-porten: revoking a refresh token ends the whole grant, so every token
// of that authorization (also an earlier, rotated one) answers invalid_grant afterwards. The client
// authenticates as at the token endpoint.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, CLIENT_ID, CORRELATED, postForm, relyingParty, start } from "./helpers.ts";

let simulator: RunningSimulator;
let config: client.Configuration;

beforeAll(async () => {
  // A long reuse grace: without the revocation, the rotated token would still be accepted.
  simulator = await start({ refreshReuseGraceSeconds: 600 });
  config = await relyingParty(simulator);
});
afterAll(() => simulator.close());

describe("revocation", () => {
  it("of the current refresh token ends the grant: it and the rotated one answer invalid_grant", async () => {
    const first = await authorize(config);
    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    await client.tokenRevocation(config, second.refresh_token!, { token_type_hint: "refresh_token" });
    for (const token of [second.refresh_token!, first.refresh_token!]) {
      await expect(client.refreshTokenGrant(config, token)).rejects.toMatchObject({ error: "invalid_grant", error_description: expect.stringMatching(CORRELATED) });
    }
  });

  it("leaves the person's other authorizations alone", async () => {
    const one = await authorize(config);
    const two = await authorize(config);
    await client.tokenRevocation(config, one.refresh_token!);
    await expect(client.refreshTokenGrant(config, two.refresh_token!)).resolves.toMatchObject({ refresh_token: expect.any(String) });
  });

  it("answers 200 for an unknown token (RFC 7009 §2.2)", async () => {
    const res = await postForm(simulator, "/revoke", { client_id: CLIENT_ID, client_secret: "s".repeat(40), token: "no-such-token" });
    expect(res.status).toBe(200);
  });

  it("authenticates the client: a wrong secret answers 401 invalid_client in ID-porten's shape, and revokes nothing", async () => {
    const tokens = await authorize(config);
    const res = await postForm(simulator, "/revoke", { client_id: CLIENT_ID, client_secret: "wrong", token: tokens.refresh_token! });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: "invalid_client", error_description: expect.stringMatching(CORRELATED) });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).resolves.toMatchObject({ refresh_token: expect.any(String) });
  });

  it("can be made to fail (a fault on the revocation endpoint), so a client's retry can be tested", async () => {
    simulator.control.addFault({ endpoint: "revocation", status: 503 });
    const tokens = await authorize(config);
    await expect(client.tokenRevocation(config, tokens.refresh_token!)).rejects.toThrow(/unexpected HTTP response status code/);
    await client.tokenRevocation(config, tokens.refresh_token!);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });
});
