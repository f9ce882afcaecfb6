// lowdb, the embedded default: one JSON document per flow under DATA_DIR/flows, so a write
// rewrites one small file rather than every flow (DESIGN §3 measured ≈200 ms a write for 10,000
// flows in one file). Each document is written through DurableJsonFile, lowdb's adapter interface
// over a private temp file, fsync, rename and fsync of the folder, so a crash or a power cut leaves
// the old document or the new one. The audit trail is kept out of the hot document: one
// append-only JSON Lines file per flow.
//
// A write's audit lines go first into the document it writes (field `unfiledAudit`, JSON Lines
// text), durable with it in its one fsync; the newest lines ride along with each write until they
// pass UNFILED_BYTES, and then that write appends them all to the audit file. So most writes make
// one file, not two: creating the audit file with each create doubled a create's cost (a second
// new inode, its fdatasync, a fsync of audit/ — bench/lowdb-save.ts measured 337–935 creates/s
// with the audit line, 1,575–4,335/s without), and a short flow never needs the file. readAudit
// reads the file, then the lines still in the document. After filing, the document keeps the
// filed lines until its next write; a document's lines that its audit file already holds (a crash
// between the append and that write) are known as filed at open. A document set aside as damaged
// takes its unfiled lines with it (into damaged/).
//
// Lazy: memory holds an index of rows (records without their sealed snapshot), built by reading
// every document once at open — that read is also where damage is found. list, count and the
// due-time query answer from the index; get reads the one document from disk, so the disk is the
// truth and a flow's snapshot is in memory only while someone uses it.
//
// One process per DATA_DIR (two writers on one lowdb file corrupt it): the caller holds the lock
// from data-dir-lock.ts while the store is open. That is also why a compare-and-swap against the
// index is enough here, why claims are not kept (claimDue returns every due flow), why subscribe
// has nothing to report, and why it is safe to delete temp files found at open.
//
// Damage is contained: a document that is torn, empty, not a flow record, or filed under another
// id, and any file the store does not know, is moved to DATA_DIR/damaged/ at open and named in one
// log line; the other flows serve. A document damaged after open is set aside the same way when it
// is next read, and reads as absent (the engine then answers from damaged()). DATA_DIR and its
// folders are 0700, every file 0600.
import { chmodSync, closeSync, fchmodSync, fstatSync, openSync, readFileSync } from "node:fs";
import { lstat, readdir, readFile, stat, unlink } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { INTEGRATIONS_AUDIT_FILE } from "../integrations/integration-store.ts";
import { DamageLedger, DAMAGED_DIR, FLOW_ID_PATTERN, flowIdOfFileName, inspectFlowDocument } from "./damage.ts";
import { DurableJsonFile } from "./durable-json-file.ts";
import { KeyCheckUnusableError, StaleWriteError, type AuditEntry, type Claimant, type DamageReport, type DueFlow, type FlowRecord, type FlowRow, type FlowStore, type ListPage, type ListQuery } from "./flow-store.ts";
import { foldTrail } from "./audit-fold.ts";
import { appendDurably, createFileExclusively, ensurePrivateDir, errorCode, isTempFileName, PRIVATE_FILE_MODE, releaseFolders, syncDirectory, writeFileAtomically } from "./private-files.ts";
import { RowIndex } from "./row-index.ts";

const FLOWS_DIR = "flows";
const AUDIT_DIR = "audit";
/** Files in audit/ that are not one flow's trail: the integrations'. */
const SHARED_AUDIT_FILES = new Set([basename(INTEGRATIONS_AUDIT_FILE)]);
/** The encryption-key check value (store/key-check.ts). */
export const KEY_CHECK_FILE = "key-check";
/**
 * At open, files are read synchronously, this many between yields to the event loop. Measured at
 * 10,000 documents of 3–6 KB (bench/lowdb-open.ts): node:fs/promises costs ≈70 µs a file (four
 * thread-pool round trips and their promises), a synchronous read ≈12 µs. open() runs before the
 * server listens, so blocking is harmless; the yields keep signals and timers alive.
 */
const OPEN_CHUNK = 256;
/** A document's audit lines (JSON Lines text) are appended to the audit file once longer than this. */
const UNFILED_BYTES = 4096;
/** An audit file about to pass this size is rewritten with its older routine entries folded (audit-fold.ts). */
const FOLD_BYTES = 48 * 1024;

