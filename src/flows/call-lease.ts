// How long an authorization's outbound call may take, and how long it is leased to the instance
// that makes it (several instances on one PostgreSQL). The lease must outlast the call: another
// instance takes an ended lease over and calls again, and a refresh made twice with ID-porten's
// one-time refresh token ends the grant (invalid_grant; the simulator, like oidc-provider, revokes
// it) while the first caller was answered 200. A review saw exactly that with a fixed 30 s lease,
// OUTBOUND_TIMEOUT_SECONDS=60 and a provider answering after 35 s.
import type { Config } from "../config.ts";

/** What lets a lease outlast its call however the instances' clocks differ or a process stands still (NTP keeps clocks far closer). */
export const LEASE_MARGIN_MS = 10_000;

/** The engine's heartbeat (claimMs) and the largest pause of its write retry: its defaults. */
const HEARTBEAT_MS = 5_000;
const WRITE_RETRY_MAX_MS = 5_000;

export function callLease(config: Pick<Config, "outboundTimeoutMs" | "databaseTimeoutSeconds">): { callMs: number; leaseMs: number; takeOverGraceMs: number } {
  // A call reads the flow's integration settings from the store (DATABASE_TIMEOUT_SECONDS at most),
  // then makes at most two requests, each bounded by OUTBOUND_TIMEOUT_SECONDS: the provider's
  // discovery document (first use of a client) and the call itself.
  const callMs = config.databaseTimeoutSeconds * 1000 + 2 * config.outboundTimeoutMs;
  // An ended lease's owner may hold the call's answer, unwritten (the database was out of reach):
  // once the database is back it beats its heart (its next tick, whose store call may wait
  // DATABASE_TIMEOUT_SECONDS) and its write is retried (after at most WRITE_RETRY_MAX_MS). Only
  // after that long is it taken for dead or for holding nothing (FlowEngine #mayTakeOver).
  const takeOverGraceMs = HEARTBEAT_MS + WRITE_RETRY_MAX_MS + config.databaseTimeoutSeconds * 1000;
  return { callMs, leaseMs: callMs + LEASE_MARGIN_MS, takeOverGraceMs };
}
