// The HTTP face of the service (DESIGN §4): createApp(deps) with sub-apps mounted by app.route(),
// so tests call app.request() with no port. Only onError turns errors into HTTP.
import { ApiApp } from "./api-app.ts";
import { bodyLimit } from "hono/body-limit";
import type { SimulatedClock } from "../clock.ts";
import type { AuthorizationService } from "../flows/authorization-service.ts";
import { bearerAuth, type ApiEnv } from "./bearer-auth.ts";
import type { ApiClient, Sha256 } from "../identity/api-clients.ts";
import { callbackRoutes, loginLinkRoutes } from "./callback-page.ts";
import type { ShutdownSignal } from "../lifecycle/shutdown-signal.ts";
import { clockRoutes } from "./clock-routes.ts";
import { flowsRoutes } from "./flows-routes.ts";
import { machinesRoutes } from "./machines-routes.ts";
import { integrationsRoutes } from "./integrations-routes.ts";
import type { IntegrationService } from "../integrations/integration-types.ts";
import type { RegisteredMachine } from "../engine/machine-registry.ts";
import { viewerAsset, viewerPage } from "../viewer/viewer-page.ts";
import { docsRoutes } from "./openapi.ts";
import { healthzRoute, readyzRoute } from "./schemas/health.ts";
import { AuthflowError } from "../errors.ts";
import { errorHandler, problem } from "./problem.ts";
import { validationHook } from "./validate.ts";
import { webRoutes, type WebDeps } from "../web/web-routes.tsx";
import { securityHeaders } from "./security-headers.ts";
import { loggablePath } from "./loggable-path.ts";
import { allowedMethods } from "./allowed-methods.ts";

export { loggablePath };

export interface AppDeps {
  service: AuthorizationService;
  /** The integrations (issue 10 §5): /api/integrations. */
  integrations?: IntegrationService;
  /** The API's callers: API_CLIENTS and API_TOKEN's client. */
  apiClients: readonly ApiClient[];
  /** The runtime's SHA-256 for the bearer check (WebCrypto when absent). */
  sha256?: Sha256;
  /** Path of the redirect URI on this server (from configuration, e.g. "/callback"). */
  callbackPath: string;
  /** The simulated clock, or null when time is real. */
  clock: SimulatedClock | null;
  settled: () => Promise<void>;
  /** The registered machines, for /api/machines and the viewer. */
  machines: () => RegisteredMachine[];
  log: (line: string) => void;
  /** What GET /readyz reports; without it /readyz answers as /healthz does. */
  readiness?: () => Promise<Readiness>;
  /** Fires when the process begins to stop: open SSE streams end on it. */
  shutdown?: ShutdownSignal;
  /** The login cookie is Secure when the public URL is https. */
  secureCookies?: boolean;
  /** The callback's path as the browser sees it (PUBLIC_URL's path prefix included): the login cookie's path. */
  cookiePath?: string;
  /** The Web applications page (sign-in, authorizations, integrations); without it "/" goes to /docs. */
  web?: WebDeps;
  /** Origins the page's forms may end up at (ID-porten issuers: "Get authorization code" goes on there). */
  formTargets?: () => Promise<string[]>;
}

