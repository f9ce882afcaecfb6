// The OpenAPI 3.1 document for /api, and a docs page rendered from it (no external assets).
import { escapeHtml, page } from "./html.ts";
import { PUBLIC_EVENTS, TOP_STATES } from "../machines/authorization-types.ts";

const problem = { description: "Problem details (RFC 9457)", content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } };
const flow = { description: "The flow view", content: { "application/json": { schema: { $ref: "#/components/schemas/Flow" } } } };
const idParam = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "authflow",
    version: "0.1.0",
    description:
      "Drives the ID-porten → Altinn authorization that VAT-return (mva-melding) submission needs, and hands out valid Altinn tokens to the user who authorized.",
  },
  servers: [{ url: "/" }],
  security: [{ bearer: [] }],
  paths: {
    "/healthz": { get: { summary: "Liveness", security: [], responses: { 200: { description: '{"status":"ok"}' } } } },
    "/api/flows": {
      post: {
        summary: "Create a flow for a legal entity",
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["legalEntity"],
                properties: { legalEntity: { type: "string", pattern: "^\\d{9}$", description: "Organisation number (MOD11)" }, integration: { type: "string" } },
              },
            },
          },
        },
        responses: { 201: flow, 400: problem, 401: problem, 413: problem, 422: problem },
      },
      get: {
        summary: "List flows",
        parameters: [
          { name: "legalEntity", in: "query", schema: { type: "string" } },
          { name: "state", in: "query", schema: { type: "string", enum: TOP_STATES } },
        ],
        responses: { 200: { description: "{ flows: Flow[] }" }, 401: problem },
      },
    },
    "/api/flows/{id}": { get: { summary: "A flow's view", parameters: [idParam], responses: { 200: flow, 401: problem, 404: problem } } },
    "/api/flows/{id}/events": {
      post: {
        summary: "Send an event",
        description:
          "AUTHORIZE {user, uiLocale?, acr?} starts a login and returns authorizationUrl; EXCHANGE_CODE {user} exchanges a kept code (manual mode); EXCHANGE_ALTINN {user} gets the Altinn token; RENEW {user} renews now; REVOKE {user} drops the authorization.",
        parameters: [idParam],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["type", "user"],
                properties: {
                  type: { type: "string", enum: PUBLIC_EVENTS },
                  user: { type: "string", minLength: 1, maxLength: 128 },
                  uiLocale: { type: "string", enum: ["nb", "nn", "en", "se"] },
                  acr: { type: "string", enum: ["idporten-loa-substantial", "idporten-loa-high"] },
                },
              },
            },
          },
        },
        responses: { 200: flow, 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 422: problem },
      },
    },
    "/api/flows/{id}/token": {
      post: {
        summary: "A valid Altinn token for the bound user (renewed first when needed)",
        parameters: [idParam],
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", required: ["user"], properties: { user: { type: "string" } } } } } },
        responses: {
          200: { description: "{ altinnToken, expiresAt }" },
          403: problem,
          404: problem,
          409: problem,
          503: problem,
        },
      },
    },
    "/api/flows/{id}/audit": {
      get: { summary: "A flow's audit trail: when, from, to, event, acting user", parameters: [idParam], responses: { 200: { description: "{ transitions }" }, 404: problem } },
    },
    "/api/flows/{id}/stream": {
      get: {
        summary: "Server-sent events: the flow view and its recent transitions, now and after every change",
        parameters: [idParam],
        responses: { 200: { description: "text/event-stream; events `flow` ({view, audit}) and `ping`" }, 404: problem },
      },
    },
    "/api/machines": { get: { summary: "The registered machines", responses: { 200: { description: "{ machines: [{name, version, id, states}] }" } } } },
    "/api/machines/{name}": {
      get: {
        summary: "A machine's definition: JSON for Stately Studio (guards and actions by name), its graph, the viewer's SVG diagram, or Mermaid",
        parameters: [
          { name: "name", in: "path", required: true, schema: { type: "string" } },
          { name: "format", in: "query", schema: { type: "string", enum: ["json", "graph", "svg", "mermaid"] } },
        ],
        responses: { 200: { description: "JSON; image/svg+xml for svg; text/plain for mermaid" }, 400: problem, 404: problem },
      },
    },
    "/api/clock": {
      get: { summary: "Simulated time (SIMULATED_CLOCK=on)", responses: { 200: { description: "{ now }" }, 404: problem } },
      post: {
        summary: "Advance the simulated clock; due deadlines fire before the answer",
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", required: ["advanceSeconds"], properties: { advanceSeconds: { type: "number" } } } } } },
        responses: { 200: { description: "{ now }" }, 400: problem, 404: problem },
      },
    },
    "/inspect": { get: { summary: "The live viewer (signs in with the API token)", security: [], responses: { 200: { description: "HTML page" } } } },
    "/callback": { get: { summary: "The redirect URI: ID-porten sends the browser here", security: [], responses: { 200: { description: "HTML page" }, 400: { description: "HTML page" } } } },
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API_TOKEN" } },
    schemas: {
      Problem: {
        type: "object",
        properties: { type: { type: "string" }, title: { type: "string" }, status: { type: "integer" }, detail: { type: "string" } },
      },
      Flow: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" },
          legalEntity: { type: "string" },
          state: { type: "string", enum: TOP_STATES },
          substate: { type: ["string", "null"] },
          boundUser: { type: ["string", "null"] },
          authorizationUrl: { type: ["string", "null"] },
          idporten: {
            type: ["object", "null"],
            properties: { grantedScope: { type: "string" }, accessTokenExpiresAt: { type: "string" }, pid: { type: "string", description: "first six digits" } },
          },
          altinn: { type: ["object", "null"], properties: { expiresAt: { type: "string" } } },
          authorizationExpiresAt: { type: ["string", "null"] },
          lastError: { type: ["object", "null"], properties: { error: { type: "string" }, error_description: { type: "string" }, hint: { type: "string" } } },
          updatedAt: { type: "string" },
        },
      },
    },
  },
} as const;

export function docsPage(): string {
  const rows = Object.entries(openApiDocument.paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, { summary: string; description?: string }>).map(
        ([method, op]) =>
          `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary)}${op.description ? `<br><small>${escapeHtml(op.description)}</small>` : ""}</td></tr>`,
      ),
    )
    .join("\n");
  return page(
    "API",
    `<main><h1>authflow API</h1>
<p>Everything under <code>/api</code> needs <code>Authorization: Bearer &lt;API_TOKEN&gt;</code>. Errors are <code>application/problem+json</code>.
The machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>
${rows}
</tbody></table></main>`,
  );
}
