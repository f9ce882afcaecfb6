// ID-porten over openid-client v6: discovery, PKCE S256, state, nonce, the RFC 9207 `iss` check,
// client_secret_post / client_secret_basic / private_key_jwt, ui_locales, acr_values and the acr
// check, prompt=login, pushed authorization requests when advertised, refresh and revocation.
// The redirect URI comes from configuration, never from an incoming request's host.
import * as oidc from "openid-client";
import type { Clock } from "../clock.ts";
import type { AuthorizationRequest, CodeExchangeInput, TokenSet } from "../machines/authorization-types.ts";
import { checkAcr } from "./acr.ts";
import { clientAuthentication, type ClientAuthSettings } from "./client-auth.ts";
import { decodeJwtPayload } from "./jwt.ts";
import { mapIdportenError } from "./upstream-error.ts";

export { decodeJwtPayload } from "./jwt.ts";
export { loadClientKey, type ClientAuthMethod, type ClientKey } from "./client-auth.ts";

export interface IdportenSettings extends ClientAuthSettings {
  issuer: string;
  clientId: string;
  scope: string;
  redirectUri: string;
  timeoutMs: number;
  /** "login" makes every login a fresh one: an ID-porten SSO session in the browser would otherwise log in whoever used it last. */
  prompt?: "login";
}

export interface AuthorizationOptions {
  /** Put in front of the random `state`, so the callback can find its flow without a lookup table. */
  statePrefix: string;
  uiLocale?: string;
  /** The security level to ask for (acr_values); the returned acr is checked against it at the exchange. */
  acr?: string;
  /** Overrides settings.prompt for this login; null sends none. */
  prompt?: "login" | null;
  loginHint?: string;
}

export interface RedirectOptions {
  /** Added when the browser is sent, not stored with the request (the simulator logs in by it). */
  loginHint?: string;
}

export interface IdportenClient {
  /** New state, nonce and PKCE verifier, and the plain authorization URL that carries them. No request leaves. */
  prepareAuthorization(options: AuthorizationOptions): Promise<AuthorizationRequest>;
  /**
   * The URL to send the browser to, now. With PAR advertised, the request is pushed at this moment
   * (its request_uri lives about a minute) and the URL holds only client_id and request_uri.
   */
  authorizationRedirect(request: AuthorizationRequest, options?: RedirectOptions): Promise<string>;
  exchangeCode(input: CodeExchangeInput): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  /** RFC 7009; revoking a refresh token at ID-porten ends the whole grant. */
  revoke(refreshToken: string): Promise<{ revoked: boolean }>;
}

