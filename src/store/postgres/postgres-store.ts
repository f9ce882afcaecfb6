// The PostgreSQL store (DATABASE_URL): several instances share the flows. Every guarantee is the
// database's, never an in-process lock's:
// - save is a compare-and-swap in one statement (`UPDATE … WHERE revision = $expected`, or an
//   INSERT that does nothing if the id exists): a stale write changes no row and is refused. Once
//   that statement has committed, save notifies the other instances (pg_notify in a transaction
//   of its own, batched with the notifications of writes that commit meanwhile) and only then
//   returns — so they hear only of a write that happened, with its audit trail already there.
//   Not in the write's own transaction: NOTIFY takes a database-wide lock at commit and holds it
//   until the commit record is flushed, so notifying writes commit
//   one fsync at a time and concurrent creates cannot share a WAL flush (bench/pg-notify-ab.ts:
//   ≈ 1 WAL sync per create and 240–470 creates/s from 16 writers, against ≈ 0.25 and
//   640–1,680/s without). The notification's own transaction commits with synchronous_commit
//   off: it writes nothing that must survive a crash (notifications never do), so it holds that
//   lock only for a moment. What this gives up: a process that dies between the write's commit
//   and its notification leaves the others unnotified of that one write — as a dropped LISTEN
//   connection does: their streams miss that change, and what they hold of the flow is caught
//   up by their tick's claimDue (it names revisions) or refused by the compare-and-swap;
// - claimDue marks the due flows with an owner (`FOR UPDATE SKIP LOCKED`, so two instances
//   claiming at once never take the same flow and never wait on each other). A claim holds while
//   its owner's heartbeat does (each claimDue renews it); the deadlines of an instance that died
//   are taken by the others once it has ended. Times are the caller's (wall clock, ms), compared
//   with the caller's `now` — never the database's now(), so every instance and the tests agree on
//   one clock;
// - list pages by keyset on (created_at, id) with the filters in SQL and never reads a sealed
//   snapshot.
// Only the `postgres` package and Web APIs: the same file runs on Node and Deno.
import postgres from "postgres";
import { StaleWriteError, type AuditEntry, type Claimant, type DamageReport, type DueFlow, type FlowChange, type FlowRecord, type FlowRow, type FlowStore, type ListPage, type ListQuery } from "../flow-store.ts";
import { FLOW_ID_PATTERN } from "../flow-id.ts";
import { checkLimit, decodeCursor, encodeCursor } from "../list-query.ts";
import { planFold } from "../audit-fold.ts";
import { answerWithin, boundCalls, migrateAtStartUp, openPool } from "./connect.ts";
import { storable, storableText } from "./storable.ts";

/** store_facts' row of the encryption-key check (store/key-check.ts). */
export const KEY_CHECK = "encryption-key-check";

/** A flow's older routine audit entries are folded every this many revisions (audit-fold.ts). */
const FOLD_EVERY = 64;
/** The first key of the advisory lock a fold's statement tries: "audt" in ASCII (the second is the flow id's hash). */
const FOLD_LOCK_KEY = 0x61756474;

/** The NOTIFY channel; the payload is `<flow id>:<revision>:<instance id>`, and `:<legal entity>` after it when the flow is gone. */
export const CHANNEL = "authflow_flows";

export interface PostgresStoreOptions {
  log?: (line: string) => void;
  /** This process in notifications (its own are not delivered back to it). Default: a random UUID. */
  instanceId?: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Seconds a call waits for the database's answer before the pool's connections are let go (connect.ts answerWithin). Default 15. */
  answerSeconds?: number;
}

/** The store's calls that wait for the database, each bounded by answerWithin. */
const BOUNDED = ["ping", "revisionOf", "get", "list", "count", "save", "claimDue", "claimant", "retire", "appendAudit", "readAudit", "damaged", "quarantine", "readKeyCheck", "recordKeyCheck", "delete"] as const satisfies ReadonlyArray<keyof FlowStore>;

type Row = Record<string, unknown>;

