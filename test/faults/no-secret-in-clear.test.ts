// Every secret the service handled in a whole flow — login, exchange, a renewal, REVOKE — is
// looked for in every byte under DATA_DIR (flows, audit, damaged, simulator, lock) and in the
// whole log (the service's lines and anything written to stdout/stderr): in clear, base64,
// base64url and URL-encoded. Not only JWT-shaped strings: the refresh tokens, the code, the PKCE
// verifier, the nonce and state, the client secret, the full pid, the API token, the login link's
// id and the login cookie's secret.
//
// The secrets are learnt where they travel, not from the service's memory: the code and state from
// the callback URL the browser is sent to, the login link from the flow view, the cookie from the
// browser's jar, the tokens from the token call, and the rest from the wire between the service
// and the simulator (wire-tap.ts: PAR, token, revocation and exchange calls).
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { API_TOKEN, PID, startTestService, type TestService } from "../support/test-service.ts";
import { tapFetch, type WireTap } from "../support/wire-tap.ts";
import { eventually, LEGAL_ENTITY } from "../support/fault-helpers.ts";

let t: TestService | undefined;
let tap: WireTap | undefined;
let dir: string | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  tap?.restore();
  await t?.close().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  t = tap = dir = undefined;
});

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Every file under `root` (path relative to it, labelled with `when`) and its bytes. */
async function readAll(root: string, when: string): Promise<Array<[string, Buffer]>> {
  const files = await filesUnder(root);
  return Promise.all(files.map(async (f) => [`${f.slice(root.length + 1)} (${when})`, await readFile(f)] as [string, Buffer]));
}

/** The forms a secret could be written in without being encrypted. */
function encodings(secret: string): string[] {
  const b64 = Buffer.from(secret).toString("base64");
  return [...new Set([secret, b64.replace(/=+$/, ""), Buffer.from(secret).toString("base64url"), encodeURIComponent(secret)])];
}

it("no secret the service handled appears in clear in any file under DATA_DIR or in the log", async () => {
  // Console output is part of the log too.
  const console: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, "write").mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      console.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
  tap = tapFetch();
  dir = await mkdtemp(join(tmpdir(), "authflow-secrets-"));
  t = await startTestService({ SIMULATED_CLOCK: "on" }, dir);

  const id = (await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY })).json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
  const loginUrl = authorize.json.authorizationUrl as string;
  const loginId = new URL(loginUrl).pathname.split("/").pop()!;
  expect(loginId.startsWith(`${id}.`)).toBe(true);
  // The browser's walk, stopped where it would come back to us: the callback URL holds the code.
  const walk = await t.login(loginUrl, PID, `${t.url}/callback`);
  const callbackUrl = new URL(walk.url);
  const code = callbackUrl.searchParams.get("code")!;
  const state = callbackUrl.searchParams.get("state")!;
  expect(code).toBeTruthy();
  const loginCookie = /(?:^|; )authflow_login_[^=]+=([^;]+)/.exec(walk.cookie)?.[1];
  expect(loginCookie, "the login link set its cookie").toBeTruthy();
  const page = await fetch(callbackUrl, { headers: { cookie: walk.cookie } }).then((r) => r.text());
  expect(page).toContain("Success");
  expect((await t.waitForState(id, ["altinnAuthorized"])).state).toBe("altinnAuthorized");
  const first = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json;
  await t.api("POST", "/api/clock", { advanceSeconds: 7200 });
  const renewed = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json;
  expect(renewed.altinnToken).not.toBe(first.altinnToken);
  // DATA_DIR as it is while the authorization lives (REVOKE drops the tokens from the flow).
  const whileAuthorized = await readAll(dir, "while authorized");
  const revoke = await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
  expect(revoke.json.state).toBe("idle");
  await eventually(async () => tap!.to("/revoke").some((c) => c.status === 200), "the old grant was revoked at the simulator");
  await eventually(async () => (await t!.api("GET", `/api/flows/${id}`)).json.pendingRevocations === 0, "no revocation pending");
  await t.close(); // everything written and flushed; the folder stays for the scan

  // What travelled on the wire.
  const codeForm = tap.tokenRequests("authorization_code")[0]!;
  expect(codeForm.get("code")).toBe(code);
  const verifier = codeForm.get("code_verifier")!;
  const clientSecret = codeForm.get("client_secret")!;
  expect(clientSecret).toBe(t.service.config.idporten.clientSecret);
  const par = new URLSearchParams(tap.to("/par")[0]?.requestBody ?? "");
  const nonce = par.get("nonce")!;
  const codeChallenge = par.get("code_challenge")!;
  expect(par.get("state")).toBe(state);
  const tokenAnswers = tap.to("/token").map((c) => JSON.parse(c.responseBody || "{}"));
  const refreshTokens = [...new Set([...tokenAnswers.map((a) => a.refresh_token), ...tap.tokenRequests("refresh_token").map((f) => f.get("refresh_token"))])].filter(Boolean);
  expect(refreshTokens.length, "the first refresh token and its rotation").toBeGreaterThanOrEqual(2);
  const revoked = new URLSearchParams(tap.to("/revoke")[0]!.requestBody).get("token")!;
  const accessTokens = tokenAnswers.map((a) => a.access_token).filter(Boolean);
  const idTokens = tokenAnswers.map((a) => a.id_token).filter(Boolean);
  const altinnTokens = tap.to("/exchange/id-porten").map((c) => c.responseBody.trim()).filter(Boolean);
  expect(altinnTokens).toContain(renewed.altinnToken);

  const secrets: Record<string, string[]> = {
    "refresh token": refreshTokens as string[],
    "revoked refresh token": [revoked],
    "ID-porten access token": [...accessTokens, first.idportenAccessToken, renewed.idportenAccessToken],
    "id_token": idTokens,
    "Altinn token": [...altinnTokens, first.altinnToken, renewed.altinnToken],
    "authorization code": [code],
    "PKCE verifier": [verifier],
    "PKCE code_challenge": [codeChallenge],
    nonce: [nonce],
    "state (its random part)": [state.slice(id.length + 1)],
    "client secret": [clientSecret],
    "full pid": [PID],
    "API token": [API_TOKEN],
    "login link id (its secret part)": [loginId.slice(id.length + 1)],
    "login cookie secret": [loginCookie!],
  };
  for (const [what, values] of Object.entries(secrets)) for (const v of values) expect(v?.length ?? 0, `${what} was captured`).toBeGreaterThan(8);

  const atTheEnd = await readAll(dir, "at the end");
  expect(whileAuthorized.some(([f]) => f.startsWith(`flows/${id}.json`))).toBe(true);
  const places: Array<[string, Buffer]> = [
    ...whileAuthorized,
    ...atTheEnd,
    ["the server log", Buffer.from(t.lines.join("\n"))],
    ["stdout/stderr", Buffer.from(console.join(""))],
  ];
  const found: string[] = [];
  for (const [what, values] of Object.entries(secrets)) {
    for (const value of new Set(values)) {
      for (const form of encodings(value)) {
        for (const [place, bytes] of places) {
          if (bytes.includes(Buffer.from(form))) found.push(`${what} in ${place}${form === value ? "" : " (encoded)"}`);
        }
      }
    }
  }
  expect([...new Set(found)]).toEqual([]);
}, 30_000);
