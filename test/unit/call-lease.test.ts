// A call's lease outlasts the longest the call can take, whatever the timeouts are set to: another
// instance takes an ended lease over and refreshes again with the same one-time refresh token.
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { callLease, LEASE_MARGIN_MS } from "../../src/flows/call-lease.ts";

describe("the call lease", () => {
  it("covers the settings read and two bounded requests, plus a margin, for the defaults and for long timeouts", () => {
    // 15 s + 2 × 10 s; the grace before an ended lease whose owner may hold the answer is taken: 5 s heartbeat + 5 s write retry + 15 s.
    expect(callLease(readConfig({}))).toEqual({ callMs: 35_000, leaseMs: 45_000, takeOverGraceMs: 25_000 });
    // The review's case: OUTBOUND_TIMEOUT_SECONDS=60 and a provider answering after 35 s (a fixed 30 s lease was taken over).
    const long = callLease(readConfig({ OUTBOUND_TIMEOUT_SECONDS: "60" }));
    expect(long.callMs).toBe(135_000);
    expect(long.leaseMs - LEASE_MARGIN_MS).toBeGreaterThanOrEqual(2 * 60_000 + 15_000);
    for (const [outbound, database] of [["1", "1"], ["300", "300"], ["30", "5"]]) {
      const { callMs, leaseMs } = callLease(readConfig({ OUTBOUND_TIMEOUT_SECONDS: outbound, DATABASE_TIMEOUT_SECONDS: database }));
      expect(callMs).toBe(Number(database) * 1000 + 2 * Number(outbound) * 1000);
      expect(leaseMs).toBe(callMs + LEASE_MARGIN_MS);
      expect(callLease(readConfig({ DATABASE_TIMEOUT_SECONDS: database })).takeOverGraceMs).toBe(10_000 + Number(database) * 1000);
    }
  });
});
