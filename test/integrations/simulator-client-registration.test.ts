// The simulator learns a new integration's client at run time, as Digdir's self-service registers
// one: POST /control/clients, protected as the rest of the control API (bearer token, JSON only),
// checked field by field, never echoing the secret, kept across a restart, and then a real client
// for oidc-provider (a whole login and code exchange with openid-client).
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { CLIENT_ID, follow, PID, REDIRECT_URI, relyingParty, start, tempDir, VAT_SCOPE } from "../simulator/helpers.ts";

const CONTROL_TOKEN = "control-token-0123456789abcdef";
const NEW_ID = "acme-client";
const NEW_SECRET = "acme-registered-secret-0123456789";
/** The same redirect URI as the configured client (helpers' follow() stops there); the client id is what differs. */
const NEW_REDIRECT = REDIRECT_URI;

describe("run-time client registration at the simulator", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sim: RunningSimulator;
  const boot = () => start({ dataDir: dir.path, encryptionKey: new Uint8Array(32).fill(3), controlToken: CONTROL_TOKEN });
  const post = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${CONTROL_TOKEN}`, "content-type": "application/json" }) =>
    fetch(`${sim.controlUrl}/clients`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

  beforeAll(async () => {
    dir = await tempDir();
    sim = await boot();
  });
  afterAll(async () => {
    await sim?.close();
    await dir?.remove();
  });

  it("is protected as the control API is: a bearer token, JSON only", async () => {
    const registration = { clientId: NEW_ID, clientSecret: NEW_SECRET, redirectUris: [NEW_REDIRECT] };
    expect((await post(registration, { "content-type": "application/json" })).status).toBe(401);
    expect((await post("clientId=x", { authorization: `Bearer ${CONTROL_TOKEN}`, "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
  });

  it("checks the registration field by field, and refuses to replace a configured client", async () => {
    const short = await post({ clientId: NEW_ID, clientSecret: "short", redirectUris: [NEW_REDIRECT] });
    expect(short.status).toBe(400);
    expect((await short.json()).detail).toMatch(/clientSecret must be 16–500 characters/);
    const noUris = await post({ clientId: NEW_ID, clientSecret: NEW_SECRET, redirectUris: [] });
    expect((await noUris.json()).detail).toMatch(/redirectUris must be a non-empty list/);
    const configured = await post({ clientId: CLIENT_ID, clientSecret: NEW_SECRET, redirectUris: [NEW_REDIRECT] });
    expect(configured.status).toBe(400);
    expect((await configured.json()).detail).toMatch(/registered by configuration/);
  });

  it("registers a client without echoing its secret; the provider then serves it a whole login; it survives a restart", async () => {
    const registered = await post({ clientId: NEW_ID, clientSecret: NEW_SECRET, redirectUris: [NEW_REDIRECT] });
    expect(registered.status).toBe(201);
    const text = await registered.text();
    expect(text).not.toContain(NEW_SECRET);
    expect(JSON.parse(text).client).toMatchObject({ clientId: NEW_ID, tokenEndpointAuthMethod: "client_secret_post", source: "control" });

    const login = async () => {
      const rp = await relyingParty(sim, client.ClientSecretPost(NEW_SECRET), NEW_ID);
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(rp, {
        redirect_uri: NEW_REDIRECT,
        scope: VAT_SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state: "s1",
        login_hint: PID,
      });
      const back = await follow(url.toString(), new Map());
      expect(back.url.startsWith(NEW_REDIRECT), back.body.slice(0, 300)).toBe(true);
      const tokens = await client.authorizationCodeGrant(rp, new URL(back.url), { pkceCodeVerifier: verifier, expectedState: "s1" }, { redirect_uri: NEW_REDIRECT });
      return JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString()) as { client_id?: string };
    };
    expect((await login()).client_id).toBe(NEW_ID);

    await sim.close();
    sim = await boot();
    const listed = await fetch(`${sim.controlUrl}/clients`, { headers: { authorization: `Bearer ${CONTROL_TOKEN}` } });
    const clients = (await listed.json()).clients as Array<{ clientId: string; source: string }>;
    expect(clients.map((c) => [c.clientId, c.source])).toEqual([[CLIENT_ID, "configuration"], [NEW_ID, "control"]]);
    expect(JSON.stringify(clients)).not.toContain(NEW_SECRET);
    expect((await login()).client_id).toBe(NEW_ID);
  }, 30_000);
});
