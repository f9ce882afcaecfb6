// Building blocks of the API's schemas (zod, documented through @hono/zod-openapi): each check fails
// with a sentence that names the field and says what is wrong, as the problem document's `detail`.
import { z } from "@hono/zod-openapi";

export { z };

/** A value as it may be echoed in a detail: JSON, cut short (never a whole body). */
export function shown(value: unknown, max = 40): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** What was sent in a field's place, for a detail: "it is missing" when nothing was (not "got null"). */
export function got(value: unknown, max = 40): string {
  return value === undefined ? "it is missing" : `got ${shown(value, max)}`;
}

/** Organisation number: 9 digits, MOD11 check digit with weights 3 2 7 6 5 4 3 2. */
export function isOrganisationNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(value[i]), 0);
  const remainder = sum % 11;
  const check = remainder === 0 ? 0 : 11 - remainder;
  return check !== 10 && check === Number(value[8]);
}

export const organisationNumberMessage = (field: string, value: unknown) =>
  `"${field}" must be a Norwegian organisation number: 9 digits with a valid MOD11 check digit (${got(value)}).`;

/** A legal entity's organisation number (MOD11-checked). */
export function organisationNumber(field = "legalEntity") {
  return z
    .string({ error: (iss) => organisationNumberMessage(field, iss.input) })
    .refine(isOrganisationNumber, { error: (iss) => organisationNumberMessage(field, iss.input) })
    .openapi({
      pattern: "^[0-9]{9}$",
      description: "Norwegian organisation number: 9 digits, the last a MOD11 check digit (weights 3 2 7 6 5 4 3 2).",
      example: "999999999",
    });
}

/**
 * Control and invisible characters: a line break, a zero-width space, a bidi mark. And half of a
 * character: a UTF-16 surrogate without its other half (valid in JSON as "\ud800", but no text holds
 * one and PostgreSQL refuses it; with the u flag an emoji, a proper pair, is one code point, not \p{Cs}).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** What is wrong with a value holding such a character: the first one named, by code point and place. */
export function invisibleProblem(value: string): string | undefined {
  const match = INVISIBLE.exec(value);
  if (!match) return undefined;
  const code = `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  const what = /\p{Cs}/u.test(match[0]) ? `half of a character (${code} at position ${match.index + 1}, a UTF-16 surrogate without its pair, as an emoji cut in two leaves)` : `a control or invisible character (${code} at position ${match.index + 1})`;
  return `contains ${what}; use printable characters only (type it again rather than pasting it)`;
}

/** A check (superRefine) that refuses what invisibleProblem names, in a sentence naming the field. */
export const printableAs = (field: string) => (value: string, ctx: z.RefinementCtx) => {
  const problem = invisibleProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `"${field}" ${problem}.` });
};

/** A user id: 1–128 printable characters (no control or invisible characters). */
export function userId(field = "user") {
  const required = `"${field}" is required: the id of the person acting (1–128 printable characters).`;
  return z
    .string({ error: (iss) => (iss.input === undefined ? required : `"${field}" must be a string: the id of the person acting (1–128 printable characters); got ${shown(iss.input)}.`) })
    .min(1, { error: required })
    .max(128, { error: (iss) => `"${field}" is ${String(iss.input).length} characters long; at most 128 are allowed.` })
    .superRefine(printableAs(field))
    .openapi({ description: "The id of the person acting: 1–128 printable characters (no control or invisible characters).", example: "alice" });
}

/** One of a fixed list, said in words when it is not. */
export function oneOf<const T extends readonly [string, ...string[]]>(field: string, values: T, description?: string) {
  return z
    .enum(values, { error: (iss) => `"${field}" must be one of ${values.join(", ")}; got ${shown(iss.input)}.` })
    .openapi(description ? { description } : {});
}

export const FLOW_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const FlowIdParams = z.object({
  id: z
    .string()
    .regex(FLOW_ID_PATTERN, { error: (iss) => `"${String(iss.input).slice(0, 64)}" is not a flow id (a UUID).` })
    .openapi({ param: { name: "id", in: "path" }, format: "uuid", description: "The flow's id (a UUID).", example: "3f0c5b8e-2a49-4f7e-9c1d-6b2f1e0a7d55" }),
});

/** A point in time (ISO 8601, UTC), as every time in the API is written. */
export const Instant = z.string().openapi({ format: "date-time" });

export const UI_LOCALES = ["nb", "nn", "en", "se"] as const;
export const ACR_VALUES = ["idporten-loa-substantial", "idporten-loa-high"] as const;
