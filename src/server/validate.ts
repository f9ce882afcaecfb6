// Request checks for the API. The shapes are zod schemas (./schemas), which also make the OpenAPI
// document; what is here turns their failures, and a body that is not JSON, into problem details
// whose `detail` names the field and says what is wrong.
import type { Context } from "hono";
import type { Hook } from "@hono/zod-openapi";
import type { core } from "zod";
import { AuthflowError, badRequest } from "../errors.ts";
import { isOrganisationNumber, userId } from "./schemas/common.ts";
import { problem } from "./problem.ts";

export { isOrganisationNumber };

// The Content-Type a JSON body may come with: @hono/zod-openapi's own test (its jsonRequestRegex), so
// the API refuses with 415 exactly the types OpenAPIHono's gate refuses (application/json-seq,
// "application/json;", a list of types) and takes "application/json; charset=utf-8" or vnd.x+json.
const JSON_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** A user id: 1–128 printable characters (no control characters); a 400 that says why otherwise. */
export function checkUser(value: unknown, field = "user"): string {
  const result = userId(field).safeParse(value);
  if (!result.success) throw badRequest(result.error.issues[0]!.message);
  return result.data;
}

/** Reads a JSON object body, with clear errors for a wrong content type (415), bad JSON or a non-object (400). */
export async function jsonObject(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (!JSON_TYPE.test(type)) {
    throw new AuthflowError("unsupported_media_type", 415, `Send the body as JSON with "Content-Type: application/json" (got "${type.slice(0, 80) || "none"}").`);
  }
  let body: unknown;
  try {
    // c.req.json() keeps the parsed body: the route's schema validator reads the same object.
    body = await c.req.json();
  } catch {
    throw new AuthflowError("invalid_json", 400, "The request body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

const PLACE = { json: "body", query: "query", param: "path" } as const;

function sentence(issue: core.$ZodIssue, where: string, repeated: (field: string) => boolean): string {
  const field = issue.path.map(String).join(".");
  // A query parameter given twice arrives as an array: said so, whatever the field's own words.
  if (where === "query" && field !== "" && repeated(field)) return `"${field}" (query) is given more than once; give it once.`;
  // The schemas word their own failures ('"user" is required: …'); zod's defaults get the field named.
  if (issue.message.startsWith('"') || issue.message.startsWith("The ")) return issue.message;
  if (field === "") return where === "body" ? "The request body must be a JSON object." : `The ${where} is not what the API takes: ${issue.message}.`;
  return `"${field}" (${where}): ${issue.message.replace(/^Invalid input: /, "")}.`;
}

/**
 * The routes' validation hook: a zod failure becomes a 400 problem whose detail names each refused
 * field and what is wrong with it, also listed in `errors` ({in, field, detail}).
 */
export const validationHook: Hook<unknown, any, any, Response | undefined> = (result, c) => {
  if (result.success) return undefined;
  const where = PLACE[result.target as keyof typeof PLACE] ?? result.target;
  const repeated = (field: string) => (c.req.queries(field)?.length ?? 0) > 1;
  const errors = result.error.issues.map((issue) => ({ in: where, field: issue.path.map(String).join("."), detail: sentence(issue, where, repeated) }));
  const detail = [...new Set(errors.map((e) => e.detail))].join(" ");
  return problem(400, detail, { errors }, "bad_request");
};
