// What may leave the process for a watcher (the Stately inspector, the viewer): everything but
// secrets. Two nets: a deny-list of keys that hold secrets, and a scan of every string value for
// what a secret looks like (a JWT, an 11-digit national identity number, a one-time `state`).
const SECRET_KEYS = new Set([
  "accessToken",
  "refreshToken",
  "idToken",
  "token",
  "altinnToken",
  "code",
  "codeVerifier",
  "nonce",
  "state",
  "clientSecret",
  "client_secret",
  "password",
  "callbackParams",
  "pid",
  // the person's pairwise subject at ID-porten (personal data, like pid)
  "sub",
  // a login link on this server is a capability until a browser opened it (its id is in its URL),
  // and the browser binding is derived from that browser's cookie
  "loginId",
  "browserBinding",
  // the same secrets as a provider or a raw request names them
  "access_token",
  "refresh_token",
  "id_token",
  "code_verifier",
  "apiToken",
]);

const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const PID = /\b\d{11}\b/g;
const URL_SECRETS = /([?&](?:code|state|nonce|code_challenge|login_hint)=)[^&#\s"]*/g;
const BEARER = /(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi;

export const REDACTED = "[redacted]";

export function redactString(value: string): string {
  return value.replace(JWT, REDACTED).replace(PID, (pid) => `${pid.slice(0, 6)}*****`).replace(URL_SECRETS, `$1${REDACTED}`).replace(BEARER, `$1${REDACTED}`);
}

/**
 * A deep, JSON-safe copy with secrets replaced. Cycles and live objects (actor refs) are cut; an
 * object met twice on different branches (context and event sharing one request) is copied twice.
 */
export function redact<T>(value: T, depth = 0, seen = new WeakSet<object>()): T {
  if (typeof value === "string") return redactString(value) as T;
  if (value === null || typeof value !== "object") return (typeof value === "function" ? undefined : value) as T;
  if (depth > 12 || seen.has(value)) return "[…]" as T;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen)) as T;
    const out: Record<string, unknown> = {};
    // A login link ({loginId, url}) carries its id in its URL: the URL goes too.
    const loginLink = "loginId" in value;
    for (const [key, inner] of Object.entries(value)) {
      if (typeof inner === "function") continue;
      const secret = SECRET_KEYS.has(key) || (loginLink && key === "url");
      out[key] = secret && inner !== null && inner !== undefined && typeof inner !== "boolean" ? REDACTED : redact(inner, depth + 1, seen);
    }
    return out as T;
  } finally {
    seen.delete(value);
  }
}
