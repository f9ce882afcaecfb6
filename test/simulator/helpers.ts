// A relying party for the simulator tests: openid-client against the real simulator over real
// HTTP on 127.0.0.1, and a browser's redirects with a cookie jar (like contract/smoke.mjs follow()).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as client from "openid-client";
import { startSimulator, type RunningSimulator, type SimulatorOptions } from "../../src/simulator/index.ts";

export const CLIENT_ID = "test-client";
export const CLIENT_SECRET = "s".repeat(40);
export const REDIRECT_URI = "http://localhost:8787/callback";
export const PID = "01817010055";
export const VAT_SCOPE = "openid skatteetaten:mvameldinginnsending skatteetaten:mvameldingvalidering";

export function start(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  return startSimulator({
    host: "127.0.0.1",
    port: 0,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
    ...options,
  });
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "authflow-simulator-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function relyingParty(simulator: RunningSimulator, auth = client.ClientSecretPost(CLIENT_SECRET)): Promise<client.Configuration> {
  return client.discovery(new URL(simulator.issuer), CLIENT_ID, undefined, auth, { execute: [client.allowInsecureRequests] });
}

export type CookieJar = Map<string, string>;

/** Follows redirects like a browser, stopping (without fetching) at the redirect URI. */
export async function follow(url: string, jar: CookieJar = new Map(), init: RequestInit = {}) {
  let request: RequestInit = init;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(REDIRECT_URI)) return { url, status: 0, body: "", jar };
    const headers = new Headers(request.headers);
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(url, { ...request, headers, redirect: "manual" });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    const location = res.headers.get("location");
    if (!location) return { url, status: res.status, body: await res.text(), jar };
    await res.body?.cancel();
    url = new URL(location, url).toString();
    request = {};
  }
  throw new Error("too many redirects");
}

export interface Attempt {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function authorizationUrl(config: client.Configuration, extra: Record<string, string> = {}): Promise<Attempt> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: VAT_SCOPE,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    ...extra,
  });
  return { url, verifier, state, nonce };
}

/** A login_hint login up to the callback URL (code, state, iss in its query). */
export async function loginWithHint(config: client.Configuration, extra: Record<string, string> = {}) {
  const attempt = await authorizationUrl(config, { login_hint: PID, ui_locales: "en", ...extra });
  const landed = await follow(attempt.url.toString());
  if (!landed.url.startsWith(REDIRECT_URI)) throw new Error(`login did not reach the redirect URI: ${landed.status} ${landed.body.slice(0, 200)}`);
  return { ...attempt, callback: new URL(landed.url) };
}

export function exchange(config: client.Configuration, login: Attempt & { callback: URL }) {
  return client.authorizationCodeGrant(config, login.callback, {
    pkceCodeVerifier: login.verifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
  });
}

/** Logs in and exchanges the code: the tokens a fresh authorization gives. */
export async function authorize(config: client.Configuration, extra: Record<string, string> = {}) {
  return exchange(config, await loginWithHint(config, extra));
}

/** Posts the token endpoint by hand, to see ID-porten's exact error body. */
export async function postToken(simulator: RunningSimulator, params: Record<string, string>) {
  const res = await fetch(`${simulator.issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...params }),
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

export const CORRELATED = /^(\w+) \(correlation id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$/;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
