// What PostgreSQL cannot hold, made storable before it is sent. A JavaScript string can carry two
// things PostgreSQL refuses: U+0000 (in text: 22021; in json/jsonb: 22P05) and a lone UTF-16
// surrogate (JSON.stringify writes it as "\udc00", which jsonb refuses: 22P02 "invalid input syntax
// for type json"). Refused, a flow's write would be kept and retried for ever and never taken, and
// every later change to the flow refused with it — so a provider's error_description, or any string
// from outside, must never reach the database as it is. The API refuses such characters in what it
// takes (schemas/common.ts); what comes from elsewhere (a provider's answer) is mended here: each one
// becomes U+FFFD, as a decoder shows a broken character. Never applied to the sealed snapshot: it is
// base64 (and the flow's own data inside it stays as it was).

/** U+0000, or a surrogate without its other half (with the u flag, a proper pair — an emoji — is one code point, not \p{Cs}). */
const UNSTORABLE = /[\0\p{Cs}]/u;
const UNSTORABLE_ALL = /[\0\p{Cs}]/gu;

/** The text as PostgreSQL takes it: itself when there is nothing to replace (one regex test, no copy). */
export function storableText(text: string): string {
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, "\uFFFD") : text;
}

/**
 * A JSON value as PostgreSQL's jsonb takes it, keys and strings alike. A flow write makes one
 * (summary and audit entries) on every transition: a value with nothing to replace, as nearly every
 * one is, is only read — one regex test per string, nothing copied — and comes back as it was.
 */
export function storable<T>(value: T): T {
  return unstorable(value) ? (mended(value) as T) : value;
}

/** Arrays and plain objects are walked; anything else (a Date) is not text and goes as it is. */
const walked = (value: object): boolean => Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null;

function unstorable(value: unknown): boolean {
  if (typeof value === "string") return UNSTORABLE.test(value);
  if (typeof value !== "object" || value === null || !walked(value)) return false;
  if (Array.isArray(value)) return value.some(unstorable);
  for (const [key, item] of Object.entries(value)) if (UNSTORABLE.test(key) || unstorable(item)) return true;
  return false;
}

function mended(value: unknown): unknown {
  if (typeof value === "string") return storableText(value);
  if (typeof value !== "object" || value === null || !walked(value)) return value;
  if (Array.isArray(value)) return value.map(mended);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), mended(item)]));
}
