// Versioned schema migrations, applied at start-up by every instance. They run in one transaction
// under a transaction-scoped advisory lock, so when three instances start at once one applies
// what is missing and the others wait, then find nothing to do; a failed migration rolls back
// whole and the instance does not start. schema_migrations says which versions are in; when it
// already holds every version this instance knows, no lock is taken at all.
//
// Start-up never waits without a word: a wait for the lock (another instance migrating, or a
// session stuck holding it) and a migration's wait for a table's lock (a long transaction on it)
// each last at most `lockWaitSeconds` (lock_timeout: an ALTER TABLE queued behind a long
// transaction would otherwise queue every query of every instance behind itself), then the wait is
// named in the log — who holds the lock, for how long — and tried again, for as long as it takes.
// A database that does not answer at all fails start-up in words (`bound`, connect.ts).
//
// Rules for a new migration: append it with the next version, never edit one that has shipped;
// keep it additive (an older instance still running beside a newer one during a rolling deploy
// must keep working); nothing that cannot run in a transaction (no CREATE INDEX CONCURRENTLY).
import type postgres from "postgres";

export interface Migration {
  version: number;
  name: string;
  /** One or more statements, run as a simple query (no parameters). */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "flows, audit trail, damage reports",
    sql: /* sql */ `
      -- One row per flow. id is COLLATE "C": list order (created_at, id) is then byte order, the
      -- same as the lowdb store's, and comparisons are cheaper. Times the engine reasons about
      -- (deadlines, attention, leases, claims) are ms since the epoch as bigint, on the engine's
      -- clock, never the database's; created_at/updated_at are timestamps for people and for order.
      CREATE TABLE flows (
        id               text COLLATE "C" PRIMARY KEY,
        machine          text        NOT NULL,
        version          integer     NOT NULL,
        revision         bigint      NOT NULL,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        summary          jsonb       NOT NULL,
        -- Derived, so they can never disagree with the summary the engine wrote.
        legal_entity     text GENERATED ALWAYS AS (summary ->> 'legalEntity') STORED,
        state            text GENERATED ALWAYS AS (summary ->> 'state') STORED,
        sealed_snapshot  text        NOT NULL,
        next_deadline_at bigint,
        attention_from   bigint,
        lease_owner      text,
        lease_until      bigint,
        claim_owner      text,
        claim_until      bigint,
        CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
      );
      -- list: keyset pages in (created_at, id) order, unfiltered or by one filter.
      CREATE INDEX flows_list ON flows (created_at, id);
      CREATE INDEX flows_by_legal_entity ON flows (legal_entity, created_at, id);
      CREATE INDEX flows_by_state ON flows (state, created_at, id);
      -- Few flows need a person at a time: a partial index stays small.
      CREATE INDEX flows_attention ON flows (attention_from) WHERE attention_from IS NOT NULL;
      -- The due-time index: claimDue reads it earliest first.
      CREATE INDEX flows_due ON flows (next_deadline_at, id) WHERE next_deadline_at IS NOT NULL;

      -- The audit trail, append-only. No foreign key to flows on purpose: a quarantined flow's
      -- row is gone, and who did what to it must stay.
      CREATE TABLE flow_audit (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        flow_id    text COLLATE "C" NOT NULL,
        at         timestamptz NOT NULL,
        from_state text,
        to_state   text NOT NULL,
        event      text NOT NULL,
        actor      text,
        -- Any further public fields of the entry (the masked person of a login).
        detail     jsonb
      );
      CREATE INDEX flow_audit_by_flow ON flow_audit (flow_id, seq);

      -- Flows set aside (quarantine): the row as it was, the reason, when.
      CREATE TABLE flow_damage (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        flow_id text COLLATE "C",
        file    text NOT NULL,
        reason  text NOT NULL,
        at      timestamptz NOT NULL,
        record  jsonb
      );
      CREATE INDEX flow_damage_by_flow ON flow_damage (flow_id, id);
    `,
  },
  {
    version: 2,
    name: "stored integrations and their audit trail",
    sql: /* sql */ `
      -- Integrations added on the page or through /api/integrations (src/integrations). settings is
      -- the non-secret part; the client secret (or private key) is sealed with the service's key,
      -- bound to the integration's name. revision: compare-and-swap for edits (409 on a stale one).
      CREATE TABLE integrations (
        name              text COLLATE "C" PRIMARY KEY,
        revision          bigint      NOT NULL,
        created_at        timestamptz NOT NULL,
        updated_at        timestamptz NOT NULL,
        settings          jsonb       NOT NULL,
        sealed_credential text
      );
      -- Who changed which fields of which integration, append-only; never a secret's value.
      CREATE TABLE integration_audit (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        integration text COLLATE "C" NOT NULL,
        at          timestamptz NOT NULL,
        action      text NOT NULL,
        client      text NOT NULL,
        actor_user  text,
        changed     jsonb NOT NULL
      );
      CREATE INDEX integration_audit_by_integration ON integration_audit (integration, seq);
    `,
  },
  {
    version: 3,
    name: "page sessions ended by sign-out",
    sql: /* sql */ `
      -- A page session is a sealed cookie (src/identity/sessions.ts); signing out names it here until
      -- it would have expired anyway, so a copy of the cookie is refused by every instance, also after a restart.
      CREATE TABLE ended_sessions (
        sid        text COLLATE "C" PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires_at);
    `,
  },
  {
    version: 4,
    name: "sign-in failures",
    sql: /* sql */ `
      -- The page's failed sign-in attempts (src/identity/sign-in-attempts.ts), one row per failure
      -- per key ("u:<user>" or "a:<address>"), so the limit holds across every instance. Rows older
      -- than the limit's window are deleted by the next attempt on their key.
      CREATE TABLE sign_in_failures (
        id  bigserial PRIMARY KEY,
        key text COLLATE "C" NOT NULL,
        at  bigint NOT NULL
      );
      CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at);
    `,
  },
  {
    version: 5,
    name: "routine audit entries by flow",
    sql: /* sql */ `
      -- A flow's routine audit entries (upkeep: store/audit-fold.ts), which its fold reads every 64
      -- revisions: without this index the fold filtered every entry of the flow — a year of a busy
      -- flow, or entries from before routine ones were marked — and on a big table the planner
      -- chose a scan of the whole table. The predicate is written as the fold's query writes it.
      CREATE INDEX flow_audit_routine ON flow_audit (flow_id, seq) WHERE detail @> '{"routine": true}'::jsonb;
    `,
  },
  {
    version: 6,
    name: "claims held while their instance lives",
    sql: /* sql */ `
      -- Each instance's heartbeat, renewed by its every tick (claimDue). A due flow's claim holds
      -- while its owner's heartbeat does: an instance no longer rewrites every flow it holds each
      -- second (about 2.5 KB of WAL per flow and tick, a dead row each — 500 row updates a second
      -- with 10,000 flows), only the heartbeat and the flows it newly claims. A dead instance's
      -- claims end with its heartbeat. alive_until is on the instances' clock (ms), like every time
      -- the engine reasons about.
      CREATE TABLE flow_claimants (
        owner       text COLLATE "C" PRIMARY KEY,
        alive_until bigint NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: "facts about the store",
    sql: /* sql */ `
      -- One value per name. "encryption-key-check": an HMAC under the ENCRYPTION_KEY the flows are
      -- sealed with (store/key-check.ts); an instance started with another key refuses to start
      -- instead of setting every flow it reads aside as damaged, for every instance.
      CREATE TABLE store_facts (
        name  text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: "sign-in failures by time",
    sql: /* sql */ `
      -- Migration 4's rows were deleted only by the next attempt on their key, so a user name or an
      -- address that never came back stayed for good. Each instance now also deletes rows older than
      -- the window whatever their key, at most once a minute and in batches
      -- (src/identity/sign-in-attempts.ts); this index makes that a range scan, not a scan of the table.
      CREATE INDEX sign_in_failures_by_at ON sign_in_failures (at);
    `,
  },
  {
    version: 9,
    name: "since when an instance's heartbeat has held",
    sql: /* sql */ `
      -- An ended call lease is taken over only once its owner, if alive, has had time to write the
      -- answer it may hold (src/engine/flow-engine.ts #mayTakeOver): a database out of reach for
      -- longer than a lease ends the lease and the heartbeat alike, and the owner writes its answer
      -- once the database is back. alive_since: when the heartbeat began again after it last ended
      -- (the instances' clock, ms, like alive_until). 0 for an instance of an older release, which
      -- does not set it.
      ALTER TABLE flow_claimants ADD COLUMN alive_since bigint NOT NULL DEFAULT 0;
    `,
  },
];

