// /api/flows: create, list, view, drive a flow, and ask it for an Altinn token (DESIGN §4). Each
// route is declared with its schemas (./schemas): they check the request and make the OpenAPI document.
import { ApiApp } from "./api-app.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { AuthorizationService, ClientEvent, FlowView } from "../flows/authorization-service.ts";
import { flowStream } from "./flow-stream.ts";
import type { ShutdownSignal } from "../lifecycle/shutdown-signal.ts";
import { validationHook } from "./validate.ts";
import type { ApiEnv } from "./bearer-auth.ts";
import { checkLegalEntity, checkUser as checkCallerUser, mayUseLegalEntity, viewFor, type Caller } from "../identity/caller.ts";
import { notFound } from "../errors.ts";
import { FlowIdParams } from "./schemas/common.ts";
import { AuditSchema, FlowListQuery, FlowListSchema, FlowStreamDataSchema, FlowViewSchema } from "./schemas/flow.ts";
import { CreateFlowBody } from "./schemas/create.ts";
import { EventBody } from "./schemas/events.ts";
import { TokenAnswerSchema, TokenBody } from "./schemas/token.ts";
import { problems } from "./schemas/problem.ts";

const bearer = [{ bearer: [] }];
const json = <T extends z.ZodTypeAny>(schema: T) => ({ content: { "application/json": { schema } } });
const flow = (description: string) => ({ description, ...json(FlowViewSchema) });
const body = <T extends z.ZodTypeAny>(schema: T) => ({ required: true, ...json(schema) });
const tags = ["Flows"];

const createFlow = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create a flow for a legal entity",
  security: bearer,
  request: { body: body(CreateFlowBody) },
  responses: {
    201: { ...flow("The new flow (state idle)."), headers: z.object({ location: z.string().openapi({ description: "/api/flows/{id}" }) }) },
    ...problems(400, 401, 403, 413, 415, 422, 503),
  },
});

const listFlows = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "List flows, filtered and paginated (oldest first)",
  description:
    "A client whose reach is a list of legal entities sees only theirs (the page may then hold fewer than `limit`; `next` still goes on). With attention=true: the flows that need a person, each with needsAttention.",
  security: bearer,
  request: { query: FlowListQuery },
  responses: { 200: { description: "A page of flows; `next` is the cursor of the following page.", ...json(FlowListSchema) }, ...problems(400, 401, 403) },
});

const getFlow = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  summary: "A flow's view",
  security: bearer,
  request: { params: FlowIdParams },
  responses: { 200: flow("The flow's view."), ...problems(400, 401, 403, 404, 410) },
});

const deleteFlow = createRoute({
  method: "delete",
  path: "/{id}",
  tags,
  summary: "Delete a flow and its audit trail",
  description:
    "Only a flow that holds nothing at ID-porten: no authorization (send REVOKE first — a revocation under way is waited for, as long as a call may take), no revocation ID-porten has not confirmed, no call under way; else 409 flow_in_use saying which. A client that acts for named users only may not delete a flow bound to, or with a login pending for, another user (403). Gone on every instance: later requests for it answer 404, and its streams get a `deleted` message and end.",
  security: bearer,
  request: { params: FlowIdParams },
  responses: { 204: { description: "Deleted, with its audit trail." }, ...problems(400, 401, 403, 404, 409, 410, 503) },
});

const flowAudit = createRoute({
  method: "get",
  path: "/{id}/audit",
  tags,
  summary: "A flow's audit trail: when, from, to, event, acting user and client",
  security: bearer,
  request: { params: FlowIdParams },
  responses: { 200: { description: "The most recent transitions (at most 100), oldest first.", ...json(AuditSchema) }, ...problems(400, 401, 403, 404, 410) },
});

const flowEvents = createRoute({
  method: "get",
  path: "/{id}/stream",
  tags,
  summary: "Server-sent events: the flow's view and recent transitions, now and after every change",
  description:
    "Events `flow` (data: a FlowStreamData JSON document {view, audit}), sent at once and after every change, also changes made on another instance; `ping` (empty data) every 15 s.",
  security: bearer,
  request: { params: FlowIdParams },
  responses: {
    200: {
      description: "text/event-stream: `event: flow` with `data: <FlowStreamData>`, and `event: ping`.",
      content: { "text/event-stream": { schema: z.string().openapi({ description: "The stream; each `flow` event's data is FlowStreamData." }) } },
    },
    ...problems(400, 401, 403, 404, 410),
  },
});

const sendEvent = createRoute({
  method: "post",
  path: "/{id}/events",
  tags,
  summary: "Send an event to the flow",
  description:
    "AUTHORIZE {user, uiLocale?, acr?} starts a login and answers with authorizationUrl; EXCHANGE_CODE {user} exchanges a kept code (EXCHANGE_MODE=manual); EXCHANGE_ALTINN {user} gets the Altinn token; RENEW {user} renews now; REVOKE {user} ends the authorization and revokes its refresh token at ID-porten. An exchange or renewal is answered with its outcome.",
  security: bearer,
  request: { params: FlowIdParams, body: body(EventBody) },
  responses: { 200: flow("The flow's view after the event."), ...problems(400, 401, 403, 404, 409, 410, 413, 415, 422, 503) },
});

