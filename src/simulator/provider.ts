// The OpenID Provider: panva's oidc-provider configured to behave like ID-porten (DESIGN §1, §5).
// Each setting below that departs from oidc-provider's defaults says which ID-porten behaviour
// it reproduces.

import type { JWK } from "jose";
import type { SimulatorStore } from "./adapter.ts";
import type { Grant, OidcProviderModule, Provider, ProviderContext, TokenModel } from "./oidc-types.ts";
import { renderErrorPage, renderLogoutPage, renderLoggedOutPage } from "./pages.ts";
import { isSyntheticPid, maskPid } from "./persons.ts";
import type { SimulatorClient, SimulatorLifetimes } from "./types.ts";

export const ROUTES = {
  authorization: "/authorize",
  token: "/token",
  jwks: "/jwks",
  userinfo: "/userinfo",
  end_session: "/endsession",
  revocation: "/revoke",
  pushed_authorization_request: "/par",
} as const;

export const LOGIN_PATH = "/login";

export const ACR_SUBSTANTIAL = "idporten-loa-substantial";
export const ACR_HIGH = "idporten-loa-high";

/** The VAT scopes: resource scopes, carried by the JWT access token (openid is the one OIDC scope). */
export const RESOURCE_SCOPES = [
  "skatteetaten:mvameldinginnsending",
  "skatteetaten:mvameldingvalidering",
  "altinn:instances.read",
  "altinn:instances.write",
] as const;

/**
 * oidc-provider only issues JWT access tokens for a resource server, so every token is for this one.
 * ID-porten sets `aud` to "unspecified" when the client asked for no audience-restricted token.
 */
const RESOURCE = "urn:authflow:simulator:idporten-api";
const AUDIENCE = "unspecified";

/** ID-porten's documented id_token example lives 120 seconds. */
const ID_TOKEN_SECONDS = 120;
/** How long a person has to pick someone on the login page. */
const INTERACTION_SECONDS = 3600;

let loading: Promise<OidcProviderModule> | undefined;

/**
 * oidc-provider 9 prints "oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS…" when
 * its module loads on anything but Node ≥ 22 LTS — Node 20 and Deno 2 included, where this project
 * runs and is tested. It would be the first line a newcomer sees at start-up, so that one warning,
 * and only it, is dropped while the module loads. Loaded once; every use goes through here.
 */
export function loadOidcProvider(): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (!String(args[0]).includes("oidc-provider WARNING: Unsupported runtime")) warn.apply(console, args);
    };
    try {
      return (await import("oidc-provider")) as OidcProviderModule;
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}

export interface ProviderSetup {
  issuer: string;
  clients: SimulatorClient[];
  /** Read on every use: the control API changes it for what is issued afterwards. */
  lifetimes: SimulatorLifetimes;
  store: SimulatorStore;
  signingKey: JWK;
  cookieKeys: string[];
  log: (line: string) => void;
}

