// lowdb, the embedded default: one JSON document per flow under DATA_DIR/flows, so a write
// rewrites one small file rather than every flow (DESIGN §3 measured ≈200 ms a write for 10,000
// flows in one file). Each document is written through DurableJsonFile (private temp file, fsync,
// rename, fsync of the folder), so a crash or a power cut leaves the old document or the new one.
// The audit trail is kept out of the hot document: one append-only JSON Lines file per flow.
//
// One process per DATA_DIR (two writers on one lowdb file corrupt it): the caller holds the lock
// from data-dir-lock.ts while the store is open. That is also what makes it safe to delete temp
// files found at open — no other writer can be in the middle of one.
//
// Damage is contained: a document that is torn, empty, not a flow record, or filed under another
// id, and any file the store does not know, is moved to DATA_DIR/damaged/ at open and named in one
// log line; the other flows serve. DATA_DIR and its folders are 0700, every file 0600.
import { chmod, open, readdir, readFile, unlink, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Low } from "lowdb";
import { DamageLedger, DAMAGED_DIR, FLOW_ID_PATTERN, flowIdOfFileName, inspectFlowDocument } from "./damage.ts";
import { DurableJsonFile } from "./durable-json-file.ts";
import { StaleWriteError, type ListPage, type ListQuery, type AuditEntry, type DamageReport, type FlowRecord, type FlowStore } from "./flow-store.ts";
import { appendDurably, ensurePrivateDir, isTempFileName, PRIVATE_FILE_MODE } from "./private-files.ts";

const FLOWS_DIR = "flows";
const AUDIT_DIR = "audit";
/** Files read at once while opening: enough to hide the disk's latency, few enough for any ulimit. */
const OPEN_BATCH = 32;

export interface LowdbStoreOptions {
  /** Where the start-up damage lines go (one per file set aside). Default: stderr. */
  log?: (line: string) => void;
}

type Found = { name: string; id: string | null; text?: string; unreadable?: string; notAFile?: boolean; temp?: boolean };

export class LowdbFlowStore implements FlowStore {
  #flowsDir: string;
  #auditDir: string;
  #damage: DamageLedger;
  // Note: lowdb's JSONFilePreset silently keeps data in memory when NODE_ENV=test; Low + an adapter never does.
  #docs = new Map<string, Low<FlowRecord | null>>();
  /** Writes and quarantines of one flow run one after another, so a revision check sees the last write's outcome. */
  #chains = new Map<string, Promise<unknown>>();

  private constructor(dataDir: string, damage: DamageLedger) {
    this.#flowsDir = join(dataDir, FLOWS_DIR);
    this.#auditDir = join(dataDir, AUDIT_DIR);
    this.#damage = damage;
  }

  static async open(dataDir: string, options: LowdbStoreOptions = {}): Promise<LowdbFlowStore> {
    const root = resolve(dataDir);
    const log = options.log ?? ((line: string) => console.error(line));
    for (const dir of [root, join(root, FLOWS_DIR), join(root, AUDIT_DIR), join(root, DAMAGED_DIR)]) {
      const { warning } = await ensurePrivateDir(dir);
      if (warning) log(`store: ${warning}`);
    }
    const store = new LowdbFlowStore(root, await DamageLedger.open(root, log));
    await store.#loadFlows();
    await store.#makeAuditPrivate();
    return store;
  }

