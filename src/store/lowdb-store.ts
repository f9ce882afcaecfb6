// lowdb, the embedded default: one JSON document per flow under DATA_DIR/flows, so a write
// rewrites one small file rather than every flow (DESIGN §3 measured ≈200 ms a write for 10,000
// flows in one file). lowdb's JSONFile writes through steno (temp file + rename), so a crash never
// leaves half a document. The audit trail is kept out of the hot document: one append-only JSON
// Lines file per flow. One process per DATA_DIR: two writers on one lowdb file corrupt it.
import { mkdir, readdir, readFile, appendFile } from "node:fs/promises";
import { join } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { StaleWriteError, type AuditEntry, type FlowRecord, type FlowStore } from "./flow-store.ts";

const ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

export class LowdbFlowStore implements FlowStore {
  #flowsDir: string;
  #auditDir: string;
  // Note: lowdb's JSONFilePreset silently keeps data in memory when NODE_ENV=test; Low + JSONFile never does.
  #docs = new Map<string, Low<FlowRecord | null>>();

  private constructor(dataDir: string) {
    this.#flowsDir = join(dataDir, "flows");
    this.#auditDir = join(dataDir, "audit");
  }

  static async open(dataDir: string): Promise<LowdbFlowStore> {
    const store = new LowdbFlowStore(dataDir);
    await mkdir(store.#flowsDir, { recursive: true });
    await mkdir(store.#auditDir, { recursive: true });
    for (const name of await readdir(store.#flowsDir)) {
      if (!name.endsWith(".json")) continue; // steno's temp files and strays
      const doc = store.#doc(name.slice(0, -5));
      await doc.read();
    }
    return store;
  }

  #doc(id: string): Low<FlowRecord | null> {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid flow id ${JSON.stringify(id)}`);
    let doc = this.#docs.get(id);
    if (!doc) {
      doc = new Low<FlowRecord | null>(new JSONFile<FlowRecord | null>(join(this.#flowsDir, `${id}.json`)), null);
      this.#docs.set(id, doc);
    }
    return doc;
  }

  async get(id: string): Promise<FlowRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    return this.#docs.get(id)?.data ?? undefined;
  }

  async list(): Promise<FlowRecord[]> {
    return [...this.#docs.values()].map((d) => d.data).filter((r): r is FlowRecord => r !== null);
  }

  async save(record: FlowRecord, expectedRevision: number | null): Promise<void> {
    const doc = this.#doc(record.id);
    const actual = doc.data?.revision ?? null;
    if (actual !== expectedRevision) throw new StaleWriteError(record.id, expectedRevision, actual);
    const previous = doc.data;
    doc.data = record;
    try {
      await doc.write();
    } catch (error) {
      doc.data = previous; // what is in memory must stay what is on disk
      throw error;
    }
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    const byFlow = new Map<string, string>();
    for (const entry of entries) byFlow.set(entry.flowId, (byFlow.get(entry.flowId) ?? "") + JSON.stringify(entry) + "\n");
    for (const [flowId, lines] of byFlow) {
      if (!ID_PATTERN.test(flowId)) continue;
      await appendFile(join(this.#auditDir, `${flowId}.jsonl`), lines);
    }
  }

  async readAudit(flowId: string, limit: number): Promise<AuditEntry[]> {
    if (!ID_PATTERN.test(flowId)) return [];
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
    this.#docs.clear();
  }
}
