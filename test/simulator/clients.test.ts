// Client registrations as at Digdir: one token endpoint authentication method per client (the
// others answer invalid_client), private_key_jwt with the client's own key, and the scopes a client
// is registered for (another scope answers invalid_scope).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import * as client from "openid-client";
import type { RunningSimulator, SimulatorClient } from "../../src/simulator/index.ts";
import {
  authorizationUrl,
  authorize,
  CORRELATED,
  decodeJwt,
  exchange,
  follow,
  loginWithHint,
  postForm,
  REDIRECT_URI,
  relyingParty,
  start,
} from "./helpers.ts";

const POST_SECRET = "p".repeat(40);
const BASIC_SECRET = "b".repeat(40);
const NARROW_SCOPES = ["openid", "skatteetaten:mvameldingvalidering"];

let simulator: RunningSimulator;
let jwtKey: client.PrivateKey;
let otherKey: client.PrivateKey;

beforeAll(async () => {
  const makeKey = async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return { privateKey: { key: privateKey, kid }, publicJwk: { ...jwk, kid, alg: "RS256", use: "sig" } };
  };
  const mine = await makeKey();
  const other = await makeKey();
  jwtKey = mine.privateKey;
  otherKey = { key: other.privateKey.key, kid: mine.privateKey.kid }; // someone else's key under the client's kid
  const clients: SimulatorClient[] = [
    { clientId: "post-client", clientSecret: POST_SECRET, redirectUris: [REDIRECT_URI] },
    { clientId: "basic-client", clientSecret: BASIC_SECRET, redirectUris: [REDIRECT_URI], tokenEndpointAuthMethod: "client_secret_basic" },
    { clientId: "jwt-client", redirectUris: [REDIRECT_URI], tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [mine.publicJwk as JsonWebKey] } },
    { clientId: "narrow-client", clientSecret: POST_SECRET, redirectUris: [REDIRECT_URI], scopes: NARROW_SCOPES },
  ];
  simulator = await start({ clients });
});
afterAll(() => simulator.close());

const rp = (clientId: string, auth: client.ClientAuth) => relyingParty(simulator, auth, clientId);

describe("one authentication method per client", () => {
  const cases: [string, () => client.ClientAuth, () => client.ClientAuth][] = [
    ["post-client", () => client.ClientSecretPost(POST_SECRET), () => client.ClientSecretBasic(POST_SECRET)],
    ["basic-client", () => client.ClientSecretBasic(BASIC_SECRET), () => client.ClientSecretPost(BASIC_SECRET)],
    ["jwt-client", () => client.PrivateKeyJwt(jwtKey), () => client.ClientSecretPost(POST_SECRET)],
  ];

  it.each(cases)("%s: its method works for the code, the refresh and revocation", async (clientId, right) => {
    const config = await rp(clientId, right());
    const tokens = await authorize(config);
    expect(decodeJwt(tokens.access_token).client_id).toBe(clientId);
    const renewed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    await client.tokenRevocation(config, renewed.refresh_token!);
    await expect(client.refreshTokenGrant(config, renewed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it.each(cases)("%s: another method answers invalid_client (correlation id) and spends nothing", async (clientId, right, wrong) => {
    const wrongConfig = await rp(clientId, wrong());
    const login = await loginWithHint(wrongConfig);
    const refused = await exchange(wrongConfig, login).catch((error: unknown) => error);
    expect(refused).toMatchObject({ error: "invalid_client", status: 401, error_description: expect.stringMatching(CORRELATED) });
    // The refusal came before the code was looked at: the same code still works with the right method.
    await expect(exchange(await rp(clientId, right()), login)).resolves.toMatchObject({ refresh_token: expect.any(String) });
  });

  it("a client_secret_post client presenting a client_assertion gets invalid_client", async () => {
    const config = await rp("post-client", client.PrivateKeyJwt(jwtKey));
    const login = await loginWithHint(config);
    await expect(exchange(config, login)).rejects.toMatchObject({ error: "invalid_client" });
  });

  it("private_key_jwt: an assertion signed with another key answers invalid_client", async () => {
    const config = await rp("jwt-client", client.PrivateKeyJwt(otherKey));
    const login = await loginWithHint(config);
    await expect(exchange(config, login)).rejects.toMatchObject({ error: "invalid_client", error_description: expect.stringMatching(CORRELATED) });
  });

  it("the revocation and PAR endpoints refuse another method too, in ID-porten's error shape", async () => {
    const basic = { authorization: `Basic ${Buffer.from(`post-client:${POST_SECRET}`).toString("base64")}` };
    for (const path of ["/revoke", "/par"]) {
      const res = await postForm(simulator, path, { token: "x", client_id: "post-client", response_type: "code" }, basic);
      expect(res.status).toBe(401);
      expect(Object.keys(res.json!)).toEqual(["error", "error_description"]);
      expect(res.json).toMatchObject({ error: "invalid_client", error_description: expect.stringMatching(CORRELATED) });
    }
  });
});

describe("registered scopes", () => {
  it("a scope the client is not registered for answers invalid_scope at the redirect URI", async () => {
    const config = await rp("narrow-client", client.ClientSecretPost(POST_SECRET));
    const attempt = await authorizationUrl(config, { login_hint: "01817010055", scope: "openid altinn:instances.write" });
    const callback = new URL((await follow(attempt.url.toString())).url);
    expect(callback.toString().startsWith(REDIRECT_URI)).toBe(true);
    expect(callback.searchParams.get("error")).toBe("invalid_scope");
    expect(callback.searchParams.get("state")).toBe(attempt.state);
    expect(callback.searchParams.get("iss")).toBe(simulator.issuer);
    expect(callback.searchParams.get("code")).toBeNull();
  });

  it("the scopes it is registered for are granted", async () => {
    const config = await rp("narrow-client", client.ClientSecretPost(POST_SECRET));
    const tokens = await authorize(config, { scope: NARROW_SCOPES.join(" ") });
    expect(tokens.scope).toBe(NARROW_SCOPES.join(" "));
    expect(decodeJwt(tokens.access_token).scope).toBe("skatteetaten:mvameldingvalidering");
  });

  it("a pushed request with an unregistered scope answers 400 invalid_scope (correlation id)", async () => {
    const res = await postForm(simulator, "/par", {
      client_id: "narrow-client",
      client_secret: POST_SECRET,
      response_type: "code",
      redirect_uri: REDIRECT_URI,
      scope: "openid skatteetaten:mvameldinginnsending",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      state: "s",
      nonce: "n",
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "invalid_scope", error_description: expect.stringMatching(CORRELATED) });
  });

  it("the default registration is the VAT set, which a default client may ask for", async () => {
    const config = await rp("post-client", client.ClientSecretPost(POST_SECRET));
    const vat = "openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending altinn:instances.read altinn:instances.write";
    const tokens = await authorize(config, { scope: vat });
    expect(tokens.scope?.split(" ").sort()).toEqual(vat.split(" ").sort());
  });
});
