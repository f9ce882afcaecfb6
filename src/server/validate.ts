// Input checks for the API, each failing with a detail a person can act on.
import type { Context } from "hono";
import { AuthflowError, badRequest } from "../errors.ts";

/** Organisation number: 9 digits, MOD11 check digit with weights 3 2 7 6 5 4 3 2. */
export function isOrganisationNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(value[i]), 0);
  const remainder = sum % 11;
  const check = remainder === 0 ? 0 : 11 - remainder;
  return check !== 10 && check === Number(value[8]);
}

/** A user id: 1–128 printable characters (no control characters). */
export function checkUser(value: unknown, field = "user"): string {
  if (typeof value !== "string" || value.length === 0) throw badRequest(`"${field}" is required: the id of the person acting (1–128 printable characters).`);
  if (value.length > 128) throw badRequest(`"${field}" is ${value.length} characters long; at most 128 are allowed.`);
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value)) throw badRequest(`"${field}" contains control or invisible characters; use printable characters only.`);
  return value;
}

export function optionalString(body: Record<string, unknown>, field: string, allowed?: readonly string[]): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badRequest(`"${field}" must be a string.`);
  if (allowed && !allowed.includes(value)) throw badRequest(`"${field}" must be one of ${allowed.join(", ")}; got "${value.slice(0, 40)}".`);
  return value;
}

/** Reads a JSON object body, with clear errors for a wrong content type, bad JSON or a non-object. */
export async function jsonObject(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new AuthflowError("bad_request", 415, `Send the body as JSON with "Content-Type: application/json" (got "${type || "none"}").`);
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw badRequest("The request body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}
