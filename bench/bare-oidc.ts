// The baseline of the whole-authorization row: the same protocol steps the service makes, done by a
// bare openid-client script — no engine, no store, no HTTP API. Discovery once; per authorization:
// PKCE S256, state, nonce, prompt=login, the VAT scopes, pushed with PAR (login_hint in the push, as
// the service pushes it), the browser's walk (cookie jar) up to the callback URL, not called;
// authorizationCodeGrant (state, nonce, PKCE and iss checked, id_token expected); then the Altinn
// exchange (GET with the ID-porten access token as bearer). Same client registration as the
// service (client_secret_post), same simulator.
import * as oidc from "openid-client";
import { VAT_SCOPES } from "../src/config.ts";
import { walk } from "./lib/browser.ts";

export interface BareSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  altinnExchangeUrl: string;
  pid: string;
}

export async function bareAuthorizer(settings: BareSettings): Promise<() => Promise<void>> {
  const config = await oidc.discovery(new URL(settings.issuer), settings.clientId, undefined, oidc.ClientSecretPost(settings.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
  return async () => {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: settings.redirectUri,
      scope: VAT_SCOPES,
      response_type: "code",
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      prompt: "login",
      login_hint: settings.pid,
    });
    const back = await walk(url.href, { stopAt: settings.redirectUri });
    if (!back.url.startsWith(settings.redirectUri)) throw new Error(`the login did not come back to the redirect URI: ${back.status} ${back.body.slice(0, 200)}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.url), {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const altinn = await fetch(settings.altinnExchangeUrl, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: "text/plain, application/json" } });
    const body = await altinn.text();
    if (altinn.status !== 200 || body.length < 20) throw new Error(`Altinn answered ${altinn.status}: ${body.slice(0, 200)}`);
  };
}