export function createIdportenClient(settings: IdportenSettings, clock: Clock): IdportenClient {
  // Built at once: a missing secret or key stops start-up with one line, not the first login.
  const auth = clientAuthentication(settings);
  let discovered: Promise<oidc.Configuration> | undefined;

  // Discovery once, lazily; a failure is not cached, so the next call tries again.
  const configuration = () => {
    discovered ??= (async () => {
      const issuer = new URL(settings.issuer);
      const options: oidc.DiscoveryRequestOptions = { timeout: settings.timeoutMs / 1000 };
      // Plain http only where configuration allowed it (config.ts): localhost or the embedded simulator.
      if (issuer.protocol === "http:") options.execute = [oidc.allowInsecureRequests];
      const config = await oidc.discovery(issuer, settings.clientId, undefined, auth, options);
      config.timeout = settings.timeoutMs / 1000;
      return config;
    })().catch(async (error) => {
      discovered = undefined;
      throw await mapIdportenError(error, "discovery", settings.timeoutMs);
    });
    return discovered;
  };

  const toTokenSet = (response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, receivedAt: number): TokenSet => {
    const claims = response.claims();
    const access = decodeJwtPayload(response.access_token);
    const claim = (name: string) => claims?.[name] ?? access?.[name];
    const amr = claim("amr");
    const authTime = claim("auth_time");
    return {
      accessToken: response.access_token,
      refreshToken: response.refresh_token ?? null,
      idToken: response.id_token ?? null,
      scope: response.scope ?? settings.scope,
      expiresIn: response.expires_in ?? 0,
      pid: (claim("pid") as string | undefined) ?? null,
      acr: (claim("acr") as string | undefined) ?? null,
      sub: typeof claims?.sub === "string" ? claims.sub : null,
      amr: Array.isArray(amr) ? amr.map(String) : null,
      // Milliseconds like every other time in the flow; it is the provider's wall clock, for the record only.
      authTime: typeof authTime === "number" ? authTime * 1000 : null,
      receivedAt,
    };
  };

  const revoke = async (refreshToken: string): Promise<{ revoked: boolean }> => {
    const config = await configuration();
    if (!config.serverMetadata().revocation_endpoint) return { revoked: false };
    try {
      await oidc.tokenRevocation(config, refreshToken, { token_type_hint: "refresh_token" });
      return { revoked: true };
    } catch (error) {
      throw await mapIdportenError(error, "the revocation", settings.timeoutMs);
    }
  };

  return {
    async prepareAuthorization({ statePrefix, uiLocale, acr, prompt, loginHint }) {
      const config = await configuration();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const state = `${statePrefix}.${oidc.randomState()}`;
      const nonce = oidc.randomNonce();
      const params: Record<string, string> = {
        redirect_uri: settings.redirectUri,
        scope: settings.scope,
        response_type: "code",
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: "S256",
      };
      if (uiLocale) params.ui_locales = uiLocale;
      if (acr) params.acr_values = acr;
      const sendPrompt = prompt === undefined ? settings.prompt : prompt;
      if (sendPrompt) params.prompt = sendPrompt;
      if (loginHint) params.login_hint = loginHint;
      // The plain URL is the record of the request: authorizationRedirect pushes exactly its parameters.
      const url = oidc.buildAuthorizationUrl(config, params).href;
      return { url, state, nonce, codeVerifier, redirectUri: settings.redirectUri, acr: acr ?? null };
    },

    async authorizationRedirect(request, options = {}) {
      const config = await configuration();
      const params = new URL(request.url).searchParams;
      if (options.loginHint) params.set("login_hint", options.loginHint);
      if (!config.serverMetadata().pushed_authorization_request_endpoint) return oidc.buildAuthorizationUrl(config, params).href;
      try {
        // Pushed over the back channel with client authentication: state, nonce, the challenge and
        // the scope never travel in the browser, and the provider refuses a tampered request.
        return (await oidc.buildAuthorizationUrlWithPAR(config, params)).href;
      } catch (error) {
        throw await mapIdportenError(error, "the pushed authorization request", settings.timeoutMs);
      }
    },

    async exchangeCode(input) {
      const config = await configuration();
      const callback = new URL(input.redirectUri);
      for (const [key, value] of Object.entries(input.callbackParams)) callback.searchParams.set(key, value);
      let tokens: TokenSet;
      // Lifetimes count from when the request left, not when the answer came back: the provider
      // started its clocks (access token expiry, refresh-token inactivity) in between, so this errs
      // on the safe side — a keep-alive at 80 % of a short window must not come too late.
      const sentAt = clock.now();
      try {
        const response = await oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: input.codeVerifier,
          expectedState: input.state,
          expectedNonce: input.nonce,
          idTokenExpected: true,
        });
        tokens = toTokenSet(response, sentAt);
      } catch (error) {
        throw await mapIdportenError(error, "the code exchange", settings.timeoutMs);
      }
      try {
        checkAcr(input.expectedAcr, tokens.acr);
      } catch (refused) {
        // The provider issued a grant we will not use: end it rather than leave it alive for a year.
        if (tokens.refreshToken) await revoke(tokens.refreshToken).catch(() => undefined);
        throw refused;
      }
      return tokens;
    },

    async refresh(refreshToken) {
      const config = await configuration();
      const sentAt = clock.now(); // lifetimes count from here, as for the code exchange
      try {
        return toTokenSet(await oidc.refreshTokenGrant(config, refreshToken), sentAt);
      } catch (error) {
        throw await mapIdportenError(error, "the token refresh", settings.timeoutMs);
      }
    },

    revoke,
  };
}
