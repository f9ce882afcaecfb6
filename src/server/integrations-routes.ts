// /api/integrations: list, read, add, edit and delete integrations, and their audit trail (issue 10
// §5). Every caller may read; changing needs an API client whose reach is everyone (API_TOKEN's) or
// a person signed in to the page (the service checks, 403 in words). Bodies are validated by the
// same zod schemas as the page's form; a refusal names each field and what to fix (400).
// "default" is set by environment variables: shown, never changed here (409). A client secret is
// write-only: no answer ever holds it, only `clientSecretSet`.
import { ApiApp } from "./api-app.ts";
import { createRoute, z, type Hook } from "@hono/zod-openapi";
import type { ApiEnv } from "./bearer-auth.ts";
import { invalidInput } from "../integrations/integration-service.ts";
import {
  CLIENT_AUTH_METHODS,
  EXCHANGE_MODES,
  integrationCreateSchema,
  integrationUpdateSchema,
  type IntegrationService,
} from "../integrations/integration-types.ts";

const bearer = [{ bearer: [] }];

const Problem = z
  .object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string() })
  .passthrough()
  .openapi("IntegrationProblem", { description: "RFC 9457 problem details; `detail` says what to do, `errors` names each refused field." });

const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: {
          400: "A field is refused: `detail` has one sentence per field, `errors` lists them.",
          401: "No or unknown bearer token.",
          403: "This API client may read integrations but not change them.",
          404: "No integration of that name.",
          409: '"default" is set by environment variables; a stale revision; a name taken; or flows still use it.',
        }[status] ?? "Error",
        content: { "application/problem+json": { schema: Problem } },
      },
    ]),
  );

const IntegrationViewSchema = z
  .object({
    name: z.string().openapi({ example: "acme-test" }),
    source: z.enum(["configuration", "stored"]),
    idporten: z.object({
      issuer: z.string().openapi({ example: "https://test.idporten.no" }),
      clientId: z.string(),
      clientAuth: z.enum(CLIENT_AUTH_METHODS),
      clientSecretSet: z.boolean().openapi({ description: "A client secret (or key) is held; its value is never shown." }),
      clientKeyId: z.string().nullable(),
      redirectUri: z.string(),
      registeredRedirectUris: z.array(z.string()),
      scope: z.string(),
      refreshTokenLifetimeSeconds: z.number().int().nullable(),
    }),
    altinn: z.object({ exchangeUrl: z.string() }),
    authorizationLifetimeSeconds: z.number().int(),
    loginTimeoutSeconds: z.number().int(),
    exchangeMode: z.enum(EXCHANGE_MODES),
    redirectCheck: z
      .object({ ok: z.boolean(), detail: z.string().optional() })
      .openapi({ description: "Whether the redirect URI is registered and is this server's callback URL (a warning: a login would be refused with 422 until it is)." }),
    revision: z.number().int().openapi({ description: "Send it back with an edit (body `revision`, or If-Match): a newer stored one answers 409." }),
    updatedAt: z.string().nullable(),
  })
  .openapi("Integration");

const AuditEntrySchema = z
  .object({
    at: z.string(),
    integration: z.string(),
    action: z.enum(["create", "update", "delete"]),
    client: z.string(),
    user: z.string().nullable(),
    changed: z.array(z.string()).openapi({ description: "Field names; a secret appears only by its name, never its value." }),
  })
  .openapi("IntegrationAuditEntry");