/** pg_advisory_xact_lock's two keys: "auth" and "flow" in ASCII, so the lock is recognisable in pg_locks. */
const LOCK_KEYS = [0x61757468, 0x666c6f77] as const;

export interface MigrationOutcome {
  /** Versions this call applied (empty when another instance, or an earlier start, did). */
  applied: number[];
  /** The newest version in the database. */
  version: number;
}

export interface MigrateOptions {
  /** Where a wait is said (default: the console's error stream). */
  log?: (line: string) => void;
  /** How long one wait for a lock lasts before it is said again and tried again (default 15). */
  lockWaitSeconds?: number;
  /**
   * Bounds a statement's wait for the database's answer to `seconds` (connect.ts's answerWithin).
   * Every statement but a migration's own, which may take long by right (an index on a large table).
   */
  bound?: <T>(work: Promise<T>, seconds: number) => Promise<T>;
}

/** PostgreSQL's lock_not_available: lock_timeout passed (or a NOWAIT found the lock taken). */
const LOCK_NOT_AVAILABLE = "55P03";

export async function migrate(sql: postgres.Sql, migrations: readonly Migration[] = MIGRATIONS, options: MigrateOptions = {}): Promise<MigrationOutcome> {
  const log = options.log ?? ((line: string) => console.error(line));
  const wait = options.lockWaitSeconds ?? 15;
  const given = options.bound ?? (<T>(work: Promise<T>) => work);
  // A bound that gave up is why the transaction failed, whatever postgres.js reports first (its
  // connection closed beneath it): that is what start-up says (found in review).
  let silent: unknown;
  const bound = <T>(work: Promise<T>, seconds: number): Promise<T> =>
    given(work, seconds).catch((error: unknown) => {
      if ((error as { code?: unknown } | null)?.code === "DATABASE_SILENT") silent ??= error;
      throw error;
    });
  const ordered = [...migrations].sort((a, b) => a.version - b.version);

  // Every restart and every module's pool after the first: nothing to do, and no lock to queue for.
  const installed = await bound(installedVersions(sql), wait);
  if (installed && ordered.every((m) => installed.has(m.version))) return { applied: [], version: Math.max(0, ...installed) };

  const started = Date.now();
  for (;;) {
    let step = "the schema lock";
    const attempt = Date.now();
    try {
      return await sql.begin(async (tx) => {
        await bound(tx.unsafe(`SET LOCAL lock_timeout = '${Math.round(wait * 1000)}ms'`), wait);
        // Three instances starting at once wait here for a moment, in silence; a wait of a whole
        // answer time is named below.
        await bound(tx`SELECT pg_advisory_xact_lock(${LOCK_KEYS[0]}, ${LOCK_KEYS[1]})`, 2 * wait);
        step = "the table schema_migrations";
        await bound(
          tx`CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
          )`,
          2 * wait,
        );
        const done = new Set((await bound(tx`SELECT version FROM schema_migrations`, 2 * wait)).map((row) => row.version as number));
        const applied: number[] = [];
        for (const migration of ordered) {
          if (done.has(migration.version)) continue;
          step = `migration ${migration.version} (${migration.name})`;
          await tx.unsafe(migration.sql).simple();
          await bound(tx`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`, wait);
          applied.push(migration.version);
          done.add(migration.version);
        }
        return { applied, version: Math.max(0, ...done) };
      });
    } catch (error) {
      if (silent !== undefined) throw silent;
      const waited = Date.now() - attempt;
      // Only a wait that lasted the lock timeout is tried again: a NOWAIT in a migration fails the
      // same way at once, and would go round for ever (found in review).
      if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE || waited < wait * 900) throw error;
      const holders = await describeHolders(sql, bound, wait, step === "the schema lock" ? "lock" : "tables");
      log(`store: ${step} waited ${Math.round(waited / 1000)} s for a lock (${Math.round((Date.now() - started) / 1000)} s since start-up began), held by ${holders}; trying again`);
    }
  }
}

