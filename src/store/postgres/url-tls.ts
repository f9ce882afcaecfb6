// libpq's TLS settings, as people who run PostgreSQL write them, for a client (postgres.js) that
// reads only some of them. postgres.js takes `sslmode` from the URL but not a root certificate file
// — the usual way to reach a managed database whose certificate comes from the provider's own CA
// (Amazon RDS, for one): `sslrootcert=/path/ca.pem` (and `sslrootcert=system` too) was sent to the
// server as a startup parameter, and the server refused the connection ("unrecognized configuration
// parameter"). Nor does it read PGSSLMODE: a deployment that set PGSSLMODE=verify-full (as libpq's
// documentation says) was connected with no TLS at all, in silence. Here both are read as libpq
// reads them, and what this service cannot honour — or what would check less than it seems to — is
// refused at start-up in words.

/** libpq's sslmode values (postgres.js's `ssl`); any other is refused at start-up. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** postgres.js also takes `ssl=` in the URL, with true and false besides libpq's modes. */
const SSL_PARAM_VALUES = [...SSL_MODES, "true", "false"] as const;

/** libpq's parameters for client certificates and revocation lists: not supported here, so refused rather than sent to the server. */
const UNSUPPORTED = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"] as const;

/**
 * A URL's query as its pairs, raw. A URL with several hosts is not a WHATWG URL, so only the query
 * is read; and a value is percent-decoded only (a `+` in a file's path stays a `+`, as libpq reads it).
 */
class Query {
  readonly base: string;
  #pairs: Array<[string, string]>;

  constructor(url: string) {
    const at = url.indexOf("?");
    this.base = at < 0 ? url : url.slice(0, at);
    this.#pairs = at < 0 ? [] : url.slice(at + 1).split("&").filter(Boolean).map((pair) => {
      const eq = pair.indexOf("=");
      return eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
    });
  }

  get(name: string): string | null {
    const pair = this.#pairs.find(([key]) => decode(key) === name);
    return pair ? decode(pair[1]) : null;
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.#pairs.push([name, encodeURIComponent(value)]);
  }

  delete(name: string): void {
    this.#pairs = this.#pairs.filter(([key]) => decode(key) !== name);
  }

  toString(): string {
    return this.#pairs.length ? `${this.base}?${this.#pairs.map(([key, value]) => `${key}=${value}`).join("&")}` : this.base;
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * DATABASE_URL with libpq's environment applied where the URL says nothing (PGSSLMODE,
 * PGSSLROOTCERT; the URL wins, as libpq's connection string does), and the problems with its TLS
 * settings, each in words for the variable it came from.
 */
export function withLibpqTls(url: string, env: { PGSSLMODE?: string | undefined; PGSSLROOTCERT?: string | undefined }): { url: string; problems: Array<{ variable: string; problem: string }> } {
  const query = new Query(url);
  const problems: Array<{ variable: string; problem: string }> = [];
  const from = { mode: "DATABASE_URL", root: "DATABASE_URL" };
  const ssl = query.get("ssl");
  const envMode = env.PGSSLMODE?.trim();
  if (query.get("sslmode") === null && ssl === null && envMode) {
    query.set("sslmode", envMode);
    from.mode = "PGSSLMODE";
  }
  const envRoot = env.PGSSLROOTCERT?.trim();
  if (query.get("sslrootcert") === null && envRoot) {
    query.set("sslrootcert", envRoot);
    from.root = "PGSSLROOTCERT";
  }
  const sslmode = query.get("sslmode");
  if (sslmode !== null && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    problems.push({ variable: from.mode, problem: `sslmode must be one of ${SSL_MODES.join(", ")}, got "${sslmode.slice(0, 40)}"` });
  }
  if (sslmode === null && ssl !== null && !(SSL_PARAM_VALUES as readonly string[]).includes(ssl)) {
    problems.push({ variable: from.mode, problem: `ssl must be one of ${SSL_PARAM_VALUES.join(", ")}, got "${ssl.slice(0, 40)}"` });
  }
  const mode = sslmode ?? ssl;
  const root = query.get("sslrootcert");
  const rootFrom = from.root;
  if (root === "system") {
    // libpq's rule: the system's CAs vouch for any name they issued, so only the name check makes them mean anything.
    if (mode !== null && mode !== "verify-full") problems.push({ variable: rootFrom, problem: `sslrootcert=system needs sslmode=verify-full (the system's CAs vouch for any name they issued: only the name check makes them mean anything), got sslmode ${mode}` });
  } else if (root !== null) {
    if (!(mode === "verify-full" || mode === "verify-ca" || mode === "require")) {
      problems.push({ variable: rootFrom, problem: `sslrootcert is given, but the connection would not check the server's certificate (sslmode ${mode ?? "unset"}): set sslmode=verify-full (or verify-ca)` });
    }
  } else if (mode === "verify-ca") {
    // The chain without the name, against the system's CAs: a certificate any public CA issued for any name would pass.
    problems.push({ variable: from.mode, problem: "sslmode=verify-ca needs sslrootcert=<file> (the CA the server's certificate must come from); to trust the system's CAs use sslmode=verify-full, which checks the name too" });
  }
  for (const name of UNSUPPORTED) {
    if (query.get(name) !== null) problems.push({ variable: "DATABASE_URL", problem: `${name} (client certificates, revocation lists) is not supported; connect with a password or a trusted network, and sslmode=verify-full` });
  }
  return { url: query.toString(), problems };
}

/**
 * The root certificate a URL names (`sslrootcert=<path>`, or `system` for the system's CAs), and
 * the URL without it for postgres.js (which would send it to the server).
 */
export function rootCertificateOf(url: string): { url: string; path?: string; system?: true } {
  const query = new Query(url);
  const root = query.get("sslrootcert");
  if (root === null) return { url };
  query.delete("sslrootcert");
  return root === "system" ? { url: query.toString(), system: true } : { url: query.toString(), path: root };
}
