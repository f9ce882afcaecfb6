// The store behind the engine (DESIGN §3). lowdb is the embedded default; with DATABASE_URL a
// PostgreSQL store replaces it behind the same interface, shared by several instances.
// Correctness never rests on an in-process lock alone: every write names the revision it replaces,
// and a stale write is refused. The engine does not need every flow in memory: the store answers
// lists (filtered and paginated) and the due-time index from its own fields, and a flow's sealed
// snapshot is read only when the flow is hydrated.

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
  /** The flow's next deadline (ms since the epoch) as the machine computes it, or null: the due-time index. */
  nextDeadlineAt: number | null;
  /** From when the flow needs a person (ms since the epoch), or null: `GET /api/flows?attention=true`. */
  attentionFrom: number | null;
  /**
   * An outbound call in flight (a refresh, a code exchange) is owned by one instance until `until`
   * (ms): another instance that hydrates the flow meanwhile does not make the call again. Null with
   * no call in flight. Irrelevant with lowdb (one process per DATA_DIR).
   */
  lease: { owner: string; until: number } | null;
}

/** A record without its sealed snapshot: what lists return. */
export type FlowRow = Omit<FlowRecord, "sealedSnapshot">;

/**
 * What the due-time index returns: which flow, at which revision, due when. Enough for the engine to
 * skip a flow it already holds at that revision; it reads the whole record only of the others.
 */
export type DueFlow = Pick<FlowRow, "id" | "revision"> & { nextDeadlineAt: number };

export interface ListQuery {
  machine?: string;
  /** summary.legalEntity equals this. */
  legalEntity?: string;
  /** summary.legalEntity is one of these (a caller's reach: the page and its cursor never name another's flow). */
  legalEntities?: readonly string[];
  /** summary.state equals this. */
  state?: string;
  /** true: attentionFrom <= attentionAt; false: the others. */
  attention?: boolean;
  /** The "now" the attention filter compares with (ms). */
  attentionAt?: number;
  /** 1..500. */
  limit: number;
  /** The opaque cursor of the previous page's `next`. Order: createdAt, then id. */
  after?: string;
  /** The newest first: (createdAt, id) descending, `after` then meaning older than the cursor. */
  newestFirst?: boolean;
}

export interface ListPage {
  items: FlowRow[];
  /** Cursor for the next page, or null when this was the last. */
  next: string | null;
}

/** Another process changed a flow (PostgreSQL LISTEN/NOTIFY): caches drop it, SSE streams show it. */
export interface Claimant {
  aliveUntil: number;
  aliveSince: number;
}

export interface FlowChange {
  id: string;
  revision: number;
  /** Of a flow deleted or set aside: its legal entity, so that a page may tell whoever may see it that its card is gone. */
  goneLegalEntity?: string;
}

export interface AuditEntry {
  flowId: string;
  at: string;
  from: string | null;
  to: string;
  event: string;
  user: string | null;
  /** Who sent the event: an API client's name, or "page" for the signed-in Web page. */
  client?: string | null;
  /** The person who logged in, masked (first six digits of the pid), on the login's entry. */
  person?: string | null;
  /** Upkeep nobody needs one by one (a renewal that changed nothing a person sees): folded after a while (audit-fold.ts). */
  routine?: boolean;
  /** On the entry that stands for folded routine entries: how many, the first's and the last's time. */
  folded?: FoldedEntries;
}

export interface FoldedEntries {
  entries: number;
  first: string;
  last: string;
}

/** The store's encryption-key check value is not one (empty, edited by hand, a folder): start-up refuses, exit 2 (store/key-check.ts). */
export class KeyCheckUnusableError extends Error {
  override name = "KeyCheckUnusableError";
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
  /** Where it was, relative to DATA_DIR ("flows/<id>.json"); PostgreSQL: "flows/<id>" (table, key). */
  file: string;
  /** Where it is now (absolute), or where it still is if it could not be moved; PostgreSQL: "flow_damage/<report id>". */
  movedTo: string;
  /** Why, in words for a person: "not valid JSON: torn or empty write". */
  reason: string;
  /** When it was set aside (ISO 8601, wall clock). */
  at: string;
}

