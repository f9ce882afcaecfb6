// ID-porten over openid-client v6: discovery, PKCE S256, state, nonce, the RFC 9207 `iss` check,
// client_secret_post (what Dynamics registers), ui_locales and acr_values, and refresh.
// The redirect URI comes from configuration, never from an incoming request's host.
import * as oidc from "openid-client";
import type { Clock } from "../clock.ts";
import type { AuthorizationRequest, CodeExchangeInput, TokenSet } from "../machines/authorization-types.ts";
import { mapIdportenError } from "./upstream-error.ts";

export interface IdportenSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  redirectUri: string;
  timeoutMs: number;
}

export interface AuthorizationOptions {
  /** Put in front of the random `state`, so the callback can find its flow without a lookup table. */
  statePrefix: string;
  uiLocale?: string;
  acr?: string;
}

export interface IdportenClient {
  prepareAuthorization(options: AuthorizationOptions): Promise<AuthorizationRequest>;
  exchangeCode(input: CodeExchangeInput): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
}

export function createIdportenClient(settings: IdportenSettings, clock: Clock): IdportenClient {
  let discovered: Promise<oidc.Configuration> | undefined;

  // Discovery once, lazily; a failure is not cached, so the next call tries again.
  const configuration = () => {
    discovered ??= (async () => {
      const issuer = new URL(settings.issuer);
      const options: oidc.DiscoveryRequestOptions = { timeout: settings.timeoutMs / 1000 };
      // Plain http only where configuration allowed it (config.ts): localhost or the embedded simulator.
      if (issuer.protocol === "http:") options.execute = [oidc.allowInsecureRequests];
      const config = await oidc.discovery(issuer, settings.clientId, undefined, oidc.ClientSecretPost(settings.clientSecret), options);
      config.timeout = settings.timeoutMs / 1000;
      return config;
    })().catch((error) => {
      discovered = undefined;
      throw mapIdportenError(error, "discovery", settings.timeoutMs);
    });
    return discovered;
  };

  const toTokenSet = (response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, receivedAt: number): TokenSet => {
    const claims = response.claims();
    const access = decodeJwtPayload(response.access_token);
    const pid = (claims?.pid ?? access?.pid ?? null) as string | null;
    const acr = (claims?.acr ?? access?.acr ?? null) as string | null;
    return {
      accessToken: response.access_token,
      refreshToken: response.refresh_token ?? null,
      idToken: response.id_token ?? null,
      scope: response.scope ?? settings.scope,
      expiresIn: response.expires_in ?? 0,
      pid,
      acr,
      receivedAt,
    };
  };

  return {
    async prepareAuthorization({ statePrefix, uiLocale, acr }) {
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
      const url = oidc.buildAuthorizationUrl(config, params).href;
      return { url, state, nonce, codeVerifier, redirectUri: settings.redirectUri };
    },

    async exchangeCode(input) {
      const config = await configuration();
      const callback = new URL(input.redirectUri);
      for (const [key, value] of Object.entries(input.callbackParams)) callback.searchParams.set(key, value);
      try {
        const response = await oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: input.codeVerifier,
          expectedState: input.state,
          expectedNonce: input.nonce,
          idTokenExpected: true,
        });
        return toTokenSet(response, clock.now());
      } catch (error) {
        throw mapIdportenError(error, "the code exchange", settings.timeoutMs);
      }
    },

    async refresh(refreshToken) {
      const config = await configuration();
      try {
        return toTokenSet(await oidc.refreshTokenGrant(config, refreshToken), clock.now());
      } catch (error) {
        throw mapIdportenError(error, "the token refresh", settings.timeoutMs);
      }
    },
  };
}

/** Reads a JWT's claims without verifying it: only to learn facts about our own token. */
export function decodeJwtPayload(jwt: string): Record<string, unknown> | null {
  const part = jwt.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0)));
    const payload = JSON.parse(json);
    return typeof payload === "object" && payload !== null ? payload : null;
  } catch {
    return null;
  }
}
