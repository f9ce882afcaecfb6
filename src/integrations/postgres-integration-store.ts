// PostgreSQL mode: stored integrations in the `integrations` table (migration 2), shared by every
// instance; the audit trail in `integration_audit`. A change and its audit entry are one
// transaction; compare-and-swap on `revision` refuses a stale edit from any instance. The settings,
// the audit entry and a name looked up are made storable first (store/postgres/storable.ts).
import postgres from "postgres";
import { AuthflowError } from "../errors.ts";
import { boundCalls, openMigrated } from "../store/postgres/connect.ts";
import { storable, storableText } from "../store/postgres/storable.ts";
import { IntegrationConflict, type IntegrationRecord, type IntegrationSettings, type IntegrationStore } from "./integration-store.ts";
import type { IntegrationAuditEntry } from "./integration-types.ts";

type Row = Record<string, unknown>;

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

function recordOf(row: Row): IntegrationRecord {
  return {
    name: row.name as string,
    revision: Number(row.revision),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    settings: row.settings as IntegrationSettings,
    sealedCredential: (row.sealed_credential as string | null) ?? null,
  };
}

/**
 * How long a creation or a delete waits for the other's hold on an integration's row. Each holds it
 * for moments (a flow's insert; a count of the flows), so a longer wait means one is stuck: it is
 * answered in words, as a busy row, not left to the database timeout — which said "the database
 * cannot be reached", let go of the pool's connections, and held up every other call on this small
 * pool (the page's policy lists the integrations) for as long (review).
 */
const ROW_LOCK_WAIT_MS = 2_000;
/** PostgreSQL's lock_not_available: lock_timeout passed. */
const LOCK_NOT_AVAILABLE = "55P03";

const busyRow = (name: string, doing: "used" | "deleted") => (error: unknown): never => {
  if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
  const other = doing === "used" ? "being deleted" : "being used to create a flow";
  throw new AuthflowError("conflict", 409, `Integration "${name}" is ${other} on another instance just now (it did not let go within ${ROW_LOCK_WAIT_MS / 1000} s). Try again in a moment.`, {
    extra: { retryAfterSeconds: 2 },
  });
};

export class PostgresIntegrationStore implements IntegrationStore {
  readonly #sql: postgres.Sql;

  private constructor(sql: postgres.Sql) {
    this.#sql = sql;
    boundCalls(this, sql, ["list", "get", "revisionOf", "save", "remove", "readAudit", "whileKept"]);
  }

  /** `answerSeconds`: how long a call waits for the database (DATABASE_TIMEOUT_SECONDS; store/postgres/connect.ts). */
  static async open(databaseUrl: string, answerSeconds?: number): Promise<PostgresIntegrationStore> {
    // The flow store has normally applied the migrations already: then there is nothing to do.
    return new PostgresIntegrationStore(await openMigrated(databaseUrl, "authflow-integrations", 2, answerSeconds));
  }

