// Whether an error means the database could not be reached (or will not serve now), and in what
// words: a failover, a restart, a dropped connection, a full connection table. Such an error is a
// 503 that says so — the request may be tried again shortly — never a 500 "something went wrong".
// Read off the error alone (no import of the client), so the server's error handler can ask it for
// any error: postgres.js names its own connection failures (CONNECTION_CLOSED, CONNECT_TIMEOUT, …),
// a socket's failure comes through as Node's (or Deno's) error with its syscall, and the server's
// refusals carry their SQLSTATE. An outbound fetch never matches: fetch wraps its socket errors in
// a TypeError whose cause holds them, and openid-client and the Altinn client name theirs.

/** postgres.js's own codes for a connection that failed or was lost. */
const CLIENT_CODES: Record<string, string> = {
  CONNECTION_CLOSED: "the connection was closed",
  CONNECTION_DESTROYED: "the connection was lost",
  CONNECTION_ENDED: "the connection had ended",
  CONNECT_TIMEOUT: "connecting timed out",
  // Ours (store/postgres/connect.ts): a call the database left unanswered too long.
  DATABASE_SILENT: "it did not answer in time",
};

/** A socket's failure (with its syscall: connect, read, write, getaddrinfo). */
const SOCKET_CODES: Record<string, string> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was broken",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  ENOTFOUND: "the host name is not known",
  EAI_AGAIN: "the host name could not be looked up",
};

/** SQLSTATEs of a server that will not serve now (class 08 is matched as a class). */
const SERVER_STATES: Record<string, string> = {
  "57P01": "the server is shutting down",
  "57P02": "the server crashed",
  "57P03": "the server is starting up",
  "53300": "the server has no connection slot free",
  "25006": "the server is a read-only standby (after a failover?)",
};

/**
 * The TLS layer's refusals on the way to the database (sslmode=verify-full, verify-ca): OpenSSL's
 * certificate verdicts as Node names them, and Node's own TLS codes. Only a connection's own error
 * carries them at the top: an outbound fetch wraps its in a TypeError's cause.
 */
const TLS_CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Plain words for why the database could not serve, or null when the error is something else. */
export function storeUnreachable(error: unknown): string | null {
  if (typeof error !== "object" || error === null) return null;
  const { code, syscall, name, host } = error as { code?: unknown; syscall?: unknown; name?: unknown; host?: unknown };
  if (typeof code !== "string") return null;
  if (name === "PostgresError") return SERVER_STATES[code] ?? (code.startsWith("08") ? `a connection error (SQLSTATE ${code})` : null);
  if (CLIENT_CODES[code]) return CLIENT_CODES[code]!;
  // A socket's failure names its syscall — or, a TLS socket's reset before its handshake was done
  // (a server restarting, or one without TLS under sslmode=require), the host it was for.
  const ofSocket = typeof syscall === "string" || typeof host === "string";
  if (ofSocket && SOCKET_CODES[code]) return SOCKET_CODES[code]!;
  if (TLS_CERTIFICATE_CODES.has(code)) return `its TLS certificate was not accepted (${code})`;
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) return `the TLS connection to it failed (${code})`;
  return null;
}
