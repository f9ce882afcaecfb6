// Damage is contained (DESIGN §3, issue 8 point 2): a flow document that cannot be trusted is moved
// to DATA_DIR/damaged/, named in one log line, and remembered — so the other flows serve, and the
// damaged flow's id can be answered for ("damaged; the file is at …") instead of a 500 or a 404.
//
// damaged/reports.jsonl keeps every report, so the answer survives a restart. It is appended after
// the move: a crash between the two leaves a moved file without a report (that id then reads as
// unknown, and the start-up log that moved it still names it), never a report without a move.
import { chmod, lstat, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { FLOW_ID_PATTERN } from "./flow-id.ts";
import type { DamageReport, FlowRecord } from "./flow-store.ts";
import { appendDurably, errorCode, PRIVATE_FILE_MODE } from "./private-files.ts";

export const DAMAGED_DIR = "damaged";
const LEDGER = "reports.jsonl";

export { FLOW_ID_PATTERN };

/** The flow id a file in flows/ is named for (`<id>.json`), or null if the store would never write that name. */
export function flowIdOfFileName(name: string): string | null {
  if (!name.endsWith(".json")) return null;
  const id = name.slice(0, -".json".length);
  return FLOW_ID_PATTERN.test(id) ? id : null;
}

export type Inspection = { record: FlowRecord; reason?: undefined } | { record?: undefined; reason: string };

const isInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isString = (v: unknown) => typeof v === "string";
const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

// What a FlowRecord must have for the engine to restore it without tripping over it.
const FIELDS: [keyof FlowRecord, (v: unknown) => boolean, string][] = [
  ["id", isString, "a string"],
  ["machine", isString, "a string"],
  ["version", isInteger, "a whole number"],
  ["revision", isInteger, "a whole number"],
  ["createdAt", isString, "a string"],
  ["updatedAt", isString, "a string"],
  ["summary", isObject, "an object"],
  ["sealedSnapshot", isString, "a string"],
];

/** Whether the text of `flows/<id>.json` is a flow record the store can serve, and if not, why. */
export function inspectFlowDocument(id: string, text: string): Inspection {
  if (text.trim() === "") return { reason: "empty: a write that never reached the disk" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: "not valid JSON: torn or empty write" };
  }
  if (!isObject(value)) return { reason: "not a flow record: the document is not a JSON object" };
  const doc = value as Record<string, unknown>;
  for (const [field, ok, what] of FIELDS) {
    if (!ok(doc[field])) return { reason: `not a flow record: "${field}" is missing or not ${what}` };
  }
  // Written before the due-time index, a document has none of these; present, they must be usable.
  for (const field of ["nextDeadlineAt", "attentionFrom"] as const) {
    if (doc[field] !== undefined && doc[field] !== null && !Number.isFinite(doc[field])) return { reason: `not a flow record: "${field}" is not a number or null` };
  }
  const lease = doc.lease as Record<string, unknown> | null | undefined;
  if (lease !== undefined && lease !== null && !(isObject(lease) && isString(lease.owner) && Number.isFinite(lease.until))) {
    return { reason: 'not a flow record: "lease" is not null or { owner, until }' };
  }
  if (doc.id !== id) return { reason: `its id ${JSON.stringify(doc.id)} does not match its file name` };
  return { record: doc as unknown as FlowRecord };
}

/** 2026-11-25T10:00:00.123Z → 2026-11-25T10-00-00Z: sortable, and valid in a file name everywhere. */
function stamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/:/g, "-");
}

async function freePath(path: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? path : `${path}.${n}`;
    try {
      await lstat(candidate);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return candidate;
      throw error;
    }
  }
}

export class DamageLedger {
  #dataDir: string;
  #log: (line: string) => void;
  #byId = new Map<string, DamageReport>();
  #sinceOpen: DamageReport[] = [];

  private constructor(dataDir: string, log: (line: string) => void) {
    this.#dataDir = dataDir;
    this.#log = log;
  }

  /** `dataDir` must be absolute, and DATA_DIR/damaged must exist. */
  static async open(dataDir: string, log: (line: string) => void): Promise<DamageLedger> {
    const ledger = new DamageLedger(dataDir, log);
    let text = "";
    try {
      text = await readFile(ledger.#ledgerPath, "utf8");
    } catch (error) {
      if (errorCode(error) !== "ENOENT") {
        ledger.unreadable = true;
        log(`store: ${ledger.#ledgerPath} cannot be read (${(error as Error).message}); earlier damage reports are not available`);
      }
    }
    for (const line of text.split("\n")) {
      try {
        const report = JSON.parse(line) as DamageReport;
        if (typeof report.id === "string") ledger.#byId.set(report.id, report);
      } catch {
        // a torn last line after a crash, or an empty one: skipped
      }
    }
    return ledger;
  }

  /** The ledger was there but could not be read at open: which flows were set aside is not known. */
  unreadable = false;

  get #ledgerPath(): string {
    return join(this.#dataDir, DAMAGED_DIR, LEDGER);
  }

  forId(id: string): DamageReport | undefined {
    return this.#byId.get(id);
  }

  sinceOpen(): DamageReport[] {
    return [...this.#sinceOpen];
  }

  /**
   * Moves `file` (relative to DATA_DIR, e.g. "flows/abc.json") to damaged/<name>.<time>, mode 0600,
   * and says so in one line. Never throws: a file that cannot even be moved is named as such and
   * left where it is (the store does not serve it either way).
   */
  async setAside(file: string, id: string | null, reason: string): Promise<DamageReport> {
    const at = new Date();
    const from = join(this.#dataDir, file);
    const name = file.split("/").pop()!;
    let movedTo: string;
    let outcome: string;
    try {
      movedTo = await freePath(join(this.#dataDir, DAMAGED_DIR, `${name}.${stamp(at)}`));
      await rename(from, movedTo);
      await chmod(movedTo, PRIVATE_FILE_MODE).catch(() => undefined); // a folder or a link: left as it is
      outcome = `moved to ${movedTo}`;
    } catch (error) {
      movedTo = from;
      outcome = `could not be moved (${(error as Error).message}); left in place and not served`;
    }
    const report: DamageReport = { id, file, movedTo, reason, at: at.toISOString() };
    this.#log(`store: ${file} is damaged (${reason}); ${outcome}; the other flows serve`);
    this.#sinceOpen.push(report);
    if (id !== null) this.#byId.set(id, report);
    await appendDurably(this.#ledgerPath, JSON.stringify(report) + "\n").catch((error) =>
      this.#log(`store: the damage report for ${file} could not be written to ${this.#ledgerPath} (${(error as Error).message}); after a restart its id reads as unknown`),
    );
    return report;
  }
}