/** The versions in schema_migrations, or undefined before the first migration made it. */
async function installedVersions(sql: postgres.Sql): Promise<Set<number> | undefined> {
  const [table] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (!table!.present) return undefined;
  return new Set((await sql`SELECT version FROM schema_migrations`).map((row) => row.version as number));
}

/**
 * Who start-up waits for, in words: the session holding the schema lock (`lock`), or the sessions
 * holding locks on this schema's tables (`tables`: a migration's table lock waits for one of them;
 * not merely the oldest transactions, which named the instances queued for the schema lock — found
 * in review), oldest transaction first. Each as PostgreSQL's pid, its application, its address, its
 * state and how long it has been in its transaction — enough to find it in pg_stat_activity and, if
 * it is stuck, end it.
 */
async function describeHolders(sql: postgres.Sql | postgres.TransactionSql, bound: NonNullable<MigrateOptions["bound"]>, wait: number, which: "lock" | "tables"): Promise<string> {
  try {
    const rows =
      which === "lock"
        ? await bound(
            sql`SELECT a.pid, a.application_name, host(a.client_addr) AS client, a.state, extract(epoch FROM now() - a.xact_start)::int AS seconds
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ${LOCK_KEYS[0]} AND l.objid = ${LOCK_KEYS[1]} AND l.objsubid = 2`,
            wait,
          )
        : await bound(
            sql`SELECT a.pid, a.application_name, host(a.client_addr) AS client, a.state, extract(epoch FROM now() - a.xact_start)::int AS seconds
                FROM pg_stat_activity a
                WHERE a.pid <> pg_backend_pid() AND a.pid IN (
                  SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                  WHERE l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))
                ORDER BY a.xact_start LIMIT 3`,
            wait,
          );
    if (rows.length === 0) return which === "lock" ? "a session that has let it go since" : "a session that has let go of its locks since";
    return rows
      .map((r) => `PostgreSQL pid ${r.pid} (${r.application_name || "no application name"}${r.client ? ` at ${r.client}` : ""}, ${r.state ?? "state unknown"}, in its transaction for ${r.seconds} s)`)
      .join(", ");
  } catch (error) {
    return `a session that could not be named (${(error as Error).message})`;
  }
}