const token = createRoute({
  method: "post",
  path: "/{id}/token",
  tags,
  summary: "Valid tokens for the bound user: the Altinn token and the ID-porten access token (renewed first when needed)",
  description:
    "No token to give: 409 not_authorized (no authorization yet; a pending login is to be completed at its link), 409 authorization_expired (authorize again), 409 needs_attention (only a person can mend it — a refused client secret, a person or scope Altinn refuses: the detail says what to do, and retrying does not help), 503 upstream_unavailable with Retry-After when asking again may help.",
  security: bearer,
  request: { params: FlowIdParams, body: body(TokenBody) },
  responses: {
    200: {
      description: "Both tokens, valid for at least the margin. Cache-Control: no-store.",
      headers: z.object({ "cache-control": z.string().openapi({ description: "no-store" }) }),
      ...json(TokenAnswerSchema),
    },
    ...problems(400, 401, 403, 404, 409, 410, 413, 415, 503),
  },
});

/** The service's loose view type, as the schema (test/server/openapi.test.ts holds real answers to the schema). */
const asView = (view: FlowView) => view as unknown as z.infer<typeof FlowViewSchema>;

export function flowsRoutes(service: AuthorizationService, shutdown?: ShutdownSignal) {
  const app = new ApiApp<ApiEnv>({ defaultHook: validationHook });
  app.openAPIRegistry.register("FlowStreamData", FlowStreamDataSchema);
  /** The flow, if it is for a legal entity the caller may act for (403 otherwise, before anything is done). */
  const reachable = async (caller: Caller, id: string) => {
    const view = await service.get(id);
    // Outside the caller's reach a flow is as unknown as one that does not exist: the answer names no legal entity.
    if (!mayUseLegalEntity(caller, view.legalEntity as string)) throw notFound(`No flow with id "${id}".`);
    return view;
  };
  /** As reachable, without reading the flow for a caller who may act for every legal entity (the token call's hot path). */
  const checkReach = async (caller: Caller, id: string) => {
    if (caller.legalEntities !== "*") await reachable(caller, id);
  };
  /** The acting user named in the body (its form checked by the schema), if the caller may act for them. */
  const actingUser = (caller: Caller, user: string) => {
    checkCallerUser(caller, user);
    return user;
  };

  app.openapi(createFlow, async (c) => {
    const body = c.req.valid("json");
    const legalEntity = body.legalEntity;
    const integration = body.integration ?? undefined;
    const caller = c.get("caller");
    checkLegalEntity(caller, legalEntity);
    // Who creates it is optional (a flow is bound to whoever first logs in), but if named, the caller must be allowed to act for them.
    const user = body.user === undefined ? null : actingUser(caller, body.user);
    const view = await service.create(legalEntity, integration, { user, client: caller.client });
    return c.json(asView(view), 201, { location: `/api/flows/${view.id}` });
  });

  app.openapi(listFlows, async (c) => {
    const { legalEntity, state, attention, limit, cursor, order } = c.req.valid("query");
    const caller = c.get("caller");
    if (legalEntity !== undefined) checkLegalEntity(caller, legalEntity);
    // A client with a list of legal entities: the store lists only theirs, so no page or cursor names another's flow.
    const reach = caller.legalEntities === "*" ? {} : { legalEntities: caller.legalEntities };
    const page = await service.list({ legalEntity, ...reach, state, limit, ...(cursor ? { after: cursor } : {}), ...(attention !== undefined ? { attention: attention === "true" } : {}), ...(order === "newest" ? { newestFirst: true } : {}) });
    return c.json({ ...page, flows: page.flows.map((f) => asView(viewFor(caller, f))) }, 200);
  });

  app.openapi(getFlow, async (c) => c.json(asView(viewFor(c.get("caller"), await reachable(c.get("caller"), c.req.valid("param").id))), 200));

  app.openapi(deleteFlow, async (c) => {
    const { id } = c.req.valid("param");
    const caller = c.get("caller");
    const view = await reachable(caller, id);
    // A client that acts for named users only may not delete a flow of another's: the one a pending
    // login is for (its link dies), or the one it was bound to.
    for (const user of [view.pendingUser, view.boundUser]) if (typeof user === "string") checkCallerUser(caller, user);
    await service.delete(id, { client: caller.client });
    return c.body(null, 204);
  });

  app.openapi(flowAudit, async (c) => {
    const { id } = c.req.valid("param");
    await reachable(c.get("caller"), id);
    return c.json({ transitions: await service.audit(id, 100) }, 200);
  });

  app.openapi(flowEvents, async (c) => {
    const { id } = c.req.valid("param");
    const caller = c.get("caller");
    await reachable(caller, id);
    return flowStream(c, service, id, shutdown, (view) => viewFor(caller, view)) as never;
  });

  app.openapi(sendEvent, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const caller = c.get("caller");
    const user = actingUser(caller, body.user);
    await checkReach(caller, id);
    const client = caller.client;
    const event: ClientEvent =
      body.type === "AUTHORIZE"
        ? { type: body.type, user, client, uiLocale: body.uiLocale ?? undefined, acr: body.acr ?? undefined }
        : { type: body.type, user, client };
    return c.json(asView(viewFor(caller, await service.send(id, event))), 200);
  });

  app.openapi(token, async (c) => {
    const { id } = c.req.valid("param");
    const caller = c.get("caller");
    const user = actingUser(caller, c.req.valid("json").user);
    await checkReach(caller, id);
    const token = await service.token(id, user, caller.client);
    c.header("cache-control", "no-store");
    return c.json(token, 200);
  });

  return app;
}
