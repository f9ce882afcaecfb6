// A stored flow record for the store benches: a sealed snapshot of a realistic size (3.1–6 KB in
// base64) and a summary, the i-th of a run (its time one second after the previous one's).
import type { FlowRecord } from "../../src/store/flow-store.ts";

export const BASE = Date.parse("2026-11-25T10:00:00.000Z");

export function syntheticFlow(i: number, summary: Record<string, unknown> = {}, record: Partial<FlowRecord> = {}): FlowRecord {
  const snapshot = new Uint8Array(2300 + ((i * 7919) % 2200));
  crypto.getRandomValues(snapshot);
  const at = new Date(BASE + i * 1000).toISOString();
  return {
    id: crypto.randomUUID(),
    machine: "authorization",
    version: 1,
    revision: 1,
    createdAt: at,
    updatedAt: at,
    summary: { legalEntity: String(900_000_000 + (i % 3000)), integration: "default", state: "idle", ...summary },
    sealedSnapshot: Buffer.from(snapshot).toString("base64url"),
    nextDeadlineAt: BASE + 86_400_000 + i * 60_000,
    attentionFrom: null,
    lease: null,
    ...record,
  };
}
