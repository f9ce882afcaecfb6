// The OpenAPI 3.1 document, generated from the routes' own schemas (createRoute in each OpenAPIHono
// sub-app, gathered by the root app), and the routes that serve it: /openapi.json, /docs, /docs.css.
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { DOCS_CSS, docsPage } from "./docs-page.tsx";

const DESCRIPTION = [
  "Drives the ID-porten → Altinn authorization that VAT-return (mva-melding) submission needs, and hands out valid Altinn tokens (and the ID-porten access token) to the user who authorized.",
  'Everything under /api needs "Authorization: Bearer <token>". Every error is application/problem+json (RFC 9457) whose type names the kind of problem (https://authflow.dev/problems/<code>) and whose detail says what to do.',
].join("\n\n");

export const BEARER_SCHEME = {
  type: "http",
  scheme: "bearer",
  description:
    "API_TOKEN (the client \"api-token\"), or the token of a client in API_CLIENTS — each client acts only within its reach (its legal entities and users); `npm run api-client` makes one.",
} as const;

type AnyOpenAPIHono = OpenAPIHono<any, any, any>;

/** The browser's pages, served by plain routes: described here so the document names every route. */
function browserPaths(callbackPath: string) {
  const html = (description: string) => ({ description, content: { "text/html": { schema: { type: "string" } } } });
  const page = (summary: string, responses: Record<string, unknown>, parameters: unknown[] = []) => ({
    get: { tags: ["Browser"], summary, security: [], ...(parameters.length ? { parameters } : {}), responses },
  });
  return {
    "/": page("The Web applications page when the server has it, else on to /docs", { 200: html("The page."), 302: { description: "On to /docs (or to sign in)." } }),
    "/inspect": page("The live viewer of flows and their machine (signs in with an API token)", { 200: html("The viewer page.") }),
    "/login/{loginId}": page(
      "The login link (a flow's authorizationUrl): binds this browser to the login (a cookie) and sends it on to ID-porten",
      { 302: { description: "On to ID-porten." }, 400: html("Not a login link."), 403: html("The link was opened by another browser already."), 404: html("No such login (ended, or never made).") },
      [
        { name: "loginId", in: "path", required: true, description: "The flow id and the link's secret, as authorizationUrl holds them.", schema: { type: "string" } },
        { name: "login_hint", in: "query", required: false, description: "Passed on to ID-porten (the simulator logs that synthetic person in).", schema: { type: "string" } },
      ],
    ),
    [callbackPath]: page(
      "The redirect URI: ID-porten sends the browser back here; the page tells the truth about this login, in the login's language",
      { 200: html("Success, code received, logged in (Altinn step waits), or what went wrong."), 400: html("What went wrong, in words."), 403: html("Not the browser that opened the login link.") },
      [
        { name: "code", in: "query", required: false, schema: { type: "string" } },
        { name: "state", in: "query", required: false, schema: { type: "string" } },
        { name: "error", in: "query", required: false, schema: { type: "string" } },
        { name: "error_description", in: "query", required: false, schema: { type: "string" } },
        { name: "iss", in: "query", required: false, schema: { type: "string" } },
      ],
    ),
  };
}

const documents = new WeakMap<AnyOpenAPIHono, Record<string, any>>();

/** The document of everything mounted on `app` (made once: the routes do not change after start). */
export function openApiDocument(app: AnyOpenAPIHono, options: { callbackPath?: string } = {}): Record<string, any> {
  const made = documents.get(app);
  if (made) return made;
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", BEARER_SCHEME);
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "authflow", version: "0.1.0", description: DESCRIPTION },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    tags: [
      { name: "Flows", description: "Create, list and drive authorization flows; ask for tokens." },
      { name: "Machines", description: "The registered state machines." },
      { name: "Clock", description: "The simulated clock (SIMULATED_CLOCK=on)." },
      { name: "Health", description: "Liveness and readiness (no token)." },
      { name: "Documentation", description: "This document and its page." },
      { name: "Browser", description: "Pages a person opens." },
    ],
  }) as Record<string, any>;
  // Pages served by plain routes join the document unless a route of their own already describes them.
  for (const [path, item] of Object.entries(browserPaths(options.callbackPath ?? "/callback"))) document.paths[path] ??= item;
  documents.set(app, document);
  return document;
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'";

/** /openapi.json, /docs and /docs.css, for the document of `root()` (read when first asked, once every route is mounted). */
export function docsRoutes(root: () => AnyOpenAPIHono, options: { callbackPath?: string } = {}) {
  const app = new OpenAPIHono();
  const document = () => openApiDocument(root(), options);
  const tags = ["Documentation"];
  app.openapi(
    createRoute({
      method: "get",
      path: "/openapi.json",
      tags,
      summary: "This OpenAPI 3.1 document, generated from the routes' schemas",
      security: [],
      responses: { 200: { description: "The OpenAPI document.", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } } },
    }),
    (c) => c.json(document(), 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/docs",
      tags,
      summary: "This document as a page: every operation, its parameters, bodies and responses, and the schemas",
      security: [],
      responses: { 200: { description: "The page (no script; its stylesheet is /docs.css).", content: { "text/html": { schema: z.string() } } } },
    }),
    (c) => c.html(docsPage(document()), 200, { "content-security-policy": CSP }) as never,
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/docs.css",
      tags,
      summary: "The docs page's stylesheet",
      security: [],
      responses: { 200: { description: "CSS.", content: { "text/css": { schema: z.string() } } } },
    }),
    (c) => c.body(DOCS_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }) as never,
  );
  return app;
}