export async function createProvider(setup: ProviderSetup): Promise<Provider> {
  const { issuer, lifetimes, store, log } = setup;
  const { default: OidcProvider, errors, interactionPolicy } = await loadOidcProvider();

  // No single sign-on: every authorization request asks who logs in (or takes login_hint), so a
  // tester can be someone else each time. The check is satisfied once this request's login is done.
  const policy = interactionPolicy.base();
  policy.get("login")?.checks.push(
    new interactionPolicy.Check("simulator_login", "the simulator asks who logs in on every authorization", "login_required",
      (ctx) => !ctx.oidc.result?.login),
  );

  const epochSeconds = () => Math.floor(Date.now() / 1000);

  const provider = new OidcProvider(issuer, {
    adapter: (model: string) => store.adapterFor(model),
    clients: setup.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      // What Dynamics registers; oidc-provider accepts client_secret_basic for it as well.
      token_endpoint_auth_method: "client_secret_post",
    })),
    clientAuthMethods: ["client_secret_post", "client_secret_basic"],
    // ID-porten wants redirect_uri at the token endpoint too, equal to the one at authorize.
    allowOmittingSingleRegisteredRedirectUri: false,
    acrValues: [ACR_SUBSTANTIAL, ACR_HIGH],
    scopes: ["openid"],
    responseTypes: ["code"],
    claims: { openid: ["sub", "pid"], acr: null, auth_time: null, iss: null, sid: null },
    // ID-porten puts pid in the id_token although an access token is issued as well.
    conformIdTokenClaims: false,
    cookies: { keys: setup.cookieKeys },
    jwks: { keys: [setup.signingKey] },
    routes: ROUTES,
    pkce: { required: () => true }, // oidc-provider 9 knows only S256, as ID-porten
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      revocation: {
        enabled: true,
        // A client may revoke only its own tokens (oidc-provider's rule, without its start-up notice).
        allowedPolicy: async (_ctx: ProviderContext, client: { clientId: string }, token: { clientId?: string }) => {
          if (token.clientId !== client.clientId) throw new errors.InvalidRequest("client is not authorized to revoke the presented token");
          return true;
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: ProviderContext, form: string) => {
          ctx.type = "html";
          ctx.body = renderLogoutPage(form);
        },
        postLogoutSuccessSource: async (ctx: ProviderContext) => {
          ctx.type = "html";
          ctx.body = renderLoggedOutPage();
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: ProviderContext, _client: unknown, oneOf?: string | string[]) => oneOf ?? RESOURCE,
        // Keep issuing JWT access tokens for the resource at the token endpoint, openid or not.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: ProviderContext, indicator: string) => {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: RESOURCE_SCOPES.join(" "),
            audience: AUDIENCE,
            accessTokenFormat: "jwt",
            accessTokenTTL: lifetimes.accessTokenSeconds,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    interactions: {
      policy,
      url: async (_ctx: ProviderContext, interaction: { uid: string }) => `${LOGIN_PATH}/${interaction.uid}`,
    },
    findAccount: async (_ctx: ProviderContext, sub: string) =>
      isSyntheticPid(sub) ? { accountId: sub, claims: async () => ({ sub, pid: sub }) } : undefined,
    // Consent is never asked: the grant is made with the requested VAT scopes once the person has
    // logged in for this request. A new grant per login: the authorization lifetime starts there.
    loadExistingGrant: async (ctx: ProviderContext): Promise<Grant | undefined> => {
      const login = ctx.oidc.result?.login;
      const client = ctx.oidc.client;
      if (!login || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId: login.accountId, clientId: client.clientId });
      const requested = String(ctx.oidc.params?.scope ?? "").split(" ");
      if (requested.includes("openid")) grant.addOIDCScope("openid");
      const resourceScopes = requested.filter((scope) => (RESOURCE_SCOPES as readonly string[]).includes(scope));
      if (resourceScopes.length > 0) grant.addResourceScope(RESOURCE, resourceScopes.join(" "));
      await grant.save();
      return grant;
    },
    // Refresh tokens without offline_access, for every client allowed the refresh_token grant, and
    // not tied to the browser session (oidc-provider's defaults do neither).
    issueRefreshToken: async (_ctx: ProviderContext, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    // One-time refresh tokens: every refresh returns a new one. oidc-provider also treats reuse of
    // a spent one as theft and revokes the whole grant.
    rotateRefreshToken: true,
    extraTokenClaims: async (ctx: ProviderContext | undefined, token: TokenModel) => {
      if (token.kind !== "AccessToken") return undefined;
      const source = ctx?.oidc.entities.RefreshToken ?? ctx?.oidc.entities.AuthorizationCode;
      return { pid: token.accountId, acr: source?.acr };
    },
    ttl: {
      AccessToken: () => lifetimes.accessTokenSeconds,
      AuthorizationCode: () => lifetimes.codeSeconds,
      Grant: () => lifetimes.authorizationSeconds,
      Session: () => lifetimes.authorizationSeconds,
      IdToken: () => ID_TOKEN_SECONDS,
      Interaction: () => INTERACTION_SECONDS,
      // Inactivity lifetime, but never past the grant: at the end of the authorization lifetime
      // the refresh token dies with it and the person must log in again.
      RefreshToken: (ctx: ProviderContext | undefined) => {
        const grantExp = ctx?.oidc.entities.Grant?.exp;
        const grantLeft = grantExp ? grantExp - epochSeconds() : lifetimes.authorizationSeconds;
        return Math.max(1, Math.min(lifetimes.refreshTokenSeconds, grantLeft));
      },
    },
    renderError: async (ctx: ProviderContext, out: Record<string, string>) => {
      if (ctx.oidc?.route === "token") {
        ctx.body = out; // the token endpoint answers JSON, whatever the Accept header prefers
        return;
      }
      ctx.type = "html";
      ctx.body = renderErrorPage(out.error ?? "server_error", out.error_description);
    },
  });

  // Trust X-Forwarded-*: the dispatcher sets them from the issuer, so endpoints are always
  // advertised under the issuer however the simulator is reached (127.0.0.1, a container port).
  provider.proxy = true;

  provider.on("grant.error", (ctx, error) => {
    ctx.state.errorDetail = error?.error_detail ?? error?.message;
  });
  provider.on("grant.success", (ctx) => {
    const accountId = ctx.oidc.entities.Grant?.accountId;
    log(`token: ${String(ctx.oidc.params?.grant_type)} for ${accountId ? maskPid(accountId) : "?"}, client ${ctx.oidc.client?.clientId}`);
  });
  provider.on("server_error", (ctx, error) => log(`server error on ${ctx.method} ${ctx.path}: ${error?.message}`));

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== "token") return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.status >= 400 && typeof body?.error === "string") {
      // ID-porten's error body: the description is the error again with a correlation id.
      const correlationId = crypto.randomUUID();
      ctx.body = { error: body.error, error_description: `${body.error} (correlation id: ${correlationId})` };
      const detail = ctx.state.errorDetail ?? body.error_description;
      log(`token: ${body.error}${detail ? ` (${String(detail)})` : ""}, correlation id ${correlationId}`);
    } else if (ctx.status === 200 && body?.id_token && typeof body.scope === "string") {
      // The access token carries only the resource scopes; ID-porten's answer lists openid too.
      const scopes = body.scope.split(" ").filter((scope) => scope && scope !== "openid");
      ctx.body = { ...body, scope: ["openid", ...scopes].join(" ") };
    }
  });

  return provider;
}