  async #loadFlows(): Promise<void> {
    const entries = (await readdir(this.#flowsDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (let i = 0; i < entries.length; i += OPEN_BATCH) {
      const found = await Promise.all(
        entries.slice(i, i + OPEN_BATCH).map(async (entry): Promise<Found> => {
          const found: Found = { name: entry.name, id: flowIdOfFileName(entry.name) };
          // A folder or a link is never ours (and a link is never followed out of DATA_DIR).
          if (!entry.isFile()) return { ...found, notAFile: true };
          if (isTempFileName(entry.name)) return { ...found, temp: true };
          if (found.id === null) return found;
          try {
            return { ...found, text: await readPrivately(join(this.#flowsDir, entry.name)) };
          } catch (error) {
            return { ...found, unreadable: (error as Error).message };
          }
        }),
      );
      for (const f of found) await this.#admit(f);
    }
  }

  /** Serves a document found at open, or sets it aside with the reason. */
  async #admit({ name, id, text, unreadable, notAFile, temp }: Found): Promise<void> {
    const file = `${FLOWS_DIR}/${name}`;
    // An interrupted write of ours: the document it was replacing is still whole beside it.
    if (temp) return void (await unlink(join(this.#flowsDir, name)).catch(() => undefined));
    if (notAFile) return void (await this.#damage.setAside(file, null, "not a regular file (a folder or a link): the store keeps only <flow id>.json files here"));
    if (id === null) return void (await this.#damage.setAside(file, null, "not a flow document: the store keeps only <flow id>.json files here"));
    if (unreadable !== undefined) return void (await this.#damage.setAside(file, id, `unreadable: ${unreadable}`));
    const inspection = inspectFlowDocument(id, text!);
    if (inspection.reason !== undefined) return void (await this.#damage.setAside(file, id, inspection.reason));
    this.#doc(id).data = inspection.record;
  }

  /** Audit files written by an older version are 0644; they hold who did what, so they become 0600. */
  async #makeAuditPrivate(): Promise<void> {
    const names = await readdir(this.#auditDir);
    for (let i = 0; i < names.length; i += OPEN_BATCH) {
      await Promise.all(names.slice(i, i + OPEN_BATCH).map((name) => chmod(join(this.#auditDir, name), PRIVATE_FILE_MODE).catch(() => undefined)));
    }
  }

  #doc(id: string): Low<FlowRecord | null> {
    if (!FLOW_ID_PATTERN.test(id)) throw new Error(`invalid flow id ${JSON.stringify(id)}`);
    let doc = this.#docs.get(id);
    if (!doc) {
      doc = new Low<FlowRecord | null>(new DurableJsonFile<FlowRecord | null>(join(this.#flowsDir, `${id}.json`)), null);
      this.#docs.set(id, doc);
    }
    return doc;
  }

  #serially<T>(id: string, task: () => Promise<T>): Promise<T> {
    const result = (this.#chains.get(id) ?? Promise.resolve()).then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#chains.set(id, tail);
    void tail.then(() => this.#chains.get(id) === tail && this.#chains.delete(id));
    return result;
  }

  async get(id: string): Promise<FlowRecord | undefined> {
    if (!FLOW_ID_PATTERN.test(id)) return undefined;
    return this.#docs.get(id)?.data ?? undefined;
  }

  // Interim (the lead, until the lazy index lands): filters and pages over the documents in memory.
  async list(query: ListQuery): Promise<ListPage> {
    const rows = [...this.#docs.values()]
      .map((d) => d.data)
      .filter((r): r is FlowRecord => r !== null)
      .filter((r) => (!query.machine || r.machine === query.machine) && (!query.legalEntity || r.summary.legalEntity === query.legalEntity) && (!query.state || r.summary.state === query.state))
      .filter((r) => query.attention === undefined || (r.attentionFrom !== null && r.attentionFrom !== undefined && r.attentionFrom <= (query.attentionAt ?? Date.now())) === query.attention)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    const after = query.after ? atob(query.after.replace(/-/g, "+").replace(/_/g, "/")) : null;
    const start = after ? rows.findIndex((r) => `${r.createdAt}|${r.id}` > after) : 0;
    const page = (start < 0 ? [] : rows.slice(start, start + query.limit)).map(({ sealedSnapshot: _s, ...row }) => row);
    const last = page.at(-1);
    const more = start >= 0 && start + query.limit < rows.length;
    return { items: page, next: more && last ? btoa(`${last.createdAt}|${last.id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : null };
  }

  async count(): Promise<number> {
    return [...this.#docs.values()].filter((d) => d.data !== null).length;
  }

  async claimDue(until: number, _owner: string, _claimUntil: number, limit: number): Promise<FlowRecord[]> {
    // One process per DATA_DIR: nothing to claim against.
    return [...this.#docs.values()]
      .map((d) => d.data)
      .filter((r): r is FlowRecord => r !== null && r.nextDeadlineAt !== null && r.nextDeadlineAt !== undefined && r.nextDeadlineAt <= until)
      .sort((a, b) => a.nextDeadlineAt! - b.nextDeadlineAt!)
      .slice(0, limit);
  }

  async subscribe(): Promise<() => Promise<void>> {
    return async () => {};
  }

  save(record: FlowRecord, expectedRevision: number | null): Promise<void> {
    return this.#serially(record.id, async () => {
      const doc = this.#doc(record.id);
      const previous = doc.data;
      const actual = previous?.revision ?? null;
      if (actual !== expectedRevision) throw new StaleWriteError(record.id, expectedRevision, actual);
      doc.data = record;
      try {
        await doc.write();
      } catch (error) {
        // What is in memory must stay what is on disk.
        if (previous === null) this.#docs.delete(record.id);
        else doc.data = previous;
        throw error;
      }
    });
  }

  quarantine(id: string, reason: string): Promise<DamageReport> {
    if (!FLOW_ID_PATTERN.test(id)) return Promise.reject(new Error(`invalid flow id ${JSON.stringify(id)}`));
    return this.#serially(id, async () => {
      this.#docs.delete(id);
      return this.#damage.setAside(`${FLOWS_DIR}/${id}.json`, id, reason);
    });
  }

  async damaged(id: string): Promise<DamageReport | undefined> {
    return this.#damage.forId(id);
  }

  damageReports(): DamageReport[] {
    return this.#damage.sinceOpen();
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    const byFlow = new Map<string, string>();
    for (const entry of entries) byFlow.set(entry.flowId, (byFlow.get(entry.flowId) ?? "") + JSON.stringify(entry) + "\n");
    for (const [flowId, lines] of byFlow) {
      if (!FLOW_ID_PATTERN.test(flowId)) continue;
      await appendDurably(join(this.#auditDir, `${flowId}.jsonl`), lines);
    }
  }

  async readAudit(flowId: string, limit: number): Promise<AuditEntry[]> {
    if (!FLOW_ID_PATTERN.test(flowId)) return [];
    let text: string;
    try {
      text = await readFile(join(this.#auditDir, `${flowId}.jsonl`), "utf8");
    } catch {
      return [];
    }
    const lines = text.split("\n").filter(Boolean);
    return lines.slice(-limit).flatMap((line) => {
      try {
        return [JSON.parse(line) as AuditEntry];
      } catch {
        return []; // a torn last line after a crash is skipped, not fatal
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#chains.values()); // writes under way land before the store lets go
    this.#docs.clear();
  }
}

/** Reads a flow document, making it 0600 on the way if an older version left it readable to others. */
async function readPrivately(path: string): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    if (((await handle.stat()).mode & 0o777) !== PRIVATE_FILE_MODE) await handle.chmod(PRIVATE_FILE_MODE);
    return await handle.readFile("utf8");
  } finally {
    await handle?.close();
  }
}