/** The store's one LISTEN with postgres.js (see subscribe). */
interface Listening {
  /** Resolves once it listens, the first time. */
  ready: Promise<void>;
  /** Rejects with the first try's error (told to the subscribers waiting then; never settles after). */
  failure: Promise<never>;
  /** postgres.js's handle, to UNLISTEN; undefined when the first try failed. */
  registered: Promise<{ unlisten(): Promise<void> } | undefined>;
}

export class PostgresFlowStore implements FlowStore {
  readonly instanceId: string;
  #sql: postgres.Sql;
  #log: (line: string) => void;
  #reports: DamageReport[] = [];
  #listeners = new Set<(change: FlowChange) => void>();
  #listen: Listening | undefined;
  /** The notification statement out now (resolved when none is), and the batch gathering behind it. */
  #notifying: Promise<void> = Promise.resolve();
  /** Folds of audit trails under way here, by flow id (one at a time per flow). */
  #folds = new Map<string, Promise<void>>();
  #closing = false;
  #nextNotification: { payloads: string[]; sent: Promise<void> } | undefined;

  private constructor(sql: postgres.Sql, instanceId: string, log: (line: string) => void) {
    this.#sql = sql;
    this.instanceId = instanceId;
    this.#log = log;
    // A database gone silent answers the caller 503 within the pool's answer time instead of never (connect.ts).
    boundCalls(this, sql, BOUNDED);
  }

