// An independent OpenID Provider for the client tests: panva's oidc-provider configured plainly
// (not our simulator), on 127.0.0.1 with a free port. The login auto-completes as one person at a
// chosen acr, and every interaction is recorded so a test can see what reached the provider.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import { freePort } from "../support/free-port.ts";

// oidc-provider warns on load under Node < 22 (where this project also runs): drop that one line.
const { default: Provider } = await (async () => {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void (String(args[0]).includes("Unsupported runtime") || warn(...args));
  try {
    return await import("oidc-provider");
  } finally {
    console.warn = warn;
  }
})();

/** oidc-provider's adapter contract over one Map (its own in-memory adapter warns on every start). */
function mapAdapter() {
  const items = new Map<string, Record<string, any>>();
  return (model: string) => {
    const key = (id: string) => `${model}:${id}`;
    const where = (test: (payload: Record<string, any>) => boolean) => [...items.entries()].filter(([k, v]) => k.startsWith(`${model}:`) && test(v));
    return {
      upsert: async (id: string, payload: Record<string, any>) => void items.set(key(id), payload),
      find: async (id: string) => items.get(key(id)),
      findByUid: async (uid: string) => where((p) => p.uid === uid)[0]?.[1],
      findByUserCode: async (code: string) => where((p) => p.userCode === code)[0]?.[1],
      consume: async (id: string) => void Object.assign(items.get(key(id)) ?? {}, { consumed: Math.floor(Date.now() / 1000) }),
      destroy: async (id: string) => void items.delete(key(id)),
      revokeByGrantId: async (grantId: string) => {
        for (const [k, v] of [...items.entries()]) if (v.grantId === grantId) items.delete(k);
      },
    };
  };
}

export const PID = "01817010055";
export const SECRET = "a-client-secret-long-enough-for-oidc-provider";
export const REDIRECT_URI = "http://127.0.0.1:1/callback";
export const CLIENTS = { post: "post-client", basic: "basic-client", jwt: "jwt-client" } as const;

export interface TestProviderOptions {
  par?: boolean;
  revocation?: boolean;
  /** The acr the login completes with, whatever was asked. Default: the level asked for, else substantial. */
  loginAcr?: string;
}

export interface Interaction {
  prompt: { name: string; reasons: string[] };
  params: Record<string, unknown>;
}

export interface TestProvider {
  issuer: string;
  /** The private_key_jwt client's key pair (the provider holds the public half). */
  clientKey: CryptoKey;
  clientKid: string;
  interactions: Interaction[];
  /** Every request's path, in order. */
  paths: string[];
  /** Paths (e.g. "/token") that get no answer at all, or a reset connection. */
  hang: Set<string>;
  reset: Set<string>;
  close(): Promise<void>;
}

export async function startProvider(options: TestProviderOptions = {}): Promise<TestProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const signing = await generateKeyPair("RS256", { extractable: true });
  const client = await generateKeyPair("ES256", { extractable: true });
  const clientKid = "client-key-1";
  const base = { redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"] };

  const provider = new Provider(issuer, {
    adapter: mapAdapter(),
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, PushedAuthorizationRequest: 60, RefreshToken: 3600, Session: 3600 },
    clients: [
      { ...base, client_id: CLIENTS.post, client_secret: SECRET, token_endpoint_auth_method: "client_secret_post" },
      { ...base, client_id: CLIENTS.basic, client_secret: SECRET, token_endpoint_auth_method: "client_secret_basic" },
      { ...base, client_id: CLIENTS.jwt, token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [{ ...(await exportJWK(client.publicKey)), kid: clientKid, use: "sig" }] } },
    ],
    jwks: { keys: [{ ...(await exportJWK(signing.privateKey)), kid: "op", use: "sig", alg: "RS256" }] },
    cookies: { keys: ["test-cookie-key"] },
    acrValues: ["idporten-loa-substantial", "idporten-loa-high"],
    claims: { openid: ["sub", "pid", "acr", "amr", "auth_time"] }, // always in the id_token, as ID-porten does
    conformIdTokenClaims: false, // pid in the id_token, as ID-porten does
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: options.par ?? false },
      revocation: { enabled: options.revocation ?? false, allowedPolicy: async () => true },
    },
    interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub, pid: PID }) }),
    // No consent step: a grant for what was asked, for whoever is logged in (fresh login or SSO session).
    loadExistingGrant: async (ctx: any) => {
      const accountId = ctx.oidc.result?.login?.accountId ?? ctx.oidc.session?.accountId;
      if (!accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId, clientId: ctx.oidc.client.clientId });
      grant.addOIDCScope(String(ctx.oidc.params.scope));
      await grant.save();
      return grant;
    },
    issueRefreshToken: async () => true,
    rotateRefreshToken: true,
  });

  const interactions: Interaction[] = [];
  const paths: string[] = [];
  const hang = new Set<string>();
  const reset = new Set<string>();
  const callback = provider.callback();

  const login = async (req: IncomingMessage, res: ServerResponse) => {
    const details = await provider.interactionDetails(req, res);
    interactions.push({ prompt: details.prompt, params: details.params });
    const acr = options.loginAcr ?? (details.params.acr_values as string | undefined) ?? "idporten-loa-substantial";
    await provider.interactionFinished(req, res, { login: { accountId: "pairwise-sub-1", acr, amr: ["TestID"] } }, { mergeWithLastSubmission: false });
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", issuer).pathname;
    paths.push(path);
    if (hang.has(path)) return; // never answered: the client's timeout decides
    if (reset.has(path)) return req.socket.destroy();
    if (path.startsWith("/interaction/")) {
      login(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));

  return {
    issuer,
    clientKey: client.privateKey,
    clientKid,
    interactions,
    paths,
    hang,
    reset,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type CookieJar = Map<string, string>;

/** Follows redirects like a browser (with cookies), stopping at the redirect URI without fetching it. */
export async function browse(url: string, jar: CookieJar = new Map()): Promise<URL> {
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(REDIRECT_URI)) return new URL(url);
    const headers = new Headers();
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(url, { headers, redirect: "manual" });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    const location = res.headers.get("location");
    if (!location) throw new Error(`the login stopped at ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    await res.body?.cancel();
    url = new URL(location, url).toString();
  }
  throw new Error("too many redirects");
}
