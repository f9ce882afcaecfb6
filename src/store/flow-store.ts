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

export interface FlowStore {
  get(id: string): Promise<FlowRecord | undefined>;
  list(): Promise<FlowRecord[]>;
  /** Writes `record` if the stored revision is `expectedRevision` (null: must not exist yet). */
  save(record: FlowRecord, expectedRevision: number | null): Promise<void>;
  appendAudit(entries: AuditEntry[]): Promise<void>;
  /** The newest `limit` audit entries of a flow, oldest first. */
  readAudit(flowId: string, limit: number): Promise<AuditEntry[]>;
  close(): Promise<void>;
}
