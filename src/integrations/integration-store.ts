// Where stored integrations live: one private, durable JSON file under DATA_DIR (lowdb mode), or a
// PostgreSQL table (postgres-integration-store.ts). Both hold the same record: the settings in
// clear (no secret among them) and the client secret (or private key) sealed with the service's
// SecretBox, bound to the integration's name. Each change bumps a revision; a write naming an
// older revision is refused (compare-and-swap), so two editors never overwrite each other blindly.
// The audit trail of changes is kept beside it, durably (a JSON Lines file; a table).
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { DurableJsonFile } from "../store/durable-json-file.ts";
import { scanLinesFromEnd } from "../store/lines-from-end.ts";
import { appendDurably, ensurePrivateDir, errorCode } from "../store/private-files.ts";
import type { IntegrationAuditEntry, IntegrationSettings } from "./integration-types.ts";

export type { IntegrationSettings } from "./integration-types.ts";

export interface IntegrationRecord {
  name: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  settings: IntegrationSettings;
  /** The client secret (client_secret_*) or private key (private_key_jwt), sealed; aad = credentialBinding(name). */
  sealedCredential: string | null;
}

/** The additional data a credential is sealed with: a sealed secret copied to another integration does not open. */
export const credentialBinding = (name: string) => `authflow integration ${name} credential v1`;

/** A write whose expected revision is not the stored one (or a create of a name that exists). */
export class IntegrationConflict extends Error {
  readonly integration: string;
  readonly storedRevision: number | null;

  constructor(integration: string, storedRevision: number | null) {
    super(storedRevision === null ? `integration ${integration} does not exist` : `integration ${integration} is at revision ${storedRevision}`);
    this.name = "IntegrationConflict";
    this.integration = integration;
    this.storedRevision = storedRevision;
  }
}

export interface IntegrationStore {
  list(): Promise<IntegrationRecord[]>;
  get(name: string): Promise<IntegrationRecord | undefined>;
  /** The stored revision, or undefined: a cheap check whether a cached client is still current. */
  revisionOf(name: string): Promise<number | undefined>;
  /** Writes `record` if the stored revision is `expectedRevision` (null: nothing stored yet), with its audit entry. */
  save(record: IntegrationRecord, expectedRevision: number | null, audit: IntegrationAuditEntry): Promise<void>;
  /**
   * Removes the integration if its stored revision is `expectedRevision`, with its audit entry.
   * `mayRemove` runs first, once no flow can be created for it anywhere until the removal is done
   * (see `whileKept`): it counts the flows that use it and throws to refuse.
   */
  remove(name: string, expectedRevision: number, audit: IntegrationAuditEntry, mayRemove?: () => Promise<void>): Promise<void>;
  /**
   * Runs `work` (a flow's creation) while the integration cannot be removed by any instance; throws
   * IntegrationConflict (stored revision null) if it does not exist, or was removed meanwhile.
   */
  whileKept<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** The integration's audit trail, oldest first (also after it was deleted). */
  readAudit(name: string, limit?: number): Promise<IntegrationAuditEntry[]>;
  close(): Promise<void>;
}

interface FileDocument {
  version: 1;
  integrations: Record<string, IntegrationRecord>;
}

export const INTEGRATIONS_FILE = "integrations.json";
export const INTEGRATIONS_AUDIT_FILE = join("audit", "integrations.jsonl");
/** Audit reads scanning the file at once (each holds one chunk); a read-only API client can ask for many. */
const AUDIT_READERS = 2;

/**
 * lowdb mode: DATA_DIR/integrations.json, written whole through the same durable, private writer
 * as the flows (temp file, fsync, rename, 0600), and DATA_DIR/audit/integrations.jsonl. One process
 * owns DATA_DIR (its lock), so the document in memory is the truth; changes are serialized here.
 */
export class FileIntegrationStore implements IntegrationStore {
  #doc: FileDocument;
  readonly #file: DurableJsonFile<FileDocument>;
  readonly #auditPath: string;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #auditReaders = new Turns(AUDIT_READERS);

  private constructor(file: DurableJsonFile<FileDocument>, auditPath: string, doc: FileDocument) {
    this.#file = file;
    this.#auditPath = auditPath;
    this.#doc = doc;
  }

