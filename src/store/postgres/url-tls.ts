// libpq's TLS settings, as people who run PostgreSQL write them, for a client (postgres.js) that
// reads only some of them. postgres.js takes `sslmode` and `sslrootcert=system` from the URL but
// not a root certificate file — the usual way to reach a managed database whose certificate comes
// from the provider's own CA (Amazon RDS, for one): `sslrootcert=/path/ca.pem` was sent to the
// server as a startup parameter, and the server refused the connection ("unrecognized configuration
// parameter"). Nor does it read PGSSLMODE: a deployment that set PGSSLMODE=verify-full (as libpq's
// documentation says) was connected with no TLS at all, in silence. Here both are read as libpq
// reads them, and what this service cannot honour is refused at start-up in words.

/** libpq's sslmode values (postgres.js's `ssl`); any other is refused at start-up. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** libpq's parameters for client certificates and revocation lists: not supported here, so refused rather than sent to the server. */
const UNSUPPORTED = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"] as const;

/** The URL's query, read without parsing the rest (a URL with several hosts is not a WHATWG URL). */
function split(url: string): { base: string; query: URLSearchParams } {
  const at = url.indexOf("?");
  return at < 0 ? { base: url, query: new URLSearchParams() } : { base: url.slice(0, at), query: new URLSearchParams(url.slice(at + 1)) };
}

function join(base: string, query: URLSearchParams): string {
  const text = query.toString();
  return text ? `${base}?${text}` : base;
}

/**
 * DATABASE_URL with libpq's environment applied where the URL says nothing (PGSSLMODE,
 * PGSSLROOTCERT; the URL wins, as libpq's connection string does), and the problems with its TLS
 * settings, each in words for the variable it came from.
 */
export function withLibpqTls(url: string, env: { PGSSLMODE?: string | undefined; PGSSLROOTCERT?: string | undefined }): { url: string; problems: Array<{ variable: string; problem: string }> } {
  const { base, query } = split(url);
  const problems: Array<{ variable: string; problem: string }> = [];
  const from = { sslmode: "DATABASE_URL", sslrootcert: "DATABASE_URL" };
  const envMode = env.PGSSLMODE?.trim();
  if (!query.has("sslmode") && !query.has("ssl") && envMode) {
    query.set("sslmode", envMode);
    from.sslmode = "PGSSLMODE";
  }
  const envRoot = env.PGSSLROOTCERT?.trim();
  if (!query.has("sslrootcert") && envRoot) {
    query.set("sslrootcert", envRoot);
    from.sslrootcert = "PGSSLROOTCERT";
  }
  const mode = query.get("sslmode");
  if (mode !== null && !(SSL_MODES as readonly string[]).includes(mode)) {
    problems.push({ variable: from.sslmode, problem: `sslmode must be one of ${SSL_MODES.join(", ")}, got "${mode.slice(0, 40)}"` });
  }
  const root = query.get("sslrootcert");
  if (root !== null && root !== "system" && !(mode === "verify-full" || mode === "verify-ca" || mode === "require")) {
    problems.push({ variable: from.sslrootcert, problem: `sslrootcert is given, but the connection would not check the server's certificate (sslmode ${mode ?? "unset"}): set sslmode=verify-full (or verify-ca)` });
  }
  for (const name of UNSUPPORTED) {
    if (query.has(name)) problems.push({ variable: "DATABASE_URL", problem: `${name} (client certificates, revocation lists) is not supported; connect with a password or a trusted network, and sslmode=verify-full` });
  }
  return { url: join(base, query), problems };
}

/**
 * The root certificate file a URL names (`sslrootcert=<path>`), and the URL without it for
 * postgres.js (which would send it to the server). `sslrootcert=system` stays: postgres.js reads
 * it (the system's CAs, verify-full).
 */
export function rootCertificateOf(url: string): { url: string; path?: string } {
  const { base, query } = split(url);
  const path = query.get("sslrootcert");
  if (path === null || path === "system") return { url };
  query.delete("sslrootcert");
  return { url: join(base, query), path };
}
