// The store behind the engine (DESIGN §3). lowdb is the embedded default; a PostgreSQL store can
// replace it behind the same interface. Correctness never rests on an in-process lock alone:
// every write names the revision it replaces, and a stale write is refused.

export interface FlowRecord {
  id: string;
  machine: string;
  version: number;
  /** Incremented by every write; the compare-and-swap token. */
  revision: number;
  createdAt: string;
  updatedAt: string;
  /** Public, secret-free facts derived from the snapshot: what lists and views read. */
  summary: Record<string, unknown>;
  /** The persisted XState snapshot, sealed with AES-GCM: it holds tokens and one-time values. */
  sealedSnapshot: string;
}

export interface AuditEntry {
  flowId: string;
  at: string;
  from: string | null;
  to: string;
  event: string;
  user: string | null;
}

export class StaleWriteError extends Error {
  constructor(id: string, expected: number | null, actual: number | null) {
    super(`Flow ${id}: expected revision ${expected}, store has ${actual}; another writer moved it first`);
    this.name = "StaleWriteError";
  }
}

/** A flow document the store set aside instead of serving it (DESIGN §3: damage is contained). */
export interface DamageReport {
  /** The flow id the file was named for; null for a file that was never a flow's (a stray). */
  id: string | null;
  /** Where it was, relative to DATA_DIR ("flows/<id>.json"). */
  file: string;
  /** Where it is now (absolute), or where it still is if it could not be moved. */
  movedTo: string;
  /** Why, in words for a person: "not valid JSON: torn or empty write". */
  reason: string;
  /** When it was set aside (ISO 8601, wall clock). */
  at: string;
}

export interface FlowStore {
  get(id: string): Promise<FlowRecord | undefined>;
  list(): Promise<FlowRecord[]>;
  /** Writes `record` if the stored revision is `expectedRevision` (null: must not exist yet). */
  save(record: FlowRecord, expectedRevision: number | null): Promise<void>;
  appendAudit(entries: AuditEntry[]): Promise<void>;
  /** The newest `limit` audit entries of a flow, oldest first. */
  readAudit(flowId: string, limit: number): Promise<AuditEntry[]>;
  /** What was set aside for this flow id, if anything (also from before a restart). */
  damaged(id: string): Promise<DamageReport | undefined>;
  /** Every damage report since open (for /readyz and the start-up log). */
  damageReports(): DamageReport[];
  /**
   * Sets a flow's stored document aside as damaged (the engine found its sealed snapshot cannot be
   * opened, or it is bound to another flow). Forgets the flow: get/list no longer return it, and a
   * save with expectedRevision null may create the id anew.
   */
  quarantine(id: string, reason: string): Promise<DamageReport>;
  close(): Promise<void>;
}
