// OpenAPIHono whose routes check their request in one synchronous step. The route's zod schemas are
// still the one source of truth — they make the OpenAPI document (registered here exactly as
// OpenAPIHono registers them) and they check every request — but @hono/zod-openapi puts one
// middleware per request part (path, query, a media-type gate, JSON body), each an async layer
// around zod's safeParseAsync. On the token call, the API's hottest path, those layers cost about a
// third of the call's CPU (A/B with bench/profile-token.ts); one sync step does the same checks.
//
// What a route's request is checked for, in order (the first failure answers):
//   the query, then path parameters (each a 400 naming the field; OpenAPIHono's order), then a JSON
//   body: the content type (415 in words), that it parses and is an object (400), then its schema
//   (400 naming fields).
// Routes whose request has header, cookie or form schemas fall back to OpenAPIHono's own validators.
// Two things this does not carry over: schemas must be synchronous (an async refinement would make
// safeParse throw), and basePath() answers a plain OpenAPIHono (mount sub-apps with route() instead).
import { OpenAPIHono, type Hook, type RouteConfig } from "@hono/zod-openapi";
import type { Context, Env, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { jsonObject, validationHook } from "./validate.ts";

type AnyHook = Hook<any, any, any, any>;
type Target = "param" | "query" | "json";

/** A route's declared media type that is JSON (the request's Content-Type is jsonObject's to check). */
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

function jsonSchemaOf(route: RouteConfig): { schema: z.ZodType; required: boolean } | undefined | null {
  const body = route.request?.body;
  if (!body) return undefined;
  const types = Object.keys(body.content ?? {});
  const json = types.find((t) => JSON_MEDIA.test(t));
  // A body that may also come as a form (or only as one) is OpenAPIHono's to check.
  if (!json || types.length !== 1) return null;
  const schema = (body.content as Record<string, { schema?: unknown }>)[json]!.schema;
  return schema && typeof (schema as z.ZodType).safeParse === "function" ? { schema: schema as z.ZodType, required: body.required === true } : null;
}

/** Whether the request carries a body: a non-zero Content-Length, a chunked one, or (a Request made in-process) bytes. */
async function bodySent(c: Context): Promise<boolean> {
  const length = c.req.header("content-length");
  if (length !== undefined) return length.trim() !== "0";
  if (c.req.header("transfer-encoding") !== undefined) return true;
  if (c.req.raw.body === null) return false;
  return (await c.req.arrayBuffer()).byteLength > 0;
}

/** The one check of a route's request; the hook turns a failure into the answer (a 400 problem). */
function requestCheck(route: RouteConfig, hook: AnyHook): MiddlewareHandler | undefined {
  const params = route.request?.params as z.ZodType | undefined;
  const query = route.request?.query as z.ZodType | undefined;
  const body = jsonSchemaOf(route);
  if (!params && !query && !body) return undefined;
  const refused = async (result: z.ZodSafeParseResult<unknown>, target: Target, c: Context): Promise<Response> => {
    // As zValidator: the hook may answer (a Response, or {response}) or throw; one that answers
    // nothing on a failure gets zod's issues as they are.
    const answer: unknown = await hook({ ...result, target } as never, c as never);
    if (answer instanceof Response) return answer;
    if (answer && typeof answer === "object" && "response" in answer && answer.response instanceof Response) return answer.response;
    return c.json(result, 400);
  };
  return async (c, next) => {
    if (query) {
      const value: Record<string, string | string[]> = {};
      for (const [key, values] of Object.entries(c.req.queries())) value[key] = values.length === 1 ? values[0]! : values;
      const result = query.safeParse(value);
      if (!result.success) return refused(result, "query", c);
      c.req.addValidatedData("query", result.data as object);
    }
    if (params) {
      const result = params.safeParse(c.req.param());
      if (!result.success) return refused(result, "param", c);
      c.req.addValidatedData("param", result.data as object);
    }
    if (body) {
      // An optional body may be left out; one that is sent must be JSON (415 otherwise, as OpenAPIHono's gate says).
      const type = c.req.header("content-type") || undefined; // an empty header is none, as OpenAPIHono reads it
      if (body.required || type !== undefined || (await bodySent(c))) {
        const result = body.schema.safeParse(await jsonObject(c));
        if (!result.success) return refused(result, "json", c);
        c.req.addValidatedData("json", result.data as object);
      } else {
        c.req.addValidatedData("json", {});
      }
    }
    return next();
  };
}

export class ApiApp<E extends Env = Env> extends OpenAPIHono<E> {
  constructor(options: ConstructorParameters<typeof OpenAPIHono<E>>[0] = {}) {
    super({ defaultHook: validationHook as never, ...options });
    const openapi = this.openapi;
    const defaultHook = (options?.defaultHook ?? validationHook) as AnyHook;
    this.openapi = ((config: RouteConfig & { middleware?: MiddlewareHandler | MiddlewareHandler[]; hide?: boolean }, handler: never, hook?: AnyHook) => {
      const { middleware, hide, ...route } = config;
      const request = route.request;
      if (request?.headers || request?.cookies || jsonSchemaOf(route) === null) return openapi(config as never, handler, hook as never);
      if (!hide) this.openAPIRegistry.registerPath(route);
      const check = requestCheck(route, hook ?? defaultHook);
      const before = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
      this.on([route.method], [route.path.replaceAll(/\/{(.+?)}/g, "/:$1")], ...before, ...(check ? [check] : []), handler as never);
      return this;
    }) as never;
  }
}