const NameParam = z.object({
  name: z.string().openapi({ param: { name: "name", in: "path" }, example: "acme-test", description: 'The integration\'s name ("default": the configured one).' }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const body = <T extends z.ZodType>(schema: T, description: string) => ({ required: true, description, content: { "application/json": { schema } } });

const listRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Integrations"],
  summary: "The integrations: the configured one (default) and the stored ones",
  security: bearer,
  responses: { 200: json(z.object({ integrations: z.array(IntegrationViewSchema) }), "Every integration, never a secret."), ...problems(401) },
});

const getRoute = createRoute({
  method: "get",
  path: "/{name}",
  tags: ["Integrations"],
  summary: "One integration, with its live redirect check",
  security: bearer,
  request: { params: NameParam },
  responses: { 200: json(IntegrationViewSchema, "The integration (ETag: its revision)."), ...problems(401, 404) },
});

const createIntegrationRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["Integrations"],
  summary: "Add an integration (an ID-porten client registered at Digdir, its Altinn exchange, the flow settings)",
  security: bearer,
  request: { body: body(integrationCreateSchema.openapi("IntegrationCreate"), "The client secret (or private key) is required and write-only.") },
  responses: { 201: json(IntegrationViewSchema, "Added."), ...problems(400, 401, 403, 409) },
});

const updateRoute = createRoute({
  method: "put",
  path: "/{name}",
  tags: ["Integrations"],
  summary: "Edit a stored integration (every field; leave the client secret out to keep the stored one — unless the issuer, client id, client authentication or exchange URL changes: then it must be entered again)",
  security: bearer,
  request: { params: NameParam, body: body(integrationUpdateSchema.openapi("IntegrationUpdate"), "Give `revision` (or If-Match) so a concurrent edit is not overwritten.") },
  responses: { 200: json(IntegrationViewSchema, "Saved."), ...problems(400, 401, 403, 404, 409) },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/{name}",
  tags: ["Integrations"],
  summary: "Delete a stored integration no flow uses",
  security: bearer,
  request: { params: NameParam },
  responses: { 204: { description: "Deleted." }, ...problems(401, 403, 404, 409) },
});

const auditRoute = createRoute({
  method: "get",
  path: "/{name}/audit",
  tags: ["Integrations"],
  summary: "Who changed the integration, when, and which fields",
  security: bearer,
  request: { params: NameParam },
  responses: { 200: json(z.object({ entries: z.array(AuditEntrySchema) }), "Oldest first."), ...problems(401, 404) },
});

/** A refused body in the integration's words (the same sentences as the page's form). */
const hook: Hook<unknown, ApiEnv, string, Response | undefined> = (result) => {
  if (result.success) return undefined;
  throw invalidInput(result.error.issues);
};

/** If-Match: "<revision>" (or W/"<revision>"): the revision an edit is based on. */
function ifMatchRevision(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match) throw invalidInput([{ code: "custom", path: ["revision"], message: 'must be given in If-Match as the integration\'s revision in quotes, such as "3"', input: header }]);
  return Number(match[1]);
}

export function integrationsRoutes(integrations: IntegrationService) {
  const app = new ApiApp<ApiEnv>({ defaultHook: hook });

  app.openapi(listRoute, async (c) => c.json({ integrations: await integrations.list() }, 200));

  app.openapi(getRoute, async (c) => {
    const view = await integrations.get(c.req.valid("param").name);
    return c.json(view, 200, { etag: `"${view.revision}"` });
  });

  app.openapi(createIntegrationRoute, async (c) => {
    const view = await integrations.create(c.req.valid("json"), c.get("caller"));
    return c.json(view, 201, { location: `/api/integrations/${view.name}`, etag: `"${view.revision}"` });
  });

  app.openapi(updateRoute, async (c) => {
    const input = c.req.valid("json");
    const expected = ifMatchRevision(c.req.header("if-match")) ?? input.revision;
    const view = await integrations.update(c.req.valid("param").name, input, c.get("caller"), expected);
    return c.json(view, 200, { etag: `"${view.revision}"` });
  });

  app.openapi(deleteRoute, async (c) => {
    await integrations.remove(c.req.valid("param").name, c.get("caller"));
    return c.body(null, 204);
  });

  app.openapi(auditRoute, async (c) => c.json({ entries: await integrations.audit(c.req.valid("param").name) }, 200));

  return app;
}