/** Named checks (e.g. store open, DATA_DIR lock held, provider reached): plain words, no secrets. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

const MAX_BODY_BYTES = 64 * 1024;

export function createApp(deps: AppDeps) {
  // ApiApp (OpenAPIHono, each route's request checked in one step) throughout: the routes declared
  // with createRoute (here and in every mounted sub-app) make the document at /openapi.json.
  const app = new ApiApp({ defaultHook: validationHook });
  app.onError(errorHandler(deps.log, { base: deps.web?.basePath ?? "" }));
  // Access log without query strings (the callback's query holds a one-time code) and without the
  // login link's secret part (whoever read it could open the link first and bind their browser).
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    deps.log(`${c.req.method} ${loggablePath(c.req.url)} ${c.res.status} ${Math.round(performance.now() - started)} ms`);
  });
  app.notFound((c) => {
    const allowed = allowedMethods(app.routes, new URL(c.req.url).pathname);
    if (allowed.length === 0 || allowed.includes(c.req.method)) return problem(404, `Nothing here: ${c.req.method} ${loggablePath(c.req.url)}. The API is described at /docs.`);
    const refused = problem(405, `${loggablePath(c.req.url)} does not take ${c.req.method}; it takes ${allowed.join(", ")}. The API is described at /docs.`);
    refused.headers.set("allow", allowed.join(", "));
    return refused;
  });

  // Liveness: the process answers. Readiness: it can do its work, so a load balancer or a
  // supervisor sends traffic only then (and stops once shutdown begins). Neither needs the token.
  app.openapi(healthzRoute, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(readyzRoute, async (c) => {
    if (!deps.readiness) return c.json({ status: "ok" as const }, 200);
    let readiness: Readiness;
    try {
      readiness = await deps.readiness();
    } catch (error) {
      deps.log(`readiness check failed: ${(error as Error)?.message ?? error}`);
      throw new AuthflowError("not_ready", 503, "The readiness checks could not be run; the server log says why.", { extra: { checks: {} } });
    }
    if (readiness.ready) return c.json({ status: "ready" as const, checks: readiness.checks }, 200);
    const failing = Object.entries(readiness.checks).filter(([, check]) => !check.ok).map(([name]) => name);
    throw new AuthflowError("not_ready", 503, `Not ready: ${failing.join(", ") || "not yet"}.`, { extra: { checks: readiness.checks } });
  });
  // Secure headers on every answer; on HTML a policy with no inline script and no framing.
  app.use(securityHeaders(deps.formTargets ?? (async () => [])));
  // /openapi.json, /docs and /docs.css (after securityHeaders: /docs gets the pages' headers): the
  // document of every route mounted here, made when first asked.
  app.route("/", docsRoutes(() => app, { callbackPath: deps.callbackPath }));
  if (!deps.web) app.get("/", (c) => c.redirect("/docs"));
  // The viewer page holds no data: it signs in with the API token and reads /api.
  app.get("/inspect", (c) => c.html(viewerPage()));
  app.get("/inspect/viewer.js", () => viewerAsset("viewer.js"));
  app.get("/inspect/viewer.css", () => viewerAsset("viewer.css"));
  app.route(deps.callbackPath, callbackRoutes(deps.service, deps.web?.basePath ?? ""));
  app.route("/login", loginLinkRoutes(deps.service, { cookiePath: deps.cookiePath ?? deps.callbackPath, secure: deps.secureCookies ?? false, base: deps.web?.basePath ?? "" }));

  // Sub-apps without a validation hook of their own use this one (a 400 problem naming each field).
  const api = new ApiApp<ApiEnv>({ defaultHook: validationHook });
  api.use(bearerAuth(deps.apiClients, deps.sha256));
  // Bodies over 64 KiB get 413. A declared Content-Length is checked as a number; only a body
  // without one (chunked) goes through hono's bodyLimit, which must read the stream — on Node that
  // builds a whole web Request per call, half the CPU of a token call (measured: bench/profile-token.ts).
  const streamedLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => tooLarge() });
  const tooLarge = () => problem(413, `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);
  api.use(async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared !== undefined && /^\d+$/.test(declared)) return Number(declared) > MAX_BODY_BYTES ? tooLarge() : next();
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    return streamedLimit(c, next);
  });
  api.route("/flows", flowsRoutes(deps.service, deps.shutdown));
  api.route("/clock", clockRoutes(deps.clock, deps.settled));
  api.route("/machines", machinesRoutes(deps.machines));
  if (deps.integrations) api.route("/integrations", integrationsRoutes(deps.integrations));
  app.route("/api", api);
  if (deps.web) app.route("/", webRoutes(deps.web));
  return app;
}
