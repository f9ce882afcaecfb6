// The OpenAPI document is the API's one source of truth: generated from the routes' zod schemas, it
// must hold together (every operation answers something, every $ref resolves), name what the flow
// view really holds, and — the strongest check — every answer of a real run (the whole service with
// the embedded simulator over real HTTP, a real ID-porten login) must fit the schema the document
// gives for that path, method, status and media type. Objects are checked closed: a field the
// service sends that the document does not name fails the test, as does a required one it leaves out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_TOKEN, startTestService, type TestService } from "../support/test-service.ts";

type Schema = { [key: string]: any };
type Doc = { [key: string]: any };

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function resolveRef(doc: Doc, ref: string): Schema {
  if (!ref.startsWith("#/")) throw new Error(`external $ref ${ref}`);
  let node: any = doc;
  for (const part of ref.slice(2).split("/")) node = node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  return node;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/**
 * A small JSON Schema (2020-12, as OpenAPI 3.1 uses it) validator: $ref, type, enum, const,
 * properties/required (closed unless additionalProperties says otherwise), items, oneOf/anyOf/allOf,
 * numeric and length bounds, pattern, and the formats date-time, uuid and uri. Returns the errors.
 */
export function validate(doc: Doc, schema: Schema | boolean | undefined, value: unknown, path = "$"): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  if (typeof schema.$ref === "string") return validate(doc, resolveRef(doc, schema.$ref), value, path);
  const errors: string[] = [];
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf) errors.push(...validate(doc, part, value, path));
  for (const key of ["oneOf", "anyOf"] as const) {
    if (!Array.isArray(schema[key])) continue;
    const results = schema[key].map((option: Schema) => validate(doc, option, value, path));
    const passing = results.filter((r: string[]) => r.length === 0).length;
    if (passing === 0) errors.push(`${path}: fits none of ${key} (${results.map((r: string[]) => r[0]).join(" / ")})`);
    if (key === "oneOf" && passing > 1 && !schema.discriminator) errors.push(`${path}: fits ${passing} of oneOf`);
  }
  if (schema.type !== undefined) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!types.includes(actual) && !(actual === "integer" && types.includes("number"))) {
      return [...errors, `${path}: ${JSON.stringify(value)?.slice(0, 60)} is ${actual}, not ${types.join(" | ")}`];
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((v: unknown) => JSON.stringify(v) === JSON.stringify(value))) {
    errors.push(`${path}: ${JSON.stringify(value)?.slice(0, 60)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${path}: is not ${JSON.stringify(schema.const)}`);
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${path}: ${JSON.stringify(value).slice(0, 60)} does not match ${schema.pattern}`);
    if (schema.format === "date-time" && !(DATE_TIME.test(value) && Number.isFinite(Date.parse(value)))) errors.push(`${path}: ${value} is not a date-time`);
    if (schema.format === "uuid" && !UUID.test(value)) errors.push(`${path}: ${value} is not a uuid`);
    if (schema.format === "uri" && !URL.canParse(value)) errors.push(`${path}: ${value} is not a uri`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => errors.push(...validate(doc, schema.items, item, `${path}[${i}]`)));
  if (typeOf(value) === "object" && (schema.properties !== undefined || schema.additionalProperties !== undefined)) {
    const object = value as Record<string, unknown>;
    const properties: Record<string, Schema> = schema.properties ?? {};
    for (const name of schema.required ?? []) if (!(name in object)) errors.push(`${path}.${name}: required, but the answer leaves it out`);
    for (const [name, field] of Object.entries(object)) {
      if (name in properties) errors.push(...validate(doc, properties[name]!, field, `${path}.${name}`));
      else if (schema.additionalProperties === undefined || schema.additionalProperties === false) errors.push(`${path}.${name}: sent, but the document does not name it`);
      else errors.push(...validate(doc, schema.additionalProperties, field, `${path}.${name}`));
    }
  }
  return errors;
}

/** The operation of the document that answers `method path` (the template with the fewest parameters). */
function operationFor(doc: Doc, method: string, path: string): { template: string; op: Schema } | undefined {
  const pathname = new URL(path, "http://x").pathname;
  const matches = Object.keys(doc.paths)
    .filter((template) => new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname))
    .filter((template) => doc.paths[template][method.toLowerCase()])
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  return matches[0] ? { template: matches[0], op: doc.paths[matches[0]][method.toLowerCase()] } : undefined;
}

interface Answer {
  status: number;
  type: string;
  json: any;
  text: string;
}

/** Calls the service and holds the answer to the document: operation, status, media type and schema. */
function checker(doc: Doc, base: () => string) {
  const mismatches: string[] = [];
  const problemTypes: string[] = [];
  const seen = new Set<string>();
  const check = (method: string, path: string, answer: Answer) => {
    const where = `${method} ${path} → ${answer.status}`;
    const found = operationFor(doc, method, path);
    if (!found) return void mismatches.push(`${where}: no operation in the document`);
    const response = found.op.responses?.[String(answer.status)] ?? found.op.responses?.default;
    if (!response) return void mismatches.push(`${where}: status not documented (documented: ${Object.keys(found.op.responses ?? {}).join(", ")})`);
    const mediaType = answer.type.split(";")[0]!.trim();
    const media = response.content?.[mediaType];
    if (!media) return void mismatches.push(`${where}: media type ${mediaType} not documented (documented: ${Object.keys(response.content ?? {}).join(", ")})`);
    seen.add(`${method.toUpperCase()} ${found.template} ${answer.status}`);
    if (mediaType.endsWith("json")) {
      const errors = validate(doc, media.schema, answer.json);
      if (errors.length) mismatches.push(`${where}:\n  ${errors.join("\n  ")}`);
    }
    if (mediaType === "application/problem+json") problemTypes.push(answer.json?.type);
  };
  const call = async (method: string, path: string, body?: unknown, options: { token?: string | null; contentType?: string } = {}): Promise<Answer> => {
    const token = options.token === undefined ? API_TOKEN : options.token;
    const res = await fetch(base() + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": options.contentType ?? "application/json" } : {}),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const answer = { status: res.status, type: res.headers.get("content-type") ?? "", json, text };
    check(method, path, answer);
    return answer;
  };
  return { call, check, mismatches, problemTypes, seen };
}

/** Every $ref anywhere in the document. */
function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out.push(value);
      else refs(value, out);
    }
  }
  return out;
}

/** The first `event: flow` of the stream, its data parsed. */
async function firstStreamEvent(url: string): Promise<{ type: string; data: unknown }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: controller.signal });
  const reader = res.body!.getReader();
  let text = "";
  try {
    while (!/\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    controller.abort();
  }
  const data = text.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart()).join("\n");
  return { type: res.headers.get("content-type") ?? "", data: JSON.parse(data) };
}

describe("the OpenAPI document, generated from the schemas", () => {
  let t: TestService;
  let doc: Doc;
  beforeAll(async () => {
    t = await startTestService({ SIMULATED_CLOCK: "on" });
    doc = (await t.api("GET", "/openapi.json", undefined, null)).json;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("holds together: every operation has responses, every $ref resolves, every path parameter is declared", () => {
    expect(doc.openapi).toBe("3.1.0");
    const broken: string[] = [];
    for (const ref of refs(doc)) {
      try {
        resolveRef(doc, ref);
      } catch (error) {
        broken.push((error as Error).message);
      }
    }
    for (const [path, item] of Object.entries(doc.paths as Record<string, Schema>)) {
      const operations = METHODS.filter((m) => item[m]);
      if (operations.length === 0) broken.push(`${path}: no operations`);
      for (const method of operations) {
        const op = item[method];
        const where = `${method.toUpperCase()} ${path}`;
        if (!op.summary) broken.push(`${where}: no summary`);
        if (!op.responses || Object.keys(op.responses).length === 0) broken.push(`${where}: no responses`);
        for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Schema>)) {
          if (!response.description) broken.push(`${where} ${status}: no description`);
          if (Number(status) >= 400 && path.startsWith("/api/") && !response.content?.["application/problem+json"]) broken.push(`${where} ${status}: not a problem document`);
        }
        for (const name of path.match(/\{[^}]+\}/g) ?? []) {
          if (!(op.parameters ?? []).some((p: Schema) => p.in === "path" && `{${p.name}}` === name && p.required)) broken.push(`${where}: path parameter ${name} not declared`);
        }
        // Under /api: the bearer token, and its 401.
        if (path.startsWith("/api/")) {
          const security = op.security ?? doc.security;
          if (!security?.some((s: Schema) => "bearer" in s)) broken.push(`${where}: no bearer security`);
          if (!op.responses?.["401"]) broken.push(`${where}: 401 not documented`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.bearer.description).toMatch(/API_TOKEN/);
    expect(doc.components.securitySchemes.bearer.description).toMatch(/API_CLIENTS/);
    // The public routes say they need no token.
    for (const path of ["/healthz", "/readyz", "/openapi.json", "/docs"]) expect(doc.paths[path].get.security, path).toEqual([]);
  });

  it("documents every route of the API, and what the flow view really holds", () => {
    for (const [method, path] of [
      ["post", "/api/flows"],
      ["get", "/api/flows"],
      ["get", "/api/flows/{id}"],
      ["get", "/api/flows/{id}/audit"],
      ["get", "/api/flows/{id}/stream"],
      ["post", "/api/flows/{id}/events"],
      ["post", "/api/flows/{id}/token"],
      ["get", "/api/clock"],
      ["post", "/api/clock"],
      ["get", "/api/machines"],
      ["get", "/api/machines/{name}"],
      ["get", "/healthz"],
      ["get", "/readyz"],
      ["get", "/openapi.json"],
      ["get", "/docs"],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const flow = doc.components.schemas.Flow;
    for (const field of [
      "id", "legalEntity", "integration", "state", "substate", "authorizationState", "activeStates", "boundUser", "pendingUser", "authorizationUrl",
      "loginOpened", "codeReceived", "idporten", "altinn", "authorizedAt", "authorizationExpiresAt", "loginDeadline", "attention", "needsAttention",
      "pendingRevocations", "lastError", "createdAt", "updatedAt",
    ]) {
      expect(flow.properties, field).toHaveProperty(field);
      expect(flow.required, field).toContain(field);
    }
    expect(flow.properties.idporten.properties).toHaveProperty("acr");
    // Request bodies and their rules come from the same schemas that check them.
    const create = doc.components.schemas.CreateFlow;
    expect(create.required).toEqual(["legalEntity"]);
    expect(create.properties.legalEntity.description).toMatch(/MOD11/);
    const authorize = doc.components.schemas.AuthorizeEvent;
    expect(authorize.properties.user).toMatchObject({ type: "string", minLength: 1, maxLength: 128 });
    expect(JSON.stringify(authorize.properties.uiLocale)).toContain('"se"');
    expect(JSON.stringify(authorize.properties.acr)).toContain("idporten-loa-high");
    const limit = doc.paths["/api/flows"].get.parameters.find((p: Schema) => p.name === "limit");
    expect(limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 500 });
    expect(doc.components.schemas.Tokens.required).toEqual(["altinnToken", "expiresAt", "idportenAccessToken", "idportenAccessTokenExpiresAt"]);
  });

  it("a real flow's answers — create, get, list, events, login, token, audit, stream, clock, machines, and the problems — fit the document", async () => {
    const { call, check, mismatches, problemTypes, seen } = checker(doc, () => t.url);

    await call("GET", "/healthz", undefined, { token: null });
    await call("GET", "/readyz", undefined, { token: null });

    const created = await call("POST", "/api/flows", { legalEntity: "999999999" });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    await call("GET", `/api/flows/${id}`);
    await call("GET", "/api/flows?limit=2");
    await call("GET", `/api/flows?state=idle&legalEntity=999999999&limit=500`);

    const authorize = await call("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "en", acr: "idporten-loa-substantial" });
    expect(authorize.json).toMatchObject({ state: "awaitingCode", pendingUser: "alice", codeReceived: false });
    expect(authorize.json.loginDeadline).toEqual(expect.any(String));
    await call("GET", `/api/flows/${id}`);
    await call("GET", "/api/flows"); // a list while awaiting: authorizationUrl is null there

    const page = await t.login(authorize.json.authorizationUrl);
    expect(page.status).toBe(200);
    const view = await t.waitForState(id, ["altinnAuthorized"]);
    expect(view.state).toBe("altinnAuthorized");
    const got = await call("GET", `/api/flows/${id}`);
    expect(got.json.idporten.acr).toBe("idporten-loa-substantial");

    const token = await call("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(token.status).toBe(200);
    const other = await call("POST", `/api/flows/${id}/token`, { user: "bob" });
    expect(other.status).toBe(403);
    expect((await call("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "bob" })).status).toBe(403);
    expect((await call("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" })).status).toBe(200);
    const stream = await firstStreamEvent(`${t.url}/api/flows/${id}/stream`);
    check("GET", `/api/flows/${id}/stream`, { status: 200, type: stream.type, json: undefined, text: "" });
    expect(validate(doc, { $ref: "#/components/schemas/FlowStreamData" }, stream.data)).toEqual([]);

    await call("GET", "/api/clock");
    await call("POST", "/api/clock", { advanceSeconds: 60 });
    await call("GET", "/api/flows?attention=true");
    await call("GET", "/api/machines");
    for (const format of ["", "?format=json", "?format=graph", "?format=svg", "?format=mermaid"]) expect((await call("GET", `/api/machines/authorization${format}`)).status).toBe(200);

    const revoked = await call("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" });
    expect(revoked.status).toBe(200);
    const audit = await call("GET", `/api/flows/${id}/audit`);
    expect(audit.json.transitions.length).toBeGreaterThan(3);
    await call("GET", `/api/flows/${id}`);

    // The problems: each documented for its route, each of its own type.
    const problems: Array<[number, Promise<Answer>]> = [
      [400, call("POST", "/api/flows", { legalEntity: "123456789" })],
      [400, call("POST", "/api/flows", "{not json")],
      [400, call("POST", `/api/flows/${id}/events`, { type: "NOPE", user: "alice" })],
      [400, call("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "x".repeat(129) })],
      [400, call("GET", "/api/flows?limit=501")],
      [400, call("GET", "/api/flows?cursor=%21")],
      [400, call("GET", "/api/flows/not-a-uuid")],
      [400, call("GET", "/api/machines/authorization?format=png")],
      [400, call("POST", "/api/clock", { advanceSeconds: -1 })],
      [401, call("GET", "/api/flows", undefined, { token: null })],
      [401, call("GET", "/api/flows", undefined, { token: "not-the-token" })],
      [404, call("GET", `/api/flows/${crypto.randomUUID()}`)],
      [404, call("GET", "/api/machines/nope")],
      [409, call("POST", `/api/flows/${id}/token`, { user: "alice" })],
      [409, call("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_CODE", user: "alice" })],
      [413, call("POST", "/api/flows", { legalEntity: "999999999", pad: "x".repeat(70 * 1024) })],
      [415, call("POST", "/api/flows", "legalEntity=999999999", { contentType: "application/x-www-form-urlencoded" })],
      [422, call("POST", "/api/flows", { legalEntity: "999999999", integration: "nope" })],
    ];
    for (const [status, answer] of problems) {
      const { status: got, json } = await answer;
      expect(got, JSON.stringify(json)).toBe(status);
      expect(json.detail.length).toBeGreaterThan(10);
    }

    expect(mismatches).toEqual([]);
    expect(problemTypes.length).toBeGreaterThanOrEqual(problems.length);
    for (const type of problemTypes) expect(type).toMatch(/^https:\/\/authflow\.dev\/problems\/[a-z_]+$/);
    // The run went through every flow operation the brief names.
    for (const key of [
      "POST /api/flows 201",
      "GET /api/flows 200",
      "GET /api/flows/{id} 200",
      "POST /api/flows/{id}/events 200",
      "POST /api/flows/{id}/token 200",
      "GET /api/flows/{id}/audit 200",
      "GET /api/flows/{id}/stream 200",
    ]) {
      expect(seen, key).toContain(key);
    }
  }, 60_000);

  it("manual mode's answers fit too: code received, idportenAuthorized, the token's 409 until EXCHANGE_ALTINN", async () => {
    const manual = await startTestService({ EXCHANGE_MODE: "manual" });
    try {
      const { call, mismatches, problemTypes } = checker(doc, () => manual.url);
      const id = (await call("POST", "/api/flows", { legalEntity: "999999999", user: "alice" })).json.id as string;
      const authorize = await call("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice", uiLocale: "nb" });
      await manual.login(authorize.json.authorizationUrl);
      const held = await call("GET", `/api/flows/${id}`);
      expect(held.json).toMatchObject({ state: "awaitingCode", codeReceived: true, pendingUser: "alice" });
      expect((await call("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_CODE", user: "alice" })).json.state).toBe("idportenAuthorized");
      expect((await call("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(409);
      expect((await call("POST", `/api/flows/${id}/events`, { type: "EXCHANGE_ALTINN", user: "alice" })).json.state).toBe("altinnAuthorized");
      expect((await call("POST", `/api/flows/${id}/token`, { user: "alice" })).status).toBe(200);
      await call("GET", `/api/flows/${id}/audit`);
      await call("GET", "/api/flows");
      expect(mismatches).toEqual([]);
      for (const type of problemTypes) expect(type).toMatch(/^https:\/\/authflow\.dev\/problems\/[a-z_]+$/);
    } finally {
      await manual.close();
    }
  }, 60_000);

  it("validation failures are problems whose detail names the field, listed in `errors`", async () => {
    const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
    const bad = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "", uiLocale: "de" });
    expect(bad.status).toBe(400);
    expect(bad.json.type).toBe("https://authflow.dev/problems/bad_request");
    expect(bad.json.detail).toContain('"user" is required');
    expect(bad.json.detail).toContain('"uiLocale" must be one of nb, nn, en, se; got "de"');
    expect(bad.json.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: "body", field: "user" }), expect.objectContaining({ in: "body", field: "uiLocale" })]),
    );
    const limit = await t.api("GET", "/api/flows?limit=abc");
    expect(limit.json.detail).toBe('"limit" must be a whole number from 1 to 500; got "abc".');
    expect(limit.json.errors).toEqual([{ in: "query", field: "limit", detail: limit.json.detail }]);
    const json = await t.api("POST", "/api/flows", "{not json");
    expect(json.json.type).toBe("https://authflow.dev/problems/invalid_json");
    const media = await fetch(`${t.url}/api/flows`, { method: "POST", headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "text/plain" }, body: "{}" });
    expect(media.status).toBe(415);
    expect((await media.json()).type).toBe("https://authflow.dev/problems/unsupported_media_type");
    const clock = await t.api("POST", "/api/clock", { advanceSeconds: "1" });
    expect(clock.json.detail).toMatch(/"advanceSeconds" must be a number of seconds/);
  });

  it("/docs renders the document as HTML: every path, the flow's fields, no script, no inline style", async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    const text = unescape(html);
    for (const path of Object.keys(doc.paths)) expect(text, path).toContain(`>${path}<`);
    for (const field of Object.keys(doc.components.schemas.Flow.properties)) expect(text, field).toContain(`<code>${field}</code>`);
    for (const field of Object.keys(doc.components.schemas.Problem.properties)) expect(text, field).toContain(`<code>${field}</code>`);
    expect(text).toContain("idporten-loa-high"); // enums are shown
    expect(text).toContain("API_CLIENTS"); // the bearer scheme's description
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).toContain('<link rel="stylesheet" href="/docs.css"');
    const css = await fetch(`${t.url}/docs.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
  });
});
