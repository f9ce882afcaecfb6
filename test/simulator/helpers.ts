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

export function relyingParty(
  simulator: RunningSimulator,
  auth = client.ClientSecretPost(CLIENT_SECRET),
  clientId = CLIENT_ID,
): Promise<client.Configuration> {
  return client.discovery(new URL(simulator.issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
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

/** A login_hint login up to the callback URL (code, state, iss in its query); pass a jar to keep the browser's session. */
export async function loginWithHint(config: client.Configuration, extra: Record<string, string> = {}, jar?: CookieJar) {
  const attempt = await authorizationUrl(config, { login_hint: PID, ui_locales: "en", ...extra });
  const landed = await follow(attempt.url.toString(), jar);
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
export function postToken(simulator: RunningSimulator, params: Record<string, string>) {
  return postForm(simulator, "/token", { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...params });
}

/** Posts a form to one of the simulator's endpoints (token, revoke, par) exactly as given. */
export async function postForm(simulator: RunningSimulator, path: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${simulator.issuer}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
    body: new URLSearchParams(params),
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

/** Calls the control API with a JSON body (or none), as testers do. */
export async function control(simulator: RunningSimulator, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${simulator.controlUrl}${path}`, {
    method,
    headers: { ...(body === undefined && method !== "POST" ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/**
 * A valid synthetic (Tenor, month + 80) national identity number that is not one of the listed
 * test persons: born on the given day of 1980 + `year`, the first individual number whose MOD11
 * check digits work out.
 */
export function otherSyntheticPid(day = 12, month = 3, year = 90): string {
  const k1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
  const k2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const check = (digits: number[], weights: number[]) => {
    const r = weights.reduce((sum, w, i) => sum + w * digits[i], 0) % 11;
    return r === 0 ? 0 : r === 1 ? undefined : 11 - r;
  };
  for (let individual = 100; individual < 500; individual++) {
    const base = `${String(day).padStart(2, "0")}${month + 80}${String(year).padStart(2, "0")}${individual}`;
    const digits = [...base].map(Number);
    const c1 = check(digits, k1);
    if (c1 === undefined) continue;
    const c2 = check([...digits, c1], k2);
    if (c2 === undefined) continue;
    return `${base}${c1}${c2}`;
  }
  throw new Error("no synthetic number found");
}