  async list(): Promise<IntegrationRecord[]> {
    return (await this.#sql`SELECT * FROM integrations ORDER BY name`).map(recordOf);
  }

  async get(name: string): Promise<IntegrationRecord | undefined> {
    const [row] = await this.#sql`SELECT * FROM integrations WHERE name = ${storableText(name)}`;
    return row ? recordOf(row) : undefined;
  }

  async revisionOf(name: string): Promise<number | undefined> {
    const [row] = await this.#sql`SELECT revision FROM integrations WHERE name = ${storableText(name)}`;
    return row ? Number(row.revision) : undefined;
  }

  async save(record: IntegrationRecord, expectedRevision: number | null, audit: IntegrationAuditEntry): Promise<void> {
    await this.#sql.begin(async (tx) => {
      const settings = tx.json(storable(record.settings) as unknown as postgres.JSONValue);
      const written =
        expectedRevision === null
          ? await tx`INSERT INTO integrations (name, revision, created_at, updated_at, settings, sealed_credential)
                     VALUES (${record.name}, ${record.revision}, ${record.createdAt}, ${record.updatedAt}, ${settings}, ${record.sealedCredential})
                     ON CONFLICT (name) DO NOTHING RETURNING name`
          : await tx`UPDATE integrations SET revision = ${record.revision}, updated_at = ${record.updatedAt}, settings = ${settings},
                       sealed_credential = ${record.sealedCredential}
                     WHERE name = ${record.name} AND revision = ${expectedRevision} RETURNING name`;
      if (written.length === 0) throw new IntegrationConflict(record.name, (await this.#revisionIn(tx, record.name)) ?? null);
      await this.#appendAudit(tx, audit);
    });
  }

  /**
   * The row is locked FOR UPDATE before `mayRemove` counts the flows: a creation on any instance
   * holds the row FOR KEY SHARE until its flow is committed (whileKept), so the lock waits for those
   * under way, and the count, a statement after it, sees their flows; creations that come later wait
   * for this transaction and then find the row gone. (One statement — DELETE … WHERE NOT EXISTS —
   * would not do: after waiting for the lock, READ COMMITTED re-checks only the row, not the
   * subquery, whose snapshot predates the flows just committed.)
   */
  async remove(name: string, expectedRevision: number, audit: IntegrationAuditEntry, mayRemove?: () => Promise<void>): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL lock_timeout = '${ROW_LOCK_WAIT_MS}ms'`);
      const [held] = await tx`SELECT revision FROM integrations WHERE name = ${name} FOR UPDATE`.catch(busyRow(name, "deleted"));
      if (!held || Number(held.revision) !== expectedRevision) throw new IntegrationConflict(name, held ? Number(held.revision) : null);
      await mayRemove?.();
      await tx`DELETE FROM integrations WHERE name = ${name}`;
      await this.#appendAudit(tx, audit);
    });
  }

  /**
   * Holds the integration's row FOR KEY SHARE while `work` creates a flow (its insert commits on the
   * flow store's own connections), so no instance removes the integration meanwhile (see remove):
   * the in-process guard of IntegrationRegistry covers only this instance (review: 15 of 30
   * creations raced with a removal on another instance made a flow whose integration was gone).
   * The two pools are separate, so a creation holding this one's connection never waits for a
   * connection that another such creation holds.
   */
  async whileKept<T>(name: string, work: () => Promise<T>): Promise<T> {
    let result: T | undefined;
    await this.#sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL lock_timeout = '${ROW_LOCK_WAIT_MS}ms'`);
      const [kept] = await tx`SELECT 1 FROM integrations WHERE name = ${storableText(name)} FOR KEY SHARE`.catch(busyRow(name, "used"));
      if (!kept) throw new IntegrationConflict(name, null);
      result = await work();
    });
    return result as T;
  }

  async readAudit(name: string, limit = 200): Promise<IntegrationAuditEntry[]> {
    const rows = await this.#sql`SELECT * FROM (SELECT * FROM integration_audit WHERE integration = ${name} ORDER BY seq DESC LIMIT ${limit}) recent ORDER BY seq`;
    return rows.map((row) => ({
      at: iso(row.at),
      integration: row.integration as string,
      action: row.action as IntegrationAuditEntry["action"],
      client: row.client as string,
      user: (row.actor_user as string | null) ?? null,
      changed: row.changed as string[],
    }));
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }

  async #revisionIn(tx: postgres.TransactionSql, name: string): Promise<number | undefined> {
    const [row] = await tx`SELECT revision FROM integrations WHERE name = ${name}`;
    return row ? Number(row.revision) : undefined;
  }

  async #appendAudit(tx: postgres.TransactionSql, audited: IntegrationAuditEntry): Promise<void> {
    const entry = storable(audited);
    await tx`INSERT INTO integration_audit (integration, at, action, client, actor_user, changed)
             VALUES (${entry.integration}, ${entry.at}, ${entry.action}, ${entry.client}, ${entry.user}, ${tx.json(entry.changed)})`;
  }
}
