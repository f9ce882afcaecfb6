// /api/flows: create, list, view, drive a flow, and ask it for an Altinn token (DESIGN §4).
import { Hono } from "hono";
import { badRequest } from "../errors.ts";
import type { AuthorizationService, ClientEvent } from "../flows/authorization-service.ts";
import { PUBLIC_EVENTS, TOP_STATES } from "../machines/authorization-types.ts";
import { flowStream } from "./flow-stream.ts";
import type { ShutdownSignal } from "../lifecycle/shutdown-signal.ts";
import { checkUser, isOrganisationNumber, jsonObject, optionalString } from "./validate.ts";
import type { ApiEnv } from "./bearer-auth.ts";
import { checkLegalEntity, checkUser as checkCallerUser, mayUseLegalEntity, type Caller } from "../identity/caller.ts";

const UI_LOCALES = ["nb", "nn", "en", "se"] as const;
const ACR_VALUES = ["idporten-loa-substantial", "idporten-loa-high"] as const;
const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function flowId(id: string): string {
  if (!FLOW_ID.test(id)) throw badRequest(`"${id.slice(0, 64)}" is not a flow id (a UUID).`);
  return id;
}

export function flowsRoutes(service: AuthorizationService, shutdown?: ShutdownSignal) {
  const app = new Hono<ApiEnv>();
  /** The flow, if it is for a legal entity the caller may act for (403 otherwise, before anything is done). */
  const reachable = async (caller: Caller, id: string) => {
    const view = await service.get(id);
    checkLegalEntity(caller, view.legalEntity as string);
    return view;
  };
  /** As reachable, without reading the flow for a caller who may act for every legal entity (the token call's hot path). */
  const checkReach = async (caller: Caller, id: string) => {
    if (caller.legalEntities !== "*") await reachable(caller, id);
  };
  /** The acting user named in the body, if the caller may act for them. */
  const actingUser = (caller: Caller, value: unknown) => {
    const user = checkUser(value);
    checkCallerUser(caller, user);
    return user;
  };

  app.post("/", async (c) => {
    const body = await jsonObject(c);
    const legalEntity = body.legalEntity;
    if (typeof legalEntity !== "string" || !isOrganisationNumber(legalEntity)) {
      throw badRequest(
        `"legalEntity" must be a Norwegian organisation number: 9 digits with a valid MOD11 check digit (got ${JSON.stringify(legalEntity ?? null)?.slice(0, 40)}).`,
      );
    }
    const integration = optionalString(body, "integration");
    const caller = c.get("caller");
    checkLegalEntity(caller, legalEntity);
    // Who creates it is optional (a flow is bound to whoever first logs in), but if named, the caller must be allowed to act for them.
    const user = body.user === undefined ? null : actingUser(caller, body.user);
    const view = await service.create(legalEntity, integration, { user, client: caller.client });
    return c.json(view, 201, { location: `/api/flows/${view.id}` });
  });

  app.get("/", async (c) => {
    const legalEntity = c.req.query("legalEntity");
    const state = c.req.query("state");
    if (state !== undefined && !(TOP_STATES as readonly string[]).includes(state)) {
      throw badRequest(`"state" must be one of ${TOP_STATES.join(", ")}; got "${state.slice(0, 40)}".`);
    }
    const attention = c.req.query("attention");
    if (attention !== undefined && attention !== "true" && attention !== "false") throw badRequest(`"attention" must be true or false; got "${attention.slice(0, 40)}".`);
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest(`"limit" must be a whole number from 1 to 500; got "${String(limitText).slice(0, 20)}".`);
    const cursor = c.req.query("cursor");
    if (cursor !== undefined && !/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw badRequest('"cursor" must be the "next" value of a previous page.');
    const caller = c.get("caller");
    if (legalEntity !== undefined) checkLegalEntity(caller, legalEntity);
    const page = await service.list({ legalEntity, state, limit, ...(cursor ? { after: cursor } : {}), ...(attention !== undefined ? { attention: attention === "true" } : {}) });
    // A client with a list of legal entities sees only theirs (the page may then hold fewer than `limit`; `next` still goes on).
    return c.json(caller.legalEntities === "*" ? page : { ...page, flows: page.flows.filter((f) => mayUseLegalEntity(caller, f.legalEntity as string)) });
  });

  app.get("/:id", async (c) => c.json(await reachable(c.get("caller"), flowId(c.req.param("id")))));

  app.get("/:id/audit", async (c) => {
    const id = flowId(c.req.param("id"));
    await reachable(c.get("caller"), id);
    return c.json({ transitions: await service.audit(id, 100) });
  });

  app.get("/:id/stream", async (c) => {
    const id = flowId(c.req.param("id"));
    await reachable(c.get("caller"), id);
    return flowStream(c, service, id, shutdown);
  });

  app.post("/:id/events", async (c) => {
    const id = flowId(c.req.param("id"));
    const body = await jsonObject(c);
    const type = body.type;
    if (typeof type !== "string" || !(PUBLIC_EVENTS as readonly string[]).includes(type)) {
      throw badRequest(`"type" must be one of ${PUBLIC_EVENTS.join(", ")}; got ${JSON.stringify(type ?? null)?.slice(0, 40)}.`);
    }
    const caller = c.get("caller");
    const user = actingUser(caller, body.user);
    await checkReach(caller, id);
    const client = caller.client;
    const event: ClientEvent =
      type === "AUTHORIZE"
        ? { type, user, client, uiLocale: optionalString(body, "uiLocale", UI_LOCALES), acr: optionalString(body, "acr", ACR_VALUES) }
        : { type: type as Exclude<ClientEvent["type"], "AUTHORIZE">, user, client };
    return c.json(await service.send(id, event));
  });

  app.post("/:id/token", async (c) => {
    const id = flowId(c.req.param("id"));
    const body = await jsonObject(c);
    const caller = c.get("caller");
    const user = actingUser(caller, body.user);
    await checkReach(caller, id);
    const token = await service.token(id, user, caller.client);
    c.header("cache-control", "no-store");
    return c.json(token);
  });

  return app;
}