  /** Connects, applies the migrations this database lacks, and answers once it can serve. */
  static async open(databaseUrl: string, options: PostgresStoreOptions = {}): Promise<PostgresFlowStore> {
    const log = options.log ?? ((line: string) => console.error(line));
    const sql = openPool(databaseUrl, "authflow", options.max ?? 10, options.answerSeconds);
    try {
      const { applied, version } = await migrateAtStartUp(sql, log);
      log(`store: PostgreSQL ${where(databaseUrl)}, schema version ${version}${applied.length ? ` (applied now: ${applied.join(", ")})` : ""}`);
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      throw new Error(`PostgreSQL at ${where(databaseUrl)} could not be opened: ${(error as Error).message}`, { cause: error });
    }
    return new PostgresFlowStore(sql, options.instanceId ?? crypto.randomUUID(), log);
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
    try {
      await Promise.race([this.#sql`SELECT 1`, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async revisionOf(id: string): Promise<number | undefined> {
    if (!FLOW_ID_PATTERN.test(id)) return undefined;
    const [row] = await this.#sql`SELECT revision FROM flows WHERE id = ${id}`;
    return row ? Number(row.revision) : undefined;
  }

  async get(id: string): Promise<FlowRecord | undefined> {
    if (!FLOW_ID_PATTERN.test(id)) return undefined;
    const [row] = await this.#sql`SELECT * FROM flows WHERE id = ${id}`;
    return row ? recordOf(row) : undefined;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const sql = this.#sql;
    const limit = checkLimit(query.limit);
    const at = query.attentionAt ?? Date.now();
    const where = [sql`TRUE`];
    if (query.machine !== undefined) where.push(sql`machine = ${query.machine}`);
    if (query.legalEntity !== undefined) where.push(sql`legal_entity = ${storableText(query.legalEntity)}`);
    // Lists go as JSON, never as PostgreSQL arrays: the pool does not fetch array types (connect.ts).
    if (query.legalEntities !== undefined) where.push(sql`legal_entity IN (SELECT jsonb_array_elements_text(${sql.json(storable(query.legalEntities as string[]))}))`);
    if (query.state !== undefined) where.push(sql`state = ${query.state}`);
    if (query.attention === true) where.push(sql`attention_from <= ${at}`);
    if (query.attention === false) where.push(sql`(attention_from IS NULL OR attention_from > ${at})`);
    if (query.after !== undefined) {
      const after = decodeCursor(query.after);
      where.push(
        query.newestFirst
          ? sql`(created_at, id) < (${new Date(after.createdAt)}::timestamptz, ${after.id}::text)`
          : sql`(created_at, id) > (${new Date(after.createdAt)}::timestamptz, ${after.id}::text)`,
      );
    }
    const rows = await sql`
      SELECT id, machine, version, revision, created_at, updated_at, summary, next_deadline_at, attention_from, lease_owner, lease_until
      FROM flows
      WHERE ${where.reduce((all, one) => sql`${all} AND ${one}`)}
      ORDER BY ${query.newestFirst ? sql`created_at DESC, id DESC` : sql`created_at, id`}
      LIMIT ${limit + 1}`;
    const items = rows.slice(0, limit).map(rowOf);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? encodeCursor(last) : null };
  }

  async count(): Promise<number> {
    const [row] = await this.#sql`SELECT count(*)::int AS n FROM flows`;
    return row!.n as number;
  }

  async save(record: FlowRecord, expectedRevision: number | null, audit: AuditEntry[] = []): Promise<void> {
    if (!FLOW_ID_PATTERN.test(record.id)) throw new Error(`invalid flow id ${JSON.stringify(record.id)}`);
    const sql = this.#sql;
    const r = columnsOf(record);
    const payload = `${record.id}:${record.revision}:${this.instanceId}`;
    // One statement, so one round trip and one implicit transaction: the write and its audit
    // entries (in their order, only if the write happened). The notification follows its commit.
    const entries = sql.json(auditRows(audit) as never);
    const written =
      expectedRevision === null
        ? await sql`
            WITH written AS (
              INSERT INTO flows (id, machine, version, revision, created_at, updated_at, summary, sealed_snapshot, next_deadline_at, attention_from, lease_owner, lease_until)
              VALUES (${r.id}, ${r.machine}, ${r.version}, ${r.revision}, ${r.createdAt}, ${r.updatedAt}, ${sql.json(r.summary)}, ${r.sealedSnapshot}, ${r.nextDeadlineAt}, ${r.attentionFrom}, ${r.leaseOwner}, ${r.leaseUntil})
              ON CONFLICT (id) DO NOTHING
              RETURNING id),
            audited AS (${auditInsert(sql, entries)})
            SELECT id FROM written`
        : await sql`
            WITH written AS (
              UPDATE flows SET
                machine = ${r.machine}, version = ${r.version}, revision = ${r.revision}, created_at = ${r.createdAt}, updated_at = ${r.updatedAt},
                summary = ${sql.json(r.summary)}, sealed_snapshot = ${r.sealedSnapshot}, next_deadline_at = ${r.nextDeadlineAt},
                attention_from = ${r.attentionFrom}, lease_owner = ${r.leaseOwner}, lease_until = ${r.leaseUntil}
              WHERE id = ${r.id} AND revision = ${expectedRevision}
              RETURNING id),
            audited AS (${auditInsert(sql, entries)})
            SELECT id FROM written`;
    if (written.length === 1) {
      const notified = this.#notify(payload);
      // Every FOLD_EVERY revisions of a flow that does routine upkeep, its older routine entries are
      // folded (audit-fold.ts) — after the write and beside it, never in its way: the save neither
      // waits for the fold nor hears of its failure (a failed fold is tried at the next one).
      if (record.revision % FOLD_EVERY === 0 && audit.some((entry) => entry.routine === true)) this.#foldSoon(record.id);
      return notified;
    }
    // The revision that won, for the message only: it may have moved again since.
    const [current] = await sql`SELECT revision FROM flows WHERE id = ${record.id}`;
    throw new StaleWriteError(record.id, expectedRevision, current ? Number(current.revision) : null);
  }

  /**
   * Tells the other instances of a committed write: pg_notify in a transaction of its own, whose
   * commit does not wait for its WAL flush (see the top of this file). Notifications go in batches:
   * while one batch's statement is out, the writes that commit meanwhile wait for the next, which
   * carries all of them in one statement — under concurrent writes a save makes one round trip and
   * a fraction of one, not two (PostgreSQL delivers a transaction's notifications in the order
   * sent; each payload names its own flow and revision). A save still returns only once its own
   * notification has been sent. The write stands whatever happens here, so a failure is a line in
   * the log, never the save's error.
   */
  #notify(payload: string): Promise<void> {
    let batch = this.#nextNotification;
    if (!batch) {
      const payloads: string[] = [];
      const send = () => {
        // From here on, later writes gather in a new batch.
        if (this.#nextNotification?.payloads === payloads) this.#nextNotification = undefined;
        return this.#sendNotifications(payloads);
      };
      // Sent after the batch before it, however that one ended: one failure never stops the chain.
      const sent = this.#notifying.then(send, send);
      batch = { payloads, sent };
      this.#nextNotification = batch;
      this.#notifying = sent;
    }
    batch.payloads.push(payload);
    return batch.sent;
  }

  async #sendNotifications(payloads: string[]): Promise<void> {
    try {
      await this.#sql`SELECT set_config('synchronous_commit', 'off', true), pg_notify(${CHANNEL}, sent.payload) FROM jsonb_array_elements_text(${this.#sql.json(payloads)}) WITH ORDINALITY AS sent(payload, n) ORDER BY sent.n`;
    } catch (error) {
      try {
        const ids = payloads.map((p) => p.slice(0, p.lastIndexOf(":"))).join(", ");
        this.#log(`store: the write(s) ${ids} are committed but the other instances could not be notified (${(error as Error)?.message ?? String(error)}); they learn of them at their next tick or write`);
      } catch {
        // A log that fails must not fail the saves waiting on this batch: their writes are committed.
      }
    }
  }

  async claimDue(until: number, owner: string, claimUntil: number, limit: number, now: number = Date.now(), machines?: readonly string[], fresh: number = limit): Promise<DueFlow[]> {
    // A claim holds while its owner's heartbeat does (migration 6): an instance renews its
    // heartbeat here, reads the due flows it holds already (not rewritten), and claims due flows no
    // one holds, up to `limit` in all. Two statements, in this order:
    // 1. The heartbeat, and the due flows of owners whose heartbeat has ended are let go (their
    //    owner died; an owner with no heartbeat at all is one of an older release, or cleared after
    //    a day dead). Committed before any claim of this instance, so whoever sees a claim of it
    //    sees its heartbeat too.
    // 2. Claims on unclaimed flows only: FOR UPDATE SKIP LOCKED passes over rows another claim (or a
    //    save) is locking, and a row claimed meanwhile fails `claim_owner IS NULL` when READ
    //    COMMITTED re-checks it on the newest version — so two claims never both take a flow.
    // (A claim that lets go of another's: that re-check reads the heartbeats as of its own
    // statement's start, so a claim an instance made in its very first tick, moments after its
    // heartbeat began, can be let go by a statement that started before it. Then two instances
    // hold the flow for a while: each deadline still fires once, by the compare-and-swap.)
    // `machines` (name@version): flows this instance cannot open — a newer release's, during a
    // rolling upgrade — are left to the instances that can; claimed here they would never fire.
    // Sent as text and cast: a parameter the server types as jsonb would be sent by postgres.js as a JSON string value.
    const runs = machines === undefined ? null : JSON.stringify(machines);
    await this.#sql`
      WITH alive AS (
        INSERT INTO flow_claimants (owner, alive_until, alive_since) VALUES (${owner}, ${claimUntil}, ${now})
        ON CONFLICT (owner) DO UPDATE SET alive_until = EXCLUDED.alive_until,
          alive_since = CASE WHEN flow_claimants.alive_until <= ${now} THEN ${now} ELSE flow_claimants.alive_since END),
      cleared AS (DELETE FROM flow_claimants WHERE alive_until < ${now - 86_400_000}),
      orphaned AS (
        SELECT f.id FROM flows f
        WHERE f.next_deadline_at <= ${until} AND f.claim_owner IS NOT NULL AND f.claim_owner <> ${owner}
          AND NOT EXISTS (SELECT 1 FROM flow_claimants c WHERE c.owner = f.claim_owner AND c.alive_until > ${now})
        FOR UPDATE OF f SKIP LOCKED)
      UPDATE flows f SET claim_owner = NULL, claim_until = NULL FROM orphaned WHERE f.id = orphaned.id`;
    const rows = await this.#sql`
      WITH own AS (
        SELECT id, revision, next_deadline_at FROM flows
        WHERE next_deadline_at <= ${until} AND claim_owner = ${owner}
          AND (${runs}::text IS NULL OR ${runs}::text::jsonb ? (machine || '@' || version))
        ORDER BY next_deadline_at, id
        LIMIT ${limit}),
      due AS (
        SELECT f.id FROM flows f
        WHERE f.next_deadline_at <= ${until} AND f.claim_owner IS NULL
          AND (${runs}::text IS NULL OR ${runs}::text::jsonb ? (f.machine || '@' || f.version))
        ORDER BY f.next_deadline_at, f.id
        LIMIT GREATEST(0, LEAST(${fresh}, ${limit} - (SELECT count(*) FROM own)))
        FOR UPDATE OF f SKIP LOCKED),
      claimed AS (
        -- claim_until too: an instance of an older release, during an upgrade, reads it.
        UPDATE flows f SET claim_owner = ${owner}, claim_until = ${claimUntil}
        FROM due WHERE f.id = due.id
        RETURNING f.id, f.revision, f.next_deadline_at)
      SELECT id, revision, next_deadline_at FROM own
      UNION ALL
      SELECT id, revision, next_deadline_at FROM claimed`;
    // No order of its own. Never the sealed snapshot: the engine reads only what it does not hold.
    return rows.map((row) => ({ id: row.id as string, revision: Number(row.revision), nextDeadlineAt: Number(row.next_deadline_at) })).sort((a, b) => a.nextDeadlineAt! - b.nextDeadlineAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Its heartbeat ends now: the next claimDue of any instance lets go of its claims (as of an owner that died). */
  async retire(owner: string, now: number): Promise<void> {
    await this.#sql`UPDATE flow_claimants SET alive_until = LEAST(alive_until, ${now}) WHERE owner = ${owner}`;
  }

  async claimant(owner: string): Promise<Claimant | null> {
    const [row] = await this.#sql`SELECT alive_until, alive_since FROM flow_claimants WHERE owner = ${owner}`;
    return row ? { aliveUntil: Number(row.alive_until), aliveSince: Number(row.alive_since) } : null;
  }

  /**
   * Delivers other instances' changes (LISTEN on a connection of its own, which postgres.js
   * re-establishes after a drop — a change notified while it was down is not delivered). This
   * instance's own writes are not delivered back: each payload names the instance that wrote it.
   */
  async subscribe(listener: (change: FlowChange) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    // One LISTEN with postgres.js per store, whatever happens to it: #deliver hands each change to
    // every listener. postgres.js keeps a LISTEN it was asked for and sets it up again after its
    // connection drops — also one whose first set-up was given up here, so asking again would
    // have delivered every change twice, for good (found in review).
    this.#listen ??= this.#startListening();
    try {
      // Bounded like every call: a database that does not answer fails start-up in words, not never.
      // Its first failure says why (a refused connection), unless it has listened since (race: first settled in order).
      await answerWithin(this.#sql, Promise.race([this.#listen.ready, this.#listen.failure]));
    } catch (error) {
      this.#listeners.delete(listener);
      // That failure is told once: whoever subscribes next waits for postgres.js's own next try.
      if (this.#listen) this.#listen.failure = new Promise<never>(() => undefined);
      throw error;
    }
    return async () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0 || !this.#listen) return;
      const listen = this.#listen;
      const registered = await listen.registered;
      // A LISTEN whose first set-up failed cannot be taken back (postgres.js re-made it on its own): kept for the next subscriber.
      if (!registered) return;
      if (this.#listen === listen) this.#listen = undefined;
      await registered.unlisten();
    };
  }

  /**
   * Asks postgres.js to LISTEN: `ready` once it listens (the first time), `failure` with the first
   * try's error, `registered` its handle (undefined when the first try failed).
   */
  #startListening(): Listening {
    let listens = 0;
    let listening!: () => void;
    let failed!: (error: unknown) => void;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => undefined);
    // postgres.js calls onlisten on every (re)connection of the listening connection: from the
    // second on, notifications sent while it was down are lost, and that is worth a line.
    const onlisten = () => {
      listening();
      if (listens++ > 0) this.#log(`store: LISTEN ${CHANNEL} re-established after a dropped connection; changes made meanwhile by other instances were not heard`);
    };
    const registered = this.#sql.listen(CHANNEL, (payload) => this.#deliver(payload), onlisten).then(
      (result) => result,
      (error: unknown) => (failed(error), undefined),
    );
    return { ready, failure, registered };
  }

  #deliver(payload: string): void {
    // An instance id is a UUID (no colon); what follows it names a gone flow's legal entity.
    const match = /^([^:]+):(\d+):([^:]*)(?::(.*))?$/s.exec(payload);
    if (!match || match[3] === this.instanceId) return;
    const change: FlowChange = { id: match[1]!, revision: Number(match[2]), ...(match[4] !== undefined ? { goneLegalEntity: match[4] } : {}) };
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#log(`store: a change listener failed on ${change.id}: ${(error as Error).message}`);
      }
    }
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = auditRows(entries).map((row) => ({ ...row, at: new Date(row.at) }));
    // One INSERT: the entries get their seq in the order given, and land together or not at all.
    await this.#sql`INSERT INTO flow_audit ${this.#sql(rows as never, "flow_id", "at", "from_state", "to_state", "event", "actor", "detail")}`;
  }

  async readAudit(flowId: string, limit: number): Promise<AuditEntry[]> {
    const rows = await this.#sql`
      SELECT * FROM (SELECT * FROM flow_audit WHERE flow_id = ${flowId} ORDER BY seq DESC LIMIT ${limit}) newest
      ORDER BY seq`;
    return rows.map(entryOf);
  }

  /** A fold of the flow's audit trail, unless one is under way here; bounded like every call, its failure a line in the log. */
  #foldSoon(flowId: string): void {
    if (this.#folds.has(flowId) || this.#closing) return;
    const run = answerWithin(this.#sql, this.foldAudit(flowId))
      .catch((error) => this.#log(`store: the audit trail of flow ${flowId} could not be folded (${(error as Error).message}); tried again at its next fold`))
      .finally(() => this.#folds.delete(flowId));
    this.#folds.set(flowId, run);
  }

  /**
   * Folds the flow's older routine audit entries into one (audit-fold.ts): the newest of them
   * becomes the entry that stands for them all, the others go — in one statement, so both happen or
   * neither. No transaction around them: a fold is a read, then that one statement, and two folds
   * of one flow (two instances) agree however they interleave. A fold is named by its standing
   * entry, and the entry it writes there counts every entry at or before it, whatever earlier folds
   * made of them — the same for whoever computes it; a fold whose read is stale deletes rows already
   * gone and updates a standing row a later fold has deleted, or writes the same count a current
   * read would. The routine entries are read through their own partial index (migration 5), so a
   * flow's other entries, however many, are never scanned.
   */
  async foldAudit(flowId: string): Promise<void> {
    const sql = this.#sql;
    const rows = await sql`SELECT * FROM flow_audit WHERE flow_id = ${flowId} AND detail @> '{"routine": true}'::jsonb ORDER BY seq`;
    const plan = planFold(rows.map(entryOf));
    if (plan === null) return;
    const folded = rows.slice(0, plan.fold).map((row) => String(row.seq));
    const standing = folded.pop()!;
    const [summary] = auditRows([plan.summary]);
    // Two such statements on one flow at once would lock its rows in different orders (a deadlock,
    // seen in the test): the statement first tries the flow's fold lock, held until it ends, and
    // does nothing when another fold has it — that fold does the work.
    await sql`
      WITH turn AS (SELECT pg_try_advisory_xact_lock(${FOLD_LOCK_KEY}, hashtext(${flowId})) AS ours),
      gone AS (DELETE FROM flow_audit WHERE (SELECT ours FROM turn) AND flow_id = ${flowId} AND seq IN (SELECT value::bigint FROM jsonb_array_elements_text(${sql.json(folded)})))
      UPDATE flow_audit SET event = ${summary!.event}, actor = NULL, detail = ${sql.json(summary!.detail as never)} WHERE (SELECT ours FROM turn) AND flow_id = ${flowId} AND seq = ${standing}`;
  }

  async readKeyCheck(): Promise<string | undefined> {
    const [row] = await this.#sql`SELECT value FROM store_facts WHERE name = ${KEY_CHECK}`;
    return row?.value as string | undefined;
  }

  async recordKeyCheck(value: string): Promise<string> {
    await this.#sql`INSERT INTO store_facts (name, value) VALUES (${KEY_CHECK}, ${value}) ON CONFLICT (name) DO NOTHING`;
    return (await this.readKeyCheck())!;
  }

  async damaged(id: string): Promise<DamageReport | undefined> {
    const [row] = await this.#sql`SELECT * FROM flow_damage WHERE flow_id = ${id} ORDER BY id DESC LIMIT 1`;
    return row ? reportOf(row) : undefined;
  }

  /** The reports this instance made since it opened (damaged() answers for every instance's). */
  damageReports(): DamageReport[] {
    return [...this.#reports];
  }

  /** Moves the flow's row into flow_damage (sealed snapshot and all) and tells the other instances. */
  async delete(id: string, expectedRevision: number): Promise<void> {
    if (!FLOW_ID_PATTERN.test(id)) throw new Error(`invalid flow id ${JSON.stringify(id)}`);
    // One statement: the flow at that revision, its audit trail with it, and the other instances
    // told (a revision past the last written: they drop what they hold of it).
    const gone = await this.#sql`
      WITH gone AS (DELETE FROM flows WHERE id = ${id} AND revision = ${expectedRevision} RETURNING revision, legal_entity),
      trail AS (DELETE FROM flow_audit WHERE flow_id = ${id} AND EXISTS (SELECT 1 FROM gone))
      SELECT pg_notify(${CHANNEL}, ${id} || ':' || (revision + 1) || ':' || ${this.instanceId} || coalesce(':' || legal_entity, '')) FROM gone`;
    if (gone.length === 1) return;
    const [current] = await this.#sql`SELECT revision FROM flows WHERE id = ${id}`;
    throw new StaleWriteError(id, expectedRevision, current ? Number(current.revision) : null);
  }

  async quarantine(id: string, reason: string): Promise<DamageReport> {
    if (!FLOW_ID_PATTERN.test(id)) throw new Error(`invalid flow id ${JSON.stringify(id)}`);
    const file = `flows/${id}`;
    const row = await this.#sql.begin(async (tx) => {
      const [gone] = await tx`DELETE FROM flows WHERE id = ${id} RETURNING *`;
      const record = gone ? (recordOf(gone) as unknown as postgres.JSONValue) : null;
      const [report] = await tx`
        INSERT INTO flow_damage (flow_id, file, reason, at, record)
        VALUES (${id}, ${file}, ${storableText(reason)}, ${new Date()}, ${record === null ? null : tx.json(record)})
        RETURNING *`;
      // Other instances drop what they hold of it; the revision is past the last one written.
      if (gone) await tx`SELECT pg_notify(${CHANNEL}, ${`${id}:${Number(gone.revision) + 1}:${this.instanceId}${typeof gone.legal_entity === "string" ? `:${gone.legal_entity}` : ""}`})`;
      return report!;
    });
    const report = reportOf(row);
    this.#reports.push(report);
    this.#log(`store: ${file} is damaged (${reason}); moved to ${report.movedTo}; the other flows serve`);
    return report;
  }

  /** Ends the pool and the listening connection; queries under way get up to 5 s to finish. */
  async close(): Promise<void> {
    // The notifications of committed writes already gathered go out first, and folds under way
    // finish (none starts now) — for as long as the pool would give a query anyway.
    this.#closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all([this.#notifying, ...this.#folds.values()]), new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    this.#listeners.clear();
    this.#listen = undefined;
    await this.#sql.end({ timeout: 5 });
  }
}

/** host:port/database of a URL, never its password. */
function where(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.host}${url.pathname}`;
  } catch {
    return "(DATABASE_URL)";
  }
}

/** bigint arrives as text (postgres.js keeps 64-bit exact); ms since the epoch fit a double. */
const ms = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** Times come back as toISOString() writes them (ms, "Z"), which is how the engine writes them. */
function rowOf(row: Row): FlowRow {
  return {
    id: row.id as string,
    machine: row.machine as string,
    version: row.version as number,
    revision: Number(row.revision),
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
    summary: row.summary as Record<string, unknown>,
    nextDeadlineAt: ms(row.next_deadline_at),
    attentionFrom: ms(row.attention_from),
    lease: row.lease_owner === null ? null : { owner: row.lease_owner as string, until: Number(row.lease_until) },
  };
}

function recordOf(row: Row): FlowRecord {
  return { ...rowOf(row), sealedSnapshot: row.sealed_snapshot as string };
}

function reportOf(row: Row): DamageReport {
  return { id: row.flow_id as string | null, file: row.file as string, movedTo: `flow_damage/${row.id}`, reason: row.reason as string, at: (row.at as Date).toISOString() };
}

/**
 * A record as column values; a time the database cannot hold is refused here, with the field named.
 * The summary is made storable (storable.ts): it can carry a provider's words (lastError).
 */
function columnsOf(record: FlowRecord) {
  const time = (field: "createdAt" | "updatedAt") => {
    const date = new Date(record[field]);
    if (Number.isNaN(date.getTime())) throw new TypeError(`Flow ${record.id}: ${field} ${JSON.stringify(record[field])} is not a time`);
    return date;
  };
  return {
    id: record.id,
    machine: record.machine,
    version: record.version,
    revision: record.revision,
    createdAt: time("createdAt"),
    updatedAt: time("updatedAt"),
    summary: storable(record.summary) as postgres.JSONValue,
    sealedSnapshot: record.sealedSnapshot,
    nextDeadlineAt: record.nextDeadlineAt ?? null,
    attentionFrom: record.attentionFrom ?? null,
    leaseOwner: record.lease?.owner ?? null,
    leaseUntil: record.lease?.until ?? null,
  };
}

/** A flow_audit row as the audit entry it was made from. */
function entryOf(row: Row): AuditEntry {
  return {
    flowId: row.flow_id as string,
    at: (row.at as Date).toISOString(),
    from: row.from_state as string | null,
    to: row.to_state as string,
    event: row.event as string,
    user: row.actor as string | null,
    ...((row.detail as Record<string, unknown> | null) ?? {}),
  };
}

/**
 * Audit entries as flow_audit rows (times as ISO strings; extra public fields such as `person` in
 * detail), made storable (storable.ts): an entry can carry a provider's words.
 */
function auditRows(entries: AuditEntry[]) {
  return entries.map(({ flowId, at, from, to, event, user, ...rest }) =>
    storable({
      flow_id: flowId,
      at,
      from_state: from,
      to_state: to,
      event,
      actor: user,
      detail: Object.keys(rest).length ? rest : null,
    }),
  );
}

/**
 * The audit half of a save's statement: the entries (a JSON array, in order) inserted only when the
 * `written` CTE wrote the flow. WITH ORDINALITY keeps their order in the sequence.
 */
function auditInsert(sql: postgres.Sql, entries: unknown) {
  return sql`
    INSERT INTO flow_audit (flow_id, at, from_state, to_state, event, actor, detail)
    SELECT e.flow_id, e.at, e.from_state, e.to_state, e.event, e.actor, e.detail
    FROM written, ROWS FROM (jsonb_to_recordset(${entries as never}::jsonb) AS (flow_id text, at timestamptz, from_state text, to_state text, event text, actor text, detail jsonb))
      WITH ORDINALITY AS e(flow_id, at, from_state, to_state, event, actor, detail, n)
    ORDER BY e.n
    RETURNING 1`;
}