export interface FlowStore {
  /** The whole record, sealed snapshot included (to hydrate the flow). */
  get(id: string): Promise<FlowRecord | undefined>;
  /** Filtered and paginated in the store; never loads sealed snapshots. */
  list(query: ListQuery): Promise<ListPage>;
  /** How many flows there are (for the start-up line). */
  count(): Promise<number>;
  /** The stored revision of a flow, cheaply (no snapshot): lets a cache check it is current. */
  revisionOf(id: string): Promise<number | undefined>;
  /**
   * Writes `record` if the stored revision is `expectedRevision` (null: must not exist yet). Atomic
   * with respect to other writers, also in other processes. `audit` (the transitions this write
   * records) lands with it: in the same statement with PostgreSQL, so another instance that hears of
   * the change finds its audit entries; appended right after with lowdb (one process), kept and
   * appended with the next write if that append fails — never a reason to refuse the write.
   */
  save(record: FlowRecord, expectedRevision: number | null, audit?: AuditEntry[]): Promise<void>;
  /**
   * The due-time index: the flows whose nextDeadlineAt <= `until` (id, revision, deadline — never
   * the sealed snapshot, so a tick costs nothing for flows the engine already holds), each claimed for `owner`
   * so that no other instance takes it (PostgreSQL: FOR UPDATE SKIP LOCKED; lowdb: one process, so
   * every due flow). Each call keeps `owner` alive until `claimUntil`; its claims hold while it is,
   * so the flows of an instance that died are taken by the others once its last `claimUntil` has
   * passed. At most `limit`, earliest deadline first; with `machines` ("name@version"), only flows
   * of those machines (those this instance can open). `claimUntil` and `now` are on one clock (the
   * wall clock, ms), compared in the process, never with the database's now(): an owner is dead
   * when its `claimUntil <= now`. `now` defaults to Date.now(); tests pass it to let a claim end
   * without waiting. `fresh`: at most this many of them claimed anew (default `limit`) — the flows
   * `owner` holds already are answered whatever it is (only `owner` may bring them back into
   * memory); lowdb, one process, holds every due flow and ignores it.
   */
  claimDue(until: number, owner: string, claimUntil: number, limit: number, now?: number, machines?: readonly string[], fresh?: number): Promise<DueFlow[]>;
  /**
   * An owner's heartbeat as claimDue keeps it: alive until `aliveUntil`, without a break since
   * `aliveSince` (both on the instances' clock, ms); null when it has none (never ticked, of an older
   * release, or cleared a day after it ended).
   */
  claimant(owner: string): Promise<Claimant | null>;
  /**
   * An owner that stops: its heartbeat ends now and its claims are let go, so other instances claim
   * its due flows at their next tick rather than once the heartbeat would have run out. Stores
   * without claims (lowdb: one process) leave it out.
   */
  retire?(owner: string, now: number): Promise<void>;
  /** Changes made by other processes sharing this store; lowdb has none (returns a no-op). */
  subscribe(listener: (change: FlowChange) => void): Promise<() => Promise<void>>;
  /** The store's encryption-key check value (store/key-check.ts), or undefined while none is recorded. */
  readKeyCheck(): Promise<string | undefined>;
  /** Records `value` as the key check unless one is recorded already (by another process too); answers the recorded one. */
  recordKeyCheck(value: string): Promise<string>;
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
  /**
   * Deletes a flow and its audit trail, if its stored revision is `expectedRevision` (else
   * StaleWriteError, and nothing is deleted): get/list no longer return it, its audit reads empty,
   * and a shared store's other instances hear of it as of a change. Durable when it resolves.
   */
  delete(id: string, expectedRevision: number): Promise<void>;
  /** A shared store's server answers (for /readyz); rejects with why not. An embedded store has none. */
  ping?(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
