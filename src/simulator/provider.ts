// The OpenID Provider: panva's oidc-provider configured to behave like ID-porten (DESIGN §1, §5).
// Each setting below that departs from oidc-provider's defaults says which ID-porten behaviour
// it reproduces.

import type { JWK } from "jose";
import { ACR_VALUES } from "./acr.ts";
import type { SimulatorStore } from "./adapter.ts";
import { AUTH_METHODS, ClientRegistry, OIDC_SCOPES, providerClientMetadata, scopesOf } from "./clients.ts";
import { correlationIdOf, idportenErrorBody } from "./errors.ts";
import { requestedLoginHint } from "./login-hint.ts";
import { localeFor, type LoginRecords } from "./login-record.ts";
import type { AdapterPayload, Grant, Interaction, OidcProviderModule, Provider, ProviderContext, TokenModel } from "./oidc-types.ts";
import { renderErrorPage, renderLogoutPage, renderLoggedOutPage } from "./pages.ts";
import { isSyntheticPid, maskPid } from "./persons.ts";
import { withReuseGrace } from "./reuse-grace.ts";
import { freshLoginReason, simulatorOnlyReason } from "./sso.ts";
import type { PairwiseSubject } from "./subjects.ts";
import type { SimulatorClient, SimulatorLifetimes, SimulatorSettings } from "./types.ts";

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

/** The endpoints whose errors are ID-porten's JSON body with a correlation id (oidc-provider's route names). */
const JSON_ERROR_ROUTES = new Set(["token", "revocation", "pushed_authorization_request"]);

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

function notExpired(payload: AdapterPayload | undefined): AdapterPayload | undefined {
  return payload && (payload.exp === undefined || payload.exp > Date.now() / 1000) ? payload : undefined;
}

export interface ProviderSetup {
  issuer: string;
  clients: SimulatorClient[];
  /** The clients given at start and those registered at run time (control API); read on every use. */
  registry?: ClientRegistry;
  /** Read on every use: the control API changes it for what is issued afterwards. */
  lifetimes: SimulatorLifetimes;
  /** Read on every use, like the lifetimes. */
  settings: SimulatorSettings;
  store: SimulatorStore;
  signingKey: JWK;
  cookieKeys: string[];
  pairwiseSubject: PairwiseSubject;
  loginRecords: LoginRecords;
  log: (line: string) => void;
}