export interface LowdbStoreOptions {
  /** Where the damage lines go (one per file set aside). Default: stderr. */
  log?: (line: string) => void;
}

type Found = { name: string; id: string | null; text?: string; unreadable?: string; notAFile?: boolean; temp?: boolean };
type Read = { record: FlowRecord } | { reason: string } | { missing: true };
/** A flow document on disk: the record, and its newest audit lines while they are not yet in its audit file. */
type StoredDocument = FlowRecord & { unfiledAudit?: string };

/** An audit file's entries; a torn line after a crash is skipped, not fatal. */
function parseLines(text: string): AuditEntry[] {
  return text.split("\n").flatMap((line) => {
    if (!line) return [];
    try {
      return [JSON.parse(line) as AuditEntry];
    } catch {
      return [];
    }
  });
}

const jsonLines = (entries: AuditEntry[]) => entries.map((entry) => JSON.stringify(entry) + "\n").join("");

export class LowdbFlowStore implements FlowStore {
  /** A flow's audit lines (JSON Lines) held in its document, not yet in its audit file: they follow the file's. */
  #unfiled = new Map<string, string>();
  /** The audit folder's file names, while open() reads the documents. */
  #auditFilesAtOpen: Set<string> | undefined;
  #flowsDir: string;
  #auditDir: string;
  /** The encryption-key check (store/key-check.ts): a file of its own, written once. */
  #keyCheckFile: string;
  #damage: DamageLedger;
  #log: (line: string) => void;
  #index = new RowIndex();
  #claimants = new Map<string, Claimant>();
  readonly #dataDir: string;
  /** Writes, quarantines and set-asides of one flow run one after another, so a revision check sees the last write's outcome. */
  #chains = new Map<string, Promise<unknown>>();
  /** Per flow: its audit file's appends and folds, one at a time. */
  #auditChains = new Map<string, Promise<unknown>>();
  /** Per flow whose audit file had nothing to fold: the size at which to look again. */
  #foldAt = new Map<string, number>();

  private constructor(dataDir: string, damage: DamageLedger, log: (line: string) => void) {
    this.#dataDir = dataDir;
    this.#flowsDir = join(dataDir, FLOWS_DIR);
    this.#auditDir = join(dataDir, AUDIT_DIR);
    this.#keyCheckFile = join(dataDir, KEY_CHECK_FILE);
    this.#damage = damage;
    this.#log = log;
  }

  static async open(dataDir: string, options: LowdbStoreOptions = {}): Promise<LowdbFlowStore> {
    const root = resolve(dataDir);
    const log = options.log ?? ((line: string) => console.error(line));
    for (const dir of [root, join(root, FLOWS_DIR), join(root, AUDIT_DIR), join(root, DAMAGED_DIR)]) {
      const { warning } = await ensurePrivateDir(dir);
      if (warning) log(`store: ${warning}`);
    }
    // A write of a file of DATA_DIR's own (integrations, sign-outs, the key check…) cut short by a
    // crash leaves its temp file: nothing reads one, so it goes (this process holds DATA_DIR's lock).
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (entry.isFile() && isTempFileName(entry.name)) await unlink(join(root, entry.name)).catch(() => undefined);
    }
    const store = new LowdbFlowStore(root, await DamageLedger.open(root, log), log);
    const auditFiles = await readdir(store.#auditDir);
    store.#auditFilesAtOpen = new Set(auditFiles);
    store.#index = RowIndex.of(await store.#loadRows());
    store.#auditFilesAtOpen = undefined;
    await store.#makeAuditPrivate(auditFiles);
    await store.#removeOrphanedAudit(auditFiles);
    return store;
  }

