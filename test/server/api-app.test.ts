// ApiApp checks a route's request in one step; it must refuse and accept exactly what OpenAPIHono's
// own validators do (same statuses), answer with the service's problem documents, and put every
// route in the OpenAPI document as OpenAPIHono does.
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { ApiApp } from "../../src/server/api-app.ts";
import { errorHandler } from "../../src/server/problem.ts";
import { validationHook } from "../../src/server/validate.ts";

const Params = z.object({ id: z.string().regex(/^\d+$/, { error: '"id" must be digits.' }) });
const Query = z.object({ limit: z.coerce.number().int().min(1).max(10).optional(), tag: z.union([z.string(), z.array(z.string())]).optional() });
const Body = z.object({ user: z.string().min(1, { error: '"user" is required.' }) });

const routes = {
  both: createRoute({ method: "post", path: "/things/{id}", request: { params: Params, body: { required: true, content: { "application/json": { schema: Body } } } }, responses: { 200: { description: "ok" } } }),
  query: createRoute({ method: "get", path: "/things", request: { query: Query }, responses: { 200: { description: "ok" } } }),
  items: createRoute({ method: "get", path: "/things/{id}/items", request: { params: Params, query: Query }, responses: { 200: { description: "ok" } } }),
  optional: createRoute({ method: "put", path: "/things/{id}/note", request: { params: Params, body: { required: false, content: { "application/json": { schema: Body } } } }, responses: { 200: { description: "ok" } } }),
};

function build(App: typeof OpenAPIHono) {
  const app = new App({ defaultHook: validationHook });
  app.onError(errorHandler(() => {}));
  app.openapi(routes.both, (c) => c.json({ id: c.req.valid("param").id, user: c.req.valid("json").user }, 200));
  app.openapi(routes.query, (c) => c.json(c.req.valid("query"), 200));
  app.openapi(routes.items, (c) => c.json({ id: c.req.valid("param").id, ...c.req.valid("query") }, 200));
  app.openapi(routes.optional, (c) => c.json({ body: c.req.valid("json") }, 200));
  return app;
}

const json = { "content-type": "application/json" };
// A string body gets "text/plain" from Request itself; bytes go without a content type.
const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
const cases: Array<[string, string, string, Record<string, string>, string | Uint8Array<ArrayBuffer> | undefined]> = [
  ["valid params and body", "POST", "/things/12", json, '{"user":"alice"}'],
  ["params refused", "POST", "/things/abc", json, '{"user":"alice"}'],
  ["body field refused", "POST", "/things/12", json, '{"user":""}'],
  ["body missing a field", "POST", "/things/12", json, "{}"],
  ["body not JSON", "POST", "/things/12", json, "{nope"],
  ["body as text/plain", "POST", "/things/12", { "content-type": "text/plain" }, '{"user":"alice"}'],
  ["body as application/json; charset=utf-8", "POST", "/things/12", { "content-type": "application/json; charset=utf-8" }, '{"user":"alice"}'],
  ["body as application/vnd.x+json", "POST", "/things/12", { "content-type": "application/vnd.x+json" }, '{"user":"alice"}'],
  // Types OpenAPIHono's gate refuses although they look like JSON (found by review): refused alike.
  ...["application/vnd.v2+json", "application/x_y+json", "application/json-seq", "application/json;", "application/json; charset", "application/json, text/plain", "application/json/x"].map(
    (type): (typeof cases)[number] => [`body as ${type}`, "POST", "/things/12", { "content-type": type }, '{"user":"alice"}'],
  ),
  ["bad path and bad query together (the query is checked first)", "GET", "/things/abc/items?limit=99", {}, undefined],
  ["query valid", "GET", "/things?limit=3&tag=a&tag=b", {}, undefined],
  ["query refused", "GET", "/things?limit=99", {}, undefined],
  ["optional body left out", "PUT", "/things/12/note", {}, undefined],
  ["optional body left out, with an empty content type", "PUT", "/things/12/note", { "content-type": "" }, undefined],
  ["optional body sent as JSON", "PUT", "/things/12/note", json, '{"user":"bob"}'],
  ["optional body sent as text/plain", "PUT", "/things/12/note", {}, '{"user":"bob"}'],
  ["optional body sent without a content type", "PUT", "/things/12/note", {}, bytes('{"user":"bob"}')],
  ["required body sent without a content type", "POST", "/things/12", {}, bytes('{"user":"alice"}')],
];

describe("ApiApp: one-step request checks", () => {
  const ours = build(ApiApp as unknown as typeof OpenAPIHono);
  const theirs = build(OpenAPIHono);

  it.each(cases)("%s: the same status as OpenAPIHono's validators", async (_name, method, path, headers, body) => {
    const init = { method, headers, ...(body === undefined ? {} : { body }) };
    const [a, b] = await Promise.all([ours.request(path, init), theirs.request(path, init)]);
    expect(a.status).toBe(b.status);
    if (a.status === 200) return expect(await a.json()).toEqual(await b.json());
    expect(a.headers.get("content-type")).toBe("application/problem+json");
    // The same kind of problem, and for a refused field the same field named in the same place.
    const [mine, original] = (await Promise.all([a.json(), b.json()])) as Array<{ type: string; errors?: unknown }>;
    expect(mine!.type).toBe(original!.type);
    expect(mine!.errors).toEqual(original!.errors);
  });

  it("names the refused field and what is wrong in the problem's detail", async () => {
    const answer = await ours.request("/things/abc", { method: "POST", headers: json, body: '{"user":""}' });
    expect(answer.status).toBe(400);
    const problem = (await answer.json()) as { detail: string; errors: Array<{ in: string; field: string }> };
    // Path parameters are checked first; the first failing part answers.
    expect(problem.detail).toContain('"id" must be digits.');
    expect(problem.errors).toEqual([expect.objectContaining({ in: "path", field: "id" })]);
    const body = await ours.request("/things/12", { method: "POST", headers: json, body: '{"user":""}' });
    expect(((await body.json()) as { detail: string }).detail).toContain('"user" is required.');
  });

  it("puts every route in the OpenAPI document as OpenAPIHono does", () => {
    const doc = (app: OpenAPIHono) => app.getOpenAPIDocument({ openapi: "3.0.0", info: { title: "t", version: "1" } });
    expect(doc(ours)).toEqual(doc(theirs));
    expect(Object.keys(doc(ours).paths ?? {})).toEqual(["/things/{id}", "/things", "/things/{id}/items", "/things/{id}/note"]);
  });
});