  static async open(dataDir: string, log: (line: string) => void = () => {}): Promise<FileIntegrationStore> {
    for (const dir of [dataDir, join(dataDir, "audit")]) {
      const { warning } = await ensurePrivateDir(dir);
      if (warning) log(`integrations: ${warning}`);
    }
    const path = join(dataDir, INTEGRATIONS_FILE);
    const file = new DurableJsonFile<FileDocument>(path);
    let doc: FileDocument = { version: 1, integrations: {} };
    const text = await file.readText();
    if (text !== null) {
      const problem = documentProblem(text);
      if (problem === undefined) {
        doc = JSON.parse(text) as FileDocument;
      } else {
        // A torn or foreign file is set aside and named, never a reason not to start (DESIGN §3).
        const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, "-")}`;
        await rename(path, aside);
        log(`integrations: ${path} ${problem}; set aside as ${aside} — the stored integrations in it are not loaded (add them again, or repair the file and restart)`);
      }
    }
    return new FileIntegrationStore(file, join(dataDir, INTEGRATIONS_AUDIT_FILE), doc);
  }

  async list(): Promise<IntegrationRecord[]> {
    return Object.values(this.#doc.integrations).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async get(name: string): Promise<IntegrationRecord | undefined> {
    return Object.hasOwn(this.#doc.integrations, name) ? this.#doc.integrations[name] : undefined;
  }

  async revisionOf(name: string): Promise<number | undefined> {
    return (await this.get(name))?.revision;
  }

  save(record: IntegrationRecord, expectedRevision: number | null, audit: IntegrationAuditEntry): Promise<void> {
    return this.#serial(async () => {
      const stored = await this.get(record.name);
      if ((stored?.revision ?? null) !== expectedRevision) throw new IntegrationConflict(record.name, stored?.revision ?? null);
      await this.#write({ ...this.#doc.integrations, [record.name]: record });
      await this.#appendAudit(audit);
    });
  }

  remove(name: string, expectedRevision: number, audit: IntegrationAuditEntry, mayRemove?: () => Promise<void>): Promise<void> {
    return this.#serial(async () => {
      const stored = await this.get(name);
      if (stored?.revision !== expectedRevision) throw new IntegrationConflict(name, stored?.revision ?? null);
      await mayRemove?.();
      const { [name]: _gone, ...rest } = this.#doc.integrations;
      await this.#write(rest);
      await this.#appendAudit(audit);
    });
  }

  /** One process owns DATA_DIR: the registry's guard in this process (IntegrationRegistry.use/deleting) is all it takes. */
  async whileKept<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (!(await this.get(name))) throw new IntegrationConflict(name, null);
    return work();
  }

  /**
   * Read from the file's end, one chunk at a time, until `limit` entries of `name` are found: the
   * file is never folded, so reading all of it made each call cost what the file had grown to (and
   * fail past ~512 MB). At most AUDIT_READERS scans run at once; the others wait their turn, so many
   * calls for a name with few entries (each a scan of the whole file) cannot crowd out other work.
   */
  async readAudit(name: string, limit = 200): Promise<IntegrationAuditEntry[]> {
    limit = Math.trunc(limit); // as slice(-limit) had it
    if (!(limit >= 1)) return []; // as PostgreSQL's LIMIT 0 (slice(-0) answered every entry)
    const leave = await this.#auditReaders.enter();
    try {
      // Our lines are JSON.stringify's, which writes a string the same way each time (it escapes only
      // quotes, backslashes, control characters and lone surrogates): a line without the name as a
      // JSON string is not the name's, and is not parsed — most lines, in a scan of the whole file.
      const quoted = JSON.stringify(name);
      const newestFirst: IntegrationAuditEntry[] = [];
      await scanLinesFromEnd(this.#auditPath, (line) => {
        if (!line.includes(quoted)) return false;
        try {
          const entry = JSON.parse(line) as IntegrationAuditEntry;
          if (entry.integration === name) newestFirst.push(entry);
        } catch {
          // a line torn by a crash is skipped
        }
        return newestFirst.length >= limit;
      });
      return newestFirst.reverse();
    } catch (error) {
      if (errorCode(error) === "ENOENT") return [];
      throw error;
    } finally {
      leave();
    }
  }

  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
  }

  /** The document in memory changes only once it is on disk: a failed write leaves both as they were. */
  async #write(integrations: Record<string, IntegrationRecord>): Promise<void> {
    const next: FileDocument = { version: 1, integrations };
    await this.#file.write(next);
    this.#doc = next;
  }

  /** Appended right after the write; a crash between the two loses the entry, not the change (as the flows' audit in lowdb mode). */
  async #appendAudit(entry: IntegrationAuditEntry): Promise<void> {
    await appendDurably(this.#auditPath, `${JSON.stringify(entry)}\n`);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** At most `places` holders at once; the others wait, oldest first. */
class Turns {
  #held = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly places: number) {}

  /** Resolves with the way to give the place back, once there is one. */
  async enter(): Promise<() => void> {
    if (this.#held < this.places) this.#held++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve)); // the place is handed over by leave()
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    };
  }
}

function documentProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.trim() === "" ? "is empty (a write torn by a crash?)" : "is not JSON (torn or edited?)";
  }
  const doc = value as Partial<FileDocument> | null;
  if (typeof doc !== "object" || doc === null || doc.version !== 1 || typeof doc.integrations !== "object" || doc.integrations === null) {
    return "is not an integrations document of this version";
  }
  for (const [name, record] of Object.entries(doc.integrations)) {
    if (typeof record !== "object" || record === null || record.name !== name || typeof record.revision !== "number" || typeof record.settings !== "object") {
      return `holds a damaged entry "${name.slice(0, 40)}"`;
    }
  }
  return undefined;
}