  /**
   * An audit file whose flow has no document, and was not set aside as damaged (its trail stays for
   * readAudit), is what a crash between a delete's two unlinks leaves: the flow is gone, so its trail goes.
   * Not the integrations' trail, which lives beside the flows' (audit/integrations.jsonl; a review saw
   * this remove it); and none at all while it is not known which flows are set aside — a damage
   * ledger that cannot be read, or a flow's file in damaged/ that the ledger does not name (a crash
   * between the move and the ledger's line, or a line that could not be appended).
   */
  async #removeOrphanedAudit(names: string[]): Promise<void> {
    if (this.#damage.unreadable) return;
    let setAside: string[] | undefined;
    for (const name of names) {
      const id = name.endsWith(".jsonl") ? name.slice(0, -".jsonl".length) : "";
      if (SHARED_AUDIT_FILES.has(name) || !FLOW_ID_PATTERN.test(id) || this.#index.get(id) || this.#damage.forId(id)) continue;
      setAside ??= await readdir(join(this.#dataDir, DAMAGED_DIR)).catch(() => [] as string[]);
      if (setAside.some((file) => file.startsWith(`${id}.json`))) continue;
      // Something still at its document's place (a link or a folder set aside that could not be moved): not an orphan.
      if (await lstat(join(this.#flowsDir, `${id}.json`)).then(() => true, () => false)) continue;
      try {
        await this.#removeAudit(id);
        this.#log(`store: ${AUDIT_DIR}/${name} belongs to no flow (its flow was deleted, and a stop came before its trail went); removed`);
      } catch (error) {
        this.#log(`store: ${AUDIT_DIR}/${name} belongs to no flow and could not be removed (${(error as Error).message}); nothing reads it`);
      }
    }
  }

  /** Removes a flow's audit file (if it has one), durably. */
  async #removeAudit(id: string): Promise<void> {
    await unlink(join(this.#auditDir, `${id}.jsonl`)).catch((error: unknown) => {
      if (errorCode(error) !== "ENOENT") throw error;
    });
    await syncDirectory(this.#auditDir);
  }

  /** Reads every document once: its row goes into the index, its snapshot is let go. */
  async #loadRows(): Promise<FlowRow[]> {
    // Sorted so damage lines come in one order every time; by code unit, since localeCompare costs ≈30 ms at 10,000 names.
    const entries = (await readdir(this.#flowsDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const rows: FlowRow[] = [];
    for (let i = 0; i < entries.length; i += OPEN_CHUNK) {
      for (const entry of entries.slice(i, i + OPEN_CHUNK)) {
        const found: Found = { name: entry.name, id: flowIdOfFileName(entry.name) };
        // A folder or a link is never ours (and a link is never followed out of DATA_DIR).
        if (!entry.isFile()) found.notAFile = true;
        else if (isTempFileName(entry.name)) found.temp = true;
        else if (found.id !== null) {
          try {
            found.text = readPrivately(join(this.#flowsDir, entry.name));
          } catch (error) {
            found.unreadable = (error as Error).message;
          }
        }
        const record = await this.#admit(found);
        if (record) rows.push(rowOf(record));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return rows;
  }

  /** The record of a document found at open, or undefined after setting it aside with the reason. */
  async #admit({ name, id, text, unreadable, notAFile, temp }: Found): Promise<FlowRecord | undefined> {
    const file = `${FLOWS_DIR}/${name}`;
    // An interrupted write of ours: the document it was replacing is still whole beside it.
    if (temp) return void (await unlink(join(this.#flowsDir, name)).catch(() => undefined));
    if (notAFile) return void (await this.#damage.setAside(file, null, "not a regular file (a folder or a link): the store keeps only <flow id>.json files here"));
    if (id === null) return void (await this.#damage.setAside(file, null, "not a flow document: the store keeps only <flow id>.json files here"));
    if (unreadable !== undefined) return void (await this.#damage.setAside(file, id, `unreadable: ${unreadable}`));
    const inspection = inspectFlowDocument(id, text!);
    if (inspection.reason !== undefined) return void (await this.#damage.setAside(file, id, inspection.reason));
    const { unfiledAudit, ...record } = inspection.record as StoredDocument;
    if (typeof unfiledAudit === "string" && unfiledAudit !== "" && !this.#auditFileHolds(id, unfiledAudit)) this.#unfiled.set(id, unfiledAudit);
    return withDefaults(record);
  }

  /** Whether the flow's audit file holds `text` (a document's lines filed before a crash). */
  #auditFileHolds(id: string, text: string): boolean {
    if (!this.#auditFilesAtOpen?.has(`${id}.jsonl`)) return false;
    try {
      return readFileSync(join(this.#auditDir, `${id}.jsonl`), "utf8").includes(text);
    } catch {
      return false;
    }
  }

  /**
   * Audit files written by an older version are 0644; they hold who did what, so they become 0600.
   * A temp file is a fold cut short (a crash between writing the folded trail and its rename): the
   * file it was to replace is still whole beside it, so it goes.
   */
  async #makeAuditPrivate(names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += OPEN_CHUNK) {
      for (const name of names.slice(i, i + OPEN_CHUNK)) {
        try {
          if (isTempFileName(name)) await unlink(join(this.#auditDir, name));
          else chmodSync(join(this.#auditDir, name), PRIVATE_FILE_MODE);
        } catch {
          // gone meanwhile, or not ours to change: it is read as it is
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #file(id: string): DurableJsonFile<StoredDocument> {
    return new DurableJsonFile<StoredDocument>(join(this.#flowsDir, `${id}.json`));
  }

  #serially<T>(id: string, task: () => Promise<T>, chains = this.#chains): Promise<T> {
    const result = (chains.get(id) ?? Promise.resolve()).then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    chains.set(id, tail);
    void tail.then(() => chains.get(id) === tail && chains.delete(id));
    return result;
  }

  /** The document on disk, checked as at open. */
  async #read(id: string): Promise<Read> {
    let text: string | null;
    try {
      text = await this.#file(id).readText();
    } catch (error) {
      return { reason: `unreadable: ${(error as Error).message}` };
    }
    if (text === null) return { missing: true };
    const inspection = inspectFlowDocument(id, text);
    if (inspection.reason !== undefined) return { reason: inspection.reason };
    const { unfiledAudit: _unfiled, ...record } = inspection.record as StoredDocument;
    return { record: withDefaults(record) };
  }

  async revisionOf(id: string): Promise<number | undefined> {
    return this.#index.get(id)?.revision;
  }

  async get(id: string): Promise<FlowRecord | undefined> {
    if (!FLOW_ID_PATTERN.test(id) || !this.#index.get(id)) return undefined;
    const read = await this.#read(id);
    return "record" in read ? read.record : this.#setAsideIfStillBad(id);
  }

  /**
   * A document that was good at open is damaged or gone now. Looked at again inside the flow's
   * chain — a write of ours may have replaced it meanwhile — then set aside (or forgotten, if it
   * is gone), so the flow reads as damaged rather than failing every request.
   */
  #setAsideIfStillBad(id: string): Promise<FlowRecord | undefined> {
    return this.#serially(id, async () => {
      if (!this.#index.get(id)) return undefined; // quarantined meanwhile
      const read = await this.#read(id);
      if ("record" in read) return read.record;
      this.#index.delete(id);
      if ("missing" in read) {
        this.#log(`store: ${FLOWS_DIR}/${id}.json has disappeared since the store opened; the flow is forgotten`);
        return undefined;
      }
      await this.#damage.setAside(`${FLOWS_DIR}/${id}.json`, id, read.reason);
      return undefined;
    });
  }

  async list(query: ListQuery): Promise<ListPage> {
    return this.#index.page(query);
  }

  async count(): Promise<number> {
    return this.#index.size;
  }

  /**
   * Every flow due by `until`, earliest first, from the index alone (no document is read). One
   * process per DATA_DIR, so there is no other instance to claim against: only the owner's
   * heartbeat is kept (in memory). With `machines`, only flows of those machines (name@version).
   */
  // `fresh` is not read: one process holds every due flow (none is "claimed anew").
  async claimDue(until: number, owner: string, claimUntil: number, limit: number, now = Date.now(), machines?: readonly string[], _fresh?: number): Promise<DueFlow[]> {
    const was = this.#claimants.get(owner);
    this.#claimants.set(owner, { aliveUntil: claimUntil, aliveSince: was && was.aliveUntil > now ? was.aliveSince : now });
    const runs = machines === undefined ? undefined : new Set(machines);
    return this.#index.due(until, limit, runs && ((row) => runs.has(`${row.machine}@${row.version}`))).map((row) => ({ id: row.id, revision: row.revision, nextDeadlineAt: row.nextDeadlineAt! }));
  }

  /** Heartbeats of the engines on this store object (one process: kept in memory, like the store's tests' several engines). */
  async claimant(owner: string): Promise<Claimant | null> {
    return this.#claimants.get(owner) ?? null;
  }

  async subscribe(): Promise<() => Promise<void>> {
    return async () => {};
  }

  async readKeyCheck(): Promise<string | undefined> {
    try {
      return (await readFile(this.#keyCheckFile, "utf8")).trim();
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT") return undefined;
      // Node's words name no file ("EISDIR: illegal operation on a directory, read").
      if (code === "EISDIR") throw new KeyCheckUnusableError(`${this.#keyCheckFile} is a folder, not the encryption-key check file; remove it, and the next start records the check value of the key it starts with`);
      throw new Error(`${this.#keyCheckFile} (the encryption-key check) cannot be read: ${(error as Error).message}`, { cause: error });
    }
  }

  async recordKeyCheck(value: string): Promise<string> {
    try {
      await createFileExclusively(this.#keyCheckFile, `${value}\n`);
    } catch (error) {
      const why = errorCode(error) === "ENOSPC" ? `the disk is full (ENOSPC); free space in DATA_DIR (${this.#dataDir}) and start again` : (error as Error).message;
      throw new Error(`${this.#keyCheckFile} (the encryption-key check) could not be written: ${why}`, { cause: error });
    }
    return (await this.readKeyCheck())!;
  }

  save(record: FlowRecord, expectedRevision: number | null, audit: AuditEntry[] = []): Promise<void> {
    if (!FLOW_ID_PATTERN.test(record.id)) return Promise.reject(new Error(`invalid flow id ${JSON.stringify(record.id)}`));
    return this.#serially(record.id, async () => {
      const actual = this.#index.get(record.id)?.revision ?? null;
      if (actual !== expectedRevision) throw new StaleWriteError(record.id, expectedRevision, actual);
      // The write's audit lines go in its document, after those not yet filed (see the top of the file).
      const unfiled = (this.#unfiled.get(record.id) ?? "") + jsonLines(audit.filter((entry) => entry.flowId === record.id));
      // The index changes only once the document is on disk: a failed write leaves both as they were.
      await this.#file(record.id).write(unfiled ? { ...record, unfiledAudit: unfiled } : record);
      this.#index.put(rowOf(record));
      if (unfiled) this.#unfiled.set(record.id, unfiled);
      const others = audit.filter((entry) => entry.flowId !== record.id);
      if (others.length > 0) await this.appendAudit(others);
      if (unfiled.length <= UNFILED_BYTES) return;
      // The write stands, and so do its lines (in its document): a failed append is tried again with a later write.
      await this.#fileAudit(record.id, "").catch((error) => this.#log(`store: audit of flow ${record.id} could not be appended (${(error as Error).message}); kept in its document for its next write`));
    });
  }

  quarantine(id: string, reason: string): Promise<DamageReport> {
    if (!FLOW_ID_PATTERN.test(id)) return Promise.reject(new Error(`invalid flow id ${JSON.stringify(id)}`));
    return this.#serially(id, async () => {
      this.#index.delete(id);
      this.#foldAt.delete(id);
      // Its unfiled audit lines go to its audit file, which stays where readAudit finds it.
      if (this.#unfiled.has(id)) await this.#fileAudit(id, "").catch((error) => this.#log(`store: audit lines of flow ${id} stay in its document, set aside: ${(error as Error).message}`));
      this.#unfiled.delete(id);
      return this.#damage.setAside(`${FLOWS_DIR}/${id}.json`, id, reason);
    });
  }

  delete(id: string, expectedRevision: number): Promise<void> {
    if (!FLOW_ID_PATTERN.test(id)) return Promise.reject(new Error(`invalid flow id ${JSON.stringify(id)}`));
    return this.#serially(id, async () => {
      const actual = this.#index.get(id)?.revision ?? null;
      if (actual !== expectedRevision) throw new StaleWriteError(id, expectedRevision, actual);
      // The document first: until it goes, a failure leaves the flow and its whole trail as they
      // were; once it is gone, so is the flow. A crash before the trail follows leaves an audit file
      // without its flow, which the next open removes (#removeOrphanedAudit).
      await unlink(join(this.#flowsDir, `${id}.json`));
      this.#index.delete(id);
      this.#foldAt.delete(id);
      this.#unfiled.delete(id);
      // Gone for good once the folder says so (a power cut must not bring the flow back).
      await syncDirectory(this.#flowsDir);
      // The flow is deleted now: a trail that cannot be removed is named, and the next open removes it.
      await this.#removeAudit(id).catch((error) => this.#log(`store: the audit trail of deleted flow ${id} could not be removed (${(error as Error).message}); the next start removes it`));
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
      await this.#fileAudit(flowId, lines);
    }
  }

  /**
   * Appends the flow's unfiled lines, then `text`, to its audit file; the unfiled ones count as filed
   * once this lands. A file grown past its fold size is first rewritten with its older routine
   * entries folded (audit-fold.ts), the new lines after them as they are — so a crash check still
   * finds a document's filed lines whole at the end (#auditFileHolds). One at a time per file (its
   * own chain: a save may file another flow's entries), so no append lands between a fold's read and
   * its rename.
   */
  #fileAudit(flowId: string, text: string): Promise<void> {
    return this.#serially(flowId, async () => {
      const unfiled = this.#unfiled.get(flowId);
      const path = join(this.#auditDir, `${flowId}.jsonl`);
      const lines = (unfiled ?? "") + text;
      if (!(await this.#foldedWith(flowId, path, lines))) await appendDurably(path, lines);
      if (unfiled !== undefined && this.#unfiled.get(flowId) === unfiled) this.#unfiled.delete(flowId);
    }, this.#auditChains);
  }

  /**
   * When the audit file would pass its fold size and has routine entries to fold: rewrites it
   * folded, then `lines`, and says so. The next fold size is twice what is left (at least
   * FOLD_BYTES): a trail that folding leaves big — what people did to a flow, or entries written
   * before routine upkeep was marked — is read and rewritten again only once it has doubled, not at
   * every filing.
   */
  async #foldedWith(flowId: string, path: string, lines: string): Promise<boolean> {
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size === 0) return false; // no file yet (or an empty one): nothing filed to fold; the append makes it
    const adding = utf8Length(lines);
    if (size + adding <= (this.#foldAt.get(flowId) ?? FOLD_BYTES)) return false;
    const folded = foldTrail(parseLines(await readFile(path, "utf8")));
    if (folded === null) {
      this.#foldAt.set(flowId, 2 * (size + adding));
      return false;
    }
    const text = jsonLines(folded) + lines;
    await writeFileAtomically(path, text);
    this.#foldAt.set(flowId, Math.max(FOLD_BYTES, 2 * utf8Length(text)));
    return true;
  }

  async readAudit(flowId: string, limit: number): Promise<AuditEntry[]> {
    if (!FLOW_ID_PATTERN.test(flowId)) return [];
    const unfiled = this.#unfiled.get(flowId) ?? "";
    let text = "";
    try {
      text = await readFile(join(this.#auditDir, `${flowId}.jsonl`), "utf8");
    } catch {
      // no audit file (yet): the lines are all in the document
    }
    // Filed while the file was being read: the text holds them already.
    if (unfiled && !text.endsWith(unfiled)) text += (text === "" || text.endsWith("\n") ? "" : "\n") + unfiled;
    return parseLines(text).slice(-limit);
  }

  async close(): Promise<void> {
    await Promise.all(this.#chains.values()); // writes under way land before the store lets go
    await Promise.all(this.#auditChains.values());
    this.#index = new RowIndex();
    this.#unfiled.clear();
    for (const dir of [this.#flowsDir, this.#auditDir]) await releaseFolders(dir);
  }
}

/**
 * Documents written before the due-time index have no nextDeadlineAt, attentionFrom or lease.
 * Such a flow is due at once (0): it is hydrated by the engine's first tick, so a deadline it had
 * armed is not missed, and its next write gives it its real deadline.
 */
function withDefaults(record: FlowRecord): FlowRecord {
  if (record.nextDeadlineAt !== undefined && record.attentionFrom !== undefined && record.lease !== undefined) return record;
  return { ...record, nextDeadlineAt: record.nextDeadlineAt === undefined ? 0 : record.nextDeadlineAt, attentionFrom: record.attentionFrom ?? null, lease: record.lease ?? null };
}

function rowOf(record: FlowRecord): FlowRow {
  const { sealedSnapshot: _sealed, ...row } = record;
  return row;
}

/** Reads a flow document, making it 0600 on the way if an older version left it readable to others. */
function readPrivately(path: string): string {
  const fd = openSync(path, "r");
  try {
    if ((fstatSync(fd).mode & 0o777) !== PRIVATE_FILE_MODE) fchmodSync(fd, PRIVATE_FILE_MODE);
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

const utf8 = new TextEncoder();

/** Bytes `text` takes in a file (a string's length counts UTF-16 units: an ø is one, two on disk). */
function utf8Length(text: string): number {
  return utf8.encode(text).length;
}