export async function createProvider(setup: ProviderSetup): Promise<Provider> {
  const { issuer, clients, lifetimes, settings, store, loginRecords, log } = setup;
  const { default: OidcProvider, errors, interactionPolicy } = await loadOidcProvider();
  const registry = setup.registry ?? new ClientRegistry(clients);

  // The SSO session answers a request silently unless it asks for a login (prompt=login, max_age:
  // oidc-provider's own checks) or the simulator's: a login_hint naming someone else, or a higher
  // level than the session has (sso.ts).
  const policy = interactionPolicy.base();
  policy.get("login")?.checks.push(
    new interactionPolicy.Check("simulator_sso", "the browser's session cannot answer this request (login_hint or a higher acr)", "login_required",
      simulatorOnlyReason),
  );

  const epochSeconds = () => Math.floor(Date.now() / 1000);

  const provider = new OidcProvider(issuer, {
    adapter: (model: string) => {
      const adapter = store.adapterFor(model);
      // A client id it was not started with: one registered at run time (control API), as Digdir's self-service adds one.
      if (model === "Client") {
        return { ...adapter, find: async (id: string) => { const client = registry.registered(id); return client ? (providerClientMetadata(client) as AdapterPayload) : undefined; } };
      }
      // oidc-provider allows its clockTolerance (15 s) on every expiry, meant for other parties'
      // clocks; the SSO session is the simulator's own and ends on time.
      if (model === "Session") return { ...adapter, find: async (id: string) => notExpired(await adapter.find(id)) };
      if (model !== "RefreshToken") return adapter;
      return withReuseGrace(adapter, () => settings.refreshReuseGraceSeconds, () =>
        log(`token: a rotated refresh token is presented within the reuse grace (${settings.refreshReuseGraceSeconds} s)`));
    },
    clients: clients.map(providerClientMetadata),
    clientAuthMethods: [...AUTH_METHODS],
    // ID-porten wants redirect_uri at the token endpoint too, equal to the one at authorize.
    allowOmittingSingleRegisteredRedirectUri: false,
    acrValues: [...ACR_VALUES],
    scopes: [...OIDC_SCOPES],
    subjectTypes: ["pairwise"],
    pairwiseIdentifier: async (_ctx: ProviderContext, accountId: string, client: { clientId: string }) =>
      setup.pairwiseSubject(client.clientId, accountId),
    responseTypes: ["code"],
    // ID-porten's id_token: pid, the login's acr, amr and auth_time, the locale asked for and the
    // session's sid, whatever the client asked for (so all under the openid scope).
    claims: {
      openid: ["sub", "pid", "locale", "sid", "acr", "amr", "auth_time"],
      acr: null,
      amr: null,
      auth_time: null,
      iss: null,
      sid: null,
    },
    // ID-porten puts pid in the id_token although an access token is issued as well.
    conformIdTokenClaims: false,
    // ID-porten refuses a scope the client is not registered for (at /authorize and at PAR);
    // oidc-provider would ignore it. extraParams validators run for every such request.
    extraParams: {
      scope: async (ctx: ProviderContext, value: string | undefined) => {
        const client = ctx.oidc.client && registry.get(ctx.oidc.client.clientId);
        if (!client || !value) return;
        const registered = scopesOf(client);
        const refused = value.split(" ").filter((scope) => scope && !registered.includes(scope));
        if (refused.length > 0) {
          log(`authorize: invalid_scope, client ${client.clientId} is not registered for ${refused.join(" ")}`);
          throw new errors.InvalidScope("requested scope is not registered for the client", refused.join(" "));
        }
      },
    },
    cookies: { keys: setup.cookieKeys },
    jwks: { keys: [setup.signingKey] },
    routes: ROUTES,
    pkce: { required: () => true }, // oidc-provider 9 knows only S256, as ID-porten
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      // Advertised in discovery, accepted for every client, required of none (as ID-porten).
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      // Revoking a refresh token ends the whole grant: oidc-provider revokes the grant with it.
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
            scope: registry.resourceScopes().join(" "),
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
      url: async (ctx: ProviderContext, interaction: Interaction) => {
        // A pushed request's parameters do not hold a login_hint appended to the /authorize URL;
        // keep it with the interaction, so the login page sees it (login-hint.ts).
        const hint = requestedLoginHint(ctx);
        if (hint !== undefined && interaction.params.login_hint === undefined) {
          interaction.params.login_hint = hint;
          await interaction.save(Math.max(1, interaction.exp - epochSeconds()));
        }
        return `${LOGIN_PATH}/${interaction.uid}`;
      },
    },
    findAccount: async (_ctx: ProviderContext, sub: string, token?: TokenModel) => {
      if (!isSyntheticPid(sub)) return undefined;
      return {
        accountId: sub,
        claims: async () => {
          const record = await loginRecords.find(token?.grantId);
          return { sub, pid: sub, locale: record?.locale, sid: record?.sid };
        },
      };
    },
    // Consent is never asked: the grant is made with the requested scopes (registered ones only,
    // see extraParams) once the person has logged in for this request, or silently from the SSO
    // session. A new grant per authorization: its authorization lifetime starts there.
    loadExistingGrant: async (ctx: ProviderContext): Promise<Grant | undefined> => {
      const client = ctx.oidc.client;
      const accountId = ctx.oidc.result?.login?.accountId ?? (freshLoginReason(ctx) === undefined ? ctx.oidc.session.accountId : undefined);
      // Not yet: this request's login comes first (no grant is made for it before, and left behind).
      if (!accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId, clientId: client.clientId });
      const requested = String(ctx.oidc.params?.scope ?? "").split(" ");
      if (requested.includes("openid")) grant.addOIDCScope("openid");
      const resourceServerScopes = registry.resourceScopes();
      const resource = requested.filter((scope) => resourceServerScopes.includes(scope));
      if (resource.length > 0) grant.addResourceScope(RESOURCE, resource.join(" "));
      const grantId = await grant.save();
      ctx.oidc.session.ensureClientContainer(client.clientId);
      const record = { locale: localeFor(ctx.oidc.params?.ui_locales as string | undefined), sid: ctx.oidc.session.sidFor(client.clientId) };
      await loginRecords.save(grantId, record, lifetimes.authorizationSeconds);
      return grant;
    },
    // Refresh tokens without offline_access, for every client allowed the refresh_token grant, and
    // not tied to the browser session (oidc-provider's defaults do neither).
    issueRefreshToken: async (_ctx: ProviderContext, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    // One-time refresh tokens: every refresh returns a new one. oidc-provider also treats reuse of
    // a spent one as theft and revokes the whole grant (after the reuse grace, reuse-grace.ts).
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
      // The SSO session, counted from its login (a silent login does not extend it).
      Session: (_ctx: ProviderContext, session?: { loginTs?: number }) =>
        Math.max(1, lifetimes.sessionSeconds - (session?.loginTs ? epochSeconds() - session.loginTs : 0)),
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
      if (JSON_ERROR_ROUTES.has(ctx.oidc?.route)) {
        ctx.body = out; // these endpoints answer JSON, whatever the Accept header prefers
        return;
      }
      ctx.type = "html";
      ctx.body = renderErrorPage(out.error ?? "server_error", out.error_description);
    },
  });

  // Trust X-Forwarded-*: the dispatcher sets them from the issuer, so endpoints are always
  // advertised under the issuer however the simulator is reached (127.0.0.1, a container port).
  provider.proxy = true;

  const recordError = (ctx: ProviderContext, error?: { error_detail?: string; message?: string }) => {
    ctx.state.errorDetail = error?.error_detail ?? error?.message;
  };
  provider.on("grant.error", recordError);
  provider.on("revocation.error", recordError);
  provider.on("pushed_authorization_request.error", recordError);
  provider.on("grant.success", (ctx) => {
    const accountId = ctx.oidc.entities.Grant?.accountId;
    log(`token: ${String(ctx.oidc.params?.grant_type)} for ${accountId ? maskPid(accountId) : "?"}, client ${ctx.oidc.client?.clientId}`);
  });
  provider.on("server_error", (ctx, error) => log(`server error on ${ctx.method} ${ctx.path}: ${error?.message}`));

  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (!JSON_ERROR_ROUTES.has(route)) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.status >= 400 && typeof body?.error === "string") {
      // ID-porten's error body: the description is the error again with a correlation id.
      const rewritten = idportenErrorBody(body.error);
      ctx.body = rewritten;
      const detail = ctx.state.errorDetail ?? body.error_description;
      const label = route === "pushed_authorization_request" ? "par" : route;
      log(`${label}: ${body.error}${detail ? ` (${String(detail)})` : ""}, correlation id ${correlationIdOf(rewritten)}`);
    } else if (route === "token" && ctx.status === 200 && body?.id_token && typeof body.scope === "string") {
      // The access token carries only the resource scopes; ID-porten's answer lists openid too.
      const scopes = body.scope.split(" ").filter((scope) => scope && scope !== "openid");
      ctx.body = { ...body, scope: ["openid", ...scopes].join(" ") };
    }
  });

  return provider;
}
