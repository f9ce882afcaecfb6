// The lowdb store against real files in a temp DATA_DIR: durable private writes, damage set aside at
// start-up (one line each, the other flows serve), quarantine, and the audit trail's torn lines.
import { execFileSync } from "node:child_process";
import { appendFile, chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StaleWriteError, type AuditEntry, type FlowRecord } from "../../src/store/flow-store.ts";
import { LowdbFlowStore } from "../../src/store/lowdb-store.ts";
import { modeOf, removeDir, tempDir } from "./helpers.ts";

let dir: string;
beforeEach(async () => void (dir = await tempDir("store")));
afterEach(async () => removeDir(dir));

const AT = "2026-11-25T10:00:00.000Z";
function record(id: string, revision = 1): FlowRecord {
  return { id, machine: "authorization", version: 1, revision, createdAt: AT, updatedAt: AT, summary: { state: "idle" }, sealedSnapshot: `sealed-${id}-${revision}`, nextDeadlineAt: null, attentionFrom: null, lease: null };
}
function entry(flowId: string, to: string): AuditEntry {
  return { flowId, at: AT, from: null, to, event: "create", user: null };
}

async function openLogged() {
  const lines: string[] = [];
  const store = await LowdbFlowStore.open(dir, { log: (line) => lines.push(line) });
  return { store, lines };
}

/** A store with two good flows on disk, closed again. */
async function twoGoodFlows(): Promise<void> {
  const store = await LowdbFlowStore.open(dir);
  await store.save(record("flow-a"), null);
  await store.save(record("flow-b"), null);
  await store.close();
}

const flowFiles = async () => (await readdir(join(dir, "flows"))).sort();

describe("damage is contained", () => {
  it("sets aside a torn, an empty, a non-record, a misfiled and an unknown file at start-up — one line each — and the other flows serve", async () => {
    await twoGoodFlows();
    const flows = join(dir, "flows");
    await writeFile(join(flows, "flow-torn.json"), JSON.stringify(record("flow-torn")).slice(0, 40));
    await writeFile(join(flows, "flow-empty.json"), "");
    await writeFile(join(flows, "flow-array.json"), "[1, 2]");
    await writeFile(join(flows, "flow-misfiled.json"), JSON.stringify(record("flow-a", 9)));
    await writeFile(join(flows, "flow-nosnap.json"), JSON.stringify({ ...record("flow-nosnap"), sealedSnapshot: 42 }));
    await writeFile(join(flows, "notes.txt"), "a stray");
    await mkdir(join(flows, "flow-dir.json"));
    await writeFile(join(flows, ".flow-a.json.1a2b3c4d.tmp"), "half a write"); // ours, interrupted: deleted quietly

    const { store, lines } = await openLogged();

    const reasons: Record<string, RegExp> = {
      "flow-array.json": /not a flow record: the document is not a JSON object/,
      "flow-dir.json": /not a regular file/,
      "flow-empty.json": /empty: a write that never reached the disk/,
      "flow-misfiled.json": /its id "flow-a" does not match its file name/,
      "flow-nosnap.json": /not a flow record: "sealedSnapshot" is missing or not a string/,
      "flow-torn.json": /not valid JSON: torn or empty write/,
      "notes.txt": /not a flow document: the store keeps only <flow id>\.json files here/,
    };
    expect(lines).toHaveLength(Object.keys(reasons).length);
    for (const [name, reason] of Object.entries(reasons)) {
      const line = lines.find((l) => l.startsWith(`store: flows/${name} is damaged (`))!;
      expect(line, name).toMatch(reason);
      const stamped = `${join(dir, "damaged", name)}.\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ`;
      expect(line).toMatch(new RegExp(`; moved to ${stamped}; the other flows serve$`));
    }

    expect(await flowFiles()).toEqual(["flow-a.json", "flow-b.json"]);
    expect((await store.list({ limit: 500 })).items.map((r) => r.id).sort()).toEqual(["flow-a", "flow-b"]);
    expect(await store.get("flow-a")).toEqual(record("flow-a"));
    expect(await store.get("flow-torn")).toBeUndefined();

    const moved = (await readdir(join(dir, "damaged"))).filter((n) => n !== "reports.jsonl");
    expect(moved).toHaveLength(Object.keys(reasons).length);
    for (const name of moved.filter((n) => !n.startsWith("flow-dir.json"))) expect(await modeOf(join(dir, "damaged", name))).toBe(0o600);
    expect(await readFile(join(dir, "damaged", moved.find((n) => n.startsWith("flow-array.json"))!), "utf8")).toBe("[1, 2]");

    const torn = await store.damaged("flow-torn");
    expect(torn).toMatchObject({ id: "flow-torn", file: "flows/flow-torn.json", reason: "not valid JSON: torn or empty write" });
    expect(torn!.movedTo.startsWith(join(dir, "damaged", "flow-torn.json."))).toBe(true);
    expect(store.damageReports().map((r) => r.file).sort()).toEqual(Object.keys(reasons).map((n) => `flows/${n}`));
    expect(store.damageReports().find((r) => r.file === "flows/notes.txt")!.id).toBeNull();
    await store.close();

    // After a restart: nothing more to set aside, and the damaged ids are still answered for.
    const again = await openLogged();
    expect(again.lines).toEqual([]);
    expect(again.store.damageReports()).toEqual([]);
    expect(await again.store.damaged("flow-torn")).toEqual(torn);
    expect(await again.store.damaged("flow-a")).toBeUndefined();
  });

  it("quarantine() sets a good document aside: get and list no longer see it, damaged() says where it went; the id may be created anew", async () => {
    await twoGoodFlows();
    const { store, lines } = await openLogged();
    const report = await store.quarantine("flow-a", "its sealed snapshot is bound to another flow");
    expect(report).toMatchObject({ id: "flow-a", file: "flows/flow-a.json", reason: "its sealed snapshot is bound to another flow" });
    expect(lines).toEqual([`store: flows/flow-a.json is damaged (its sealed snapshot is bound to another flow); moved to ${report.movedTo}; the other flows serve`]);
    expect(JSON.parse(await readFile(report.movedTo, "utf8"))).toEqual(record("flow-a"));
    expect(await modeOf(report.movedTo)).toBe(0o600);

    expect(await store.get("flow-a")).toBeUndefined();
    expect((await store.list({ limit: 500 })).items.map((r) => r.id)).toEqual(["flow-b"]);
    expect(await store.damaged("flow-a")).toEqual(report);
    expect(store.damageReports()).toEqual([report]);
    await expect(store.save(record("flow-a", 2), 1)).rejects.toBeInstanceOf(StaleWriteError);
    expect(await flowFiles()).toEqual(["flow-b.json"]);

    await store.save(record("flow-a"), null);
    expect(await store.get("flow-a")).toEqual(record("flow-a"));
    await store.close();
  });

  it("a torn last line of an audit file does not break reading, and the next entry starts on a line of its own", async () => {
    const store = await LowdbFlowStore.open(dir);
    await store.appendAudit([entry("flow-a", "idle"), entry("flow-a", "awaitingCode")]);
    await appendFile(join(dir, "audit", "flow-a.jsonl"), '{"flowId":"flow-a","at":"2026'); // a crash mid-append
    expect((await store.readAudit("flow-a", 10)).map((e) => e.to)).toEqual(["idle", "awaitingCode"]);
    await store.appendAudit([entry("flow-a", "exchanging")]);
    expect((await store.readAudit("flow-a", 10)).map((e) => e.to)).toEqual(["idle", "awaitingCode", "exchanging"]);
    await store.close();
  });
});

describe("lazy: the index in memory, the documents on disk", () => {
  it("get reads the document from disk, so what is there is what is served", async () => {
    await twoGoodFlows();
    const { store } = await openLogged();
    await writeFile(join(dir, "flows", "flow-a.json"), JSON.stringify({ ...record("flow-a"), sealedSnapshot: "rewritten on disk" }));
    expect((await store.get("flow-a"))!.sealedSnapshot).toBe("rewritten on disk");
    expect((await store.list({ limit: 10 })).items[0]).not.toHaveProperty("sealedSnapshot");
    await store.close();
  });

  it("a document damaged since open is set aside when next read — one line, get answers undefined, damaged() says where — never a throw", async () => {
    await twoGoodFlows();
    const { store, lines } = await openLogged();
    await writeFile(join(dir, "flows", "flow-a.json"), '{"id": "flow-a", "revis');
    await expect(store.get("flow-a")).resolves.toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^store: flows\/flow-a\.json is damaged \(not valid JSON: torn or empty write\); moved to .*damaged\/flow-a\.json\./);
    expect(await store.damaged("flow-a")).toMatchObject({ id: "flow-a", reason: "not valid JSON: torn or empty write" });
    expect((await store.list({ limit: 10 })).items.map((r) => r.id)).toEqual(["flow-b"]);
    expect(await store.count()).toBe(1);
    expect(await flowFiles()).toEqual(["flow-b.json"]);
    // claimDue answers from the index (it reads no document); the engine's read of the due flow sets it aside.
    await store.save({ ...record("flow-b", 2), nextDeadlineAt: 5 }, 1);
    await writeFile(join(dir, "flows", "flow-b.json"), "");
    await expect(store.claimDue(10, "me", 100, 10)).resolves.toEqual([{ id: "flow-b", revision: 2, nextDeadlineAt: 5 }]);
    await expect(store.get("flow-b")).resolves.toBeUndefined();
    expect(await store.damaged("flow-b")).toMatchObject({ reason: "empty: a write that never reached the disk" });
    await expect(store.claimDue(10, "me", 100, 10)).resolves.toEqual([]);
    await store.close();
  });

  it("a document deleted since open is forgotten with one line, not reported as damaged", async () => {
    await twoGoodFlows();
    const { store, lines } = await openLogged();
    await rm(join(dir, "flows", "flow-a.json"));
    expect(await store.get("flow-a")).toBeUndefined();
    expect(lines).toEqual(["store: flows/flow-a.json has disappeared since the store opened; the flow is forgotten"]);
    expect(await store.damaged("flow-a")).toBeUndefined();
    expect(await store.count()).toBe(1);
    await store.close();
  });

  it("a document written before the due-time index (no nextDeadlineAt, attentionFrom, lease) is due at once, so a deadline it had is not missed", async () => {
    const { nextDeadlineAt: _n, attentionFrom: _a, lease: _l, ...old } = record("flow-old");
    await mkdir(join(dir, "flows"), { recursive: true });
    await writeFile(join(dir, "flows", "flow-old.json"), JSON.stringify(old));
    const { store, lines } = await openLogged();
    expect(lines).toEqual([]);
    expect(await store.get("flow-old")).toEqual({ ...old, nextDeadlineAt: 0, attentionFrom: null, lease: null });
    expect((await store.claimDue(1, "me", 2, 10)).map((r) => r.id)).toEqual(["flow-old"]);
    await store.close();
  });

  it("a document whose index fields are not usable is set aside at open with the field named", async () => {
    await mkdir(join(dir, "flows"), { recursive: true });
    await writeFile(join(dir, "flows", "flow-x.json"), JSON.stringify({ ...record("flow-x"), nextDeadlineAt: "soon" }));
    await writeFile(join(dir, "flows", "flow-y.json"), JSON.stringify({ ...record("flow-y"), lease: { owner: 1 } }));
    const { store, lines } = await openLogged();
    expect(lines.join("\n")).toMatch(/flow-x\.json is damaged \(not a flow record: "nextDeadlineAt" is not a number or null\)/);
    expect(lines.join("\n")).toMatch(/flow-y\.json is damaged \(not a flow record: "lease" is not null or \{ owner, until \}\)/);
    expect(await store.count()).toBe(0);
    await store.close();
  });
});

describe("durable, private files", () => {
  it("after save() the document on disk parses and equals the record, and no temp file is left", async () => {
    const store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-a"), null);
    await store.save(record("flow-a", 2), 1);
    expect(JSON.parse(await readFile(join(dir, "flows", "flow-a.json"), "utf8"))).toEqual(record("flow-a", 2));
    expect(await flowFiles()).toEqual(["flow-a.json"]);
    await store.close();
    expect(await (await LowdbFlowStore.open(dir)).get("flow-a")).toEqual(record("flow-a", 2));
  });

  it("saves to one flow land in the order they were made; a failed write leaves the index as the disk is, and nothing behind", async () => {
    const store = await LowdbFlowStore.open(dir);
    await Promise.all([store.save(record("flow-a"), null), store.save(record("flow-a", 2), 1), store.save(record("flow-a", 3), 2)]);
    expect(JSON.parse(await readFile(join(dir, "flows", "flow-a.json"), "utf8")).revision).toBe(3);

    // A folder where the document should go: the rename into place fails, as a full disk would.
    await mkdir(join(dir, "flows", "flow-b.json", "in-the-way"), { recursive: true });
    await expect(store.save(record("flow-b"), null)).rejects.toThrow();
    expect(await store.get("flow-b")).toBeUndefined();
    expect(await store.count()).toBe(1);
    await rm(join(dir, "flows", "flow-a.json"));
    await mkdir(join(dir, "flows", "flow-a.json", "in-the-way"), { recursive: true });
    await expect(store.save(record("flow-a", 4), 3)).rejects.toThrow();
    expect((await store.list({ limit: 10 })).items.map((r) => [r.id, r.revision])).toEqual([["flow-a", 3]]);
    expect(await flowFiles()).toEqual(["flow-a.json", "flow-b.json"]); // no temp files
    // The failed write did not move the revision on: once the obstacle is gone, revision 3 is still the one to replace.
    await rm(join(dir, "flows", "flow-a.json"), { recursive: true });
    await store.save(record("flow-a", 4), 3);
    expect((await store.get("flow-a"))!.revision).toBe(4);
    await store.close();
  });

  it("an older DATA_DIR (0755 folders, 0644 files) is made private at open; new documents and audit files are 0600, every folder 0700", async () => {
    for (const sub of ["", "flows", "audit"]) {
      await mkdir(join(dir, sub), { recursive: true });
      await chmod(join(dir, sub), 0o755);
    }
    await writeFile(join(dir, "flows", "flow-old.json"), JSON.stringify(record("flow-old")), { mode: 0o644 });
    await writeFile(join(dir, "audit", "flow-old.jsonl"), JSON.stringify(entry("flow-old", "idle")) + "\n", { mode: 0o644 });

    const store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-new"), null);
    await store.appendAudit([entry("flow-new", "idle"), entry("flow-old", "awaitingCode")]);
    await store.close();

    for (const sub of ["", "flows", "audit", "damaged"]) expect(await modeOf(join(dir, sub)), `${sub || "DATA_DIR"}/`).toBe(0o700);
    for (const file of ["flows/flow-old.json", "flows/flow-new.json", "audit/flow-old.jsonl", "audit/flow-new.jsonl"]) {
      expect(await modeOf(join(dir, file)), file).toBe(0o600);
    }
    // (files moved to damaged/ are 0600 too: see "damage is contained")
  });
});

describe("audit lines ride in the flow's document until they pass 4 KB", () => {
  const line = (flowId: string, n: number): AuditEntry => ({ flowId, at: AT, from: `s${n - 1}`, to: `s${n}`, event: `E${n}`, user: "someone" });
  const doc = async (id: string) => JSON.parse(await readFile(join(dir, "flows", `${id}.json`), "utf8")) as Record<string, unknown>;
  const auditFile = (id: string) => readFile(join(dir, "audit", `${id}.jsonl`), "utf8").catch(() => null);

  it("a create's line is in its document (no audit file yet); later lines join it, then all go to the audit file in order; readAudit gives each once, also after a reopen and after a crash between the append and the next write", async () => {
    let store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-a"), null, [line("flow-a", 0)]);
    expect(await auditFile("flow-a")).toBeNull();
    expect((await doc("flow-a")).unfiledAudit).toBe(JSON.stringify(line("flow-a", 0)) + "\n");
    expect((await store.get("flow-a"))).toEqual(record("flow-a")); // the lines never leak into the record
    expect(await store.readAudit("flow-a", 100)).toEqual([line("flow-a", 0)]);
    let n = 1;
    while ((await auditFile("flow-a")) === null) {
      await store.save(record("flow-a", n + 1), n, [line("flow-a", n)]);
      n++;
    }
    const all = Array.from({ length: n }, (_, i) => line("flow-a", i));
    expect(n).toBeGreaterThan(5);
    expect(await auditFile("flow-a")).toBe(all.map((e) => JSON.stringify(e) + "\n").join(""));
    expect(await store.readAudit("flow-a", 100)).toEqual(all);
    // The document still holds the filed lines (they leave with its next write): a reopen now is a
    // crash between the append and that write, and must not read them twice.
    expect((await doc("flow-a")).unfiledAudit).toBeTruthy();
    await store.close();
    store = await LowdbFlowStore.open(dir);
    expect(await store.readAudit("flow-a", 100)).toEqual(all);
    await store.save(record("flow-a", n + 1), n, [line("flow-a", n)]);
    expect((await doc("flow-a")).unfiledAudit).toBe(JSON.stringify(line("flow-a", n)) + "\n");
    expect(await store.readAudit("flow-a", 100)).toEqual([...all, line("flow-a", n)]);
    expect((await store.readAudit("flow-a", 2)).map((e) => e.event)).toEqual([`E${n - 1}`, `E${n}`]);
    await store.close();
    // Unfiled lines survive a reopen (they are durable in the document), after the filed ones.
    store = await LowdbFlowStore.open(dir);
    expect(await store.readAudit("flow-a", 100)).toEqual([...all, line("flow-a", n)]);
    // appendAudit files them first, then its own.
    await store.appendAudit([line("flow-a", n + 1)]);
    expect(await store.readAudit("flow-a", 100)).toEqual([...all, line("flow-a", n), line("flow-a", n + 1)]);
    // Quarantine files them too: the trail stays readable after the document is set aside.
    await store.save(record("flow-a", n + 2), n + 1, [line("flow-a", n + 2)]);
    await store.quarantine("flow-a", "test");
    expect((await store.readAudit("flow-a", 100)).map((e) => e.event).slice(-3)).toEqual([`E${n}`, `E${n + 1}`, `E${n + 2}`]);
    await store.close();
  });
});

describe("delete (lowdb): the document first, then the trail", () => {
  const entries = (flowId: string) => Array.from({ length: 40 }, (_, i): AuditEntry => ({ flowId, at: AT, from: `s${i}`, to: `s${i + 1}`, event: `E${i}`, user: "someone" }));
  const auditFiles = async () => (await readdir(join(dir, "audit"))).sort();

  it("a crash between the two unlinks (the document gone, its audit file left) is tidied at open: the trail goes with one line; a set-aside flow's trail stays", async () => {
    let store = await LowdbFlowStore.open(dir);
    for (const id of ["flow-a", "flow-b", "flow-c"]) {
      await store.save(record(id), null);
      await store.appendAudit(entries(id));
    }
    await store.quarantine("flow-b", "test");
    await store.close();
    expect(await auditFiles()).toEqual(["flow-a.jsonl", "flow-b.jsonl", "flow-c.jsonl"]);
    await rm(join(dir, "flows", "flow-a.json")); // what delete() had done when the process died

    const opened = await openLogged();
    store = opened.store;
    expect(opened.lines).toEqual(["store: audit/flow-a.jsonl belongs to no flow (its flow was deleted, and a stop came before its trail went); removed"]);
    expect(await auditFiles()).toEqual(["flow-b.jsonl", "flow-c.jsonl"]);
    expect(await store.get("flow-a")).toBeUndefined();
    expect(await store.readAudit("flow-a", 100)).toEqual([]);
    expect(await store.readAudit("flow-b", 100)).toHaveLength(40); // damaged: its trail is still read
    expect(await store.readAudit("flow-c", 100)).toHaveLength(40);
    await store.delete("flow-c", 1);
    expect(await auditFiles()).toEqual(["flow-b.jsonl"]);
    expect(await flowFiles()).toEqual([]);
    await store.close();
  });

  it("tidies no trail it cannot tell is an orphan: the integrations' trail, a flow set aside without its ledger line, any while the ledger cannot be read", async () => {
    let store = await LowdbFlowStore.open(dir);
    for (const id of ["flow-a", "flow-b"]) {
      await store.save(record(id), null);
      await store.appendAudit(entries(id));
    }
    await store.close();
    await writeFile(join(dir, "audit", "integrations.jsonl"), `${JSON.stringify({ integration: "acme", at: AT, action: "create" })}\n`); // FileIntegrationStore's trail
    // flow-b set aside by a process that died before the ledger's line (damage.ts: moved first, then reported).
    await writeFile(join(dir, "damaged", "flow-b.json.20261207T000000Z"), await readFile(join(dir, "flows", "flow-b.json")));
    await rm(join(dir, "flows", "flow-b.json"));
    // The ledger cannot be read at this open: nothing is tidied, not even a real orphan (flow-a's).
    await rm(join(dir, "flows", "flow-a.json"));
    await mkdir(join(dir, "damaged", "reports.jsonl"));
    let opened = await openLogged();
    await opened.store.close();
    expect(opened.lines.filter((l) => l.includes("belongs to no flow"))).toEqual([]);
    expect(await auditFiles()).toEqual(["flow-a.jsonl", "flow-b.jsonl", "integrations.jsonl"]);
    // The ledger readable (and empty) again: flow-a's trail goes; flow-b's (its file in damaged/) and the integrations' stay.
    await rm(join(dir, "damaged", "reports.jsonl"), { recursive: true });
    opened = await openLogged();
    store = opened.store;
    expect(opened.lines.filter((l) => l.includes("belongs to no flow"))).toEqual(["store: audit/flow-a.jsonl belongs to no flow (its flow was deleted, and a stop came before its trail went); removed"]);
    expect(await auditFiles()).toEqual(["flow-b.jsonl", "integrations.jsonl"]);
    expect(await store.readAudit("flow-b", 100)).toHaveLength(40);
    await store.close();
  });

  it("leaves the trail of a flow whose document is still in flows/ (a link that could not be set aside: damaged/ refused the move)", async () => {
    let store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-a"), null);
    await store.appendAudit(entries("flow-a"));
    await store.close();
    // The document replaced by a link to a copy elsewhere: not a file, so open sets it aside — and the move fails.
    const elsewhere = join(dir, "elsewhere.json");
    await rename(join(dir, "flows", "flow-a.json"), elsewhere);
    await symlink(elsewhere, join(dir, "flows", "flow-a.json"));
    execFileSync("chattr", ["+i", join(dir, "damaged")]); // as root; the test machines run as root
    let opened: Awaited<ReturnType<typeof openLogged>>;
    try {
      opened = await openLogged();
    } finally {
      execFileSync("chattr", ["-i", join(dir, "damaged")]);
    }
    store = opened.store;
    expect(opened.lines.some((l) => l.includes("left in place"))).toBe(true);
    expect(opened.lines.filter((l) => l.includes("belongs to no flow"))).toEqual([]);
    expect(await auditFiles()).toEqual(["flow-a.jsonl"]);
    await store.close();
  });
});

describe("the audit trail's fold (lowdb)", () => {
  const person = (flowId: string, n: number, pad = 0): AuditEntry => ({ flowId, at: AT, from: "altinnAuthorized", to: "altinnAuthorized", event: `RENEW${"x".repeat(pad)}#${n}`, user: "ada" });
  const upkeep = (flowId: string, n: number): AuditEntry => ({ flowId, at: AT, from: "altinnAuthorized", to: "altinnAuthorized", event: `KEEP_ALIVE#${n}`, user: null, routine: true });
  const auditPath = (id: string) => join(dir, "audit", `${id}.jsonl`);
  const inode = async (id: string) => (await stat(auditPath(id))).ino;

  it("a trail that folding leaves big (what people did) is rewritten again only once it has doubled, not at every filing", async () => {
    let store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-a"), null);
    // Routine upkeep and 120 KB of what people did, filed; then the service restarts (the fold sizes
    // it learnt are gone) and upkeep goes on.
    await store.appendAudit([...Array.from({ length: 40 }, (_, i) => upkeep("flow-a", i)), ...Array.from({ length: 600 }, (_, i) => person("flow-a", i, 150))]);
    await store.close();
    store = await LowdbFlowStore.open(dir);
    // Each filing (a save files its lines once they pass 4 KB: a few renewals' worth) brings more
    // routine entries: the first folds the file; without the doubling rule each one after it read,
    // parsed, rewrote and fsynced the whole file again.
    let rewrites = 0;
    for (let i = 40; i < 100; i += 5) {
      const before = await inode("flow-a");
      await store.appendAudit(Array.from({ length: 5 }, (_, k) => upkeep("flow-a", i + k)));
      if ((await inode("flow-a")) !== before) rewrites++;
    }
    expect(rewrites).toBe(1);
    const trail = await store.readAudit("flow-a", 1000);
    expect(trail.filter((e) => e.folded)).toHaveLength(1);
    expect(trail.filter((e) => e.routine !== true)).toHaveLength(600);
    expect(trail.filter((e) => e.routine === true && !e.folded).length + trail.find((e) => e.folded)!.folded!.entries).toBe(100);
    await store.close();
  });

  it("lines past the fold size with no audit file yet are filed (the file is made), not refused", async () => {
    const store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-b"), null);
    const many = Array.from({ length: 400 }, (_, i) => upkeep("flow-b", i)); // ≈ 60 KB at once
    await store.appendAudit(many);
    expect(await store.readAudit("flow-b", 1000)).toEqual(many);
    await store.close();
  });

  it("a fold cut short (its temp file left in audit/) is cleaned up at open; the trail it was replacing is read as it was", async () => {
    let store = await LowdbFlowStore.open(dir);
    await store.save(record("flow-c"), null);
    const trail = [person("flow-c", 1), upkeep("flow-c", 2)];
    await store.appendAudit(trail);
    await store.close();
    await writeFile(join(dir, "audit", ".flow-c.jsonl.0267e0be.tmp"), "half a folded trail");
    store = await LowdbFlowStore.open(dir);
    expect(await readdir(join(dir, "audit"))).toEqual(["flow-c.jsonl"]);
    expect(await store.readAudit("flow-c", 10)).toEqual(trail);
    await store.close();
  });
  it("a write of one of DATA_DIR's own files cut short (its temp file left in the root) is cleaned up at open; other files stay", async () => {
    await writeFile(join(dir, ".integrations.json.0267e0be.tmp"), "half a file");
    await writeFile(join(dir, ".ended-sessions.json.tmp"), "steno's");
    await writeFile(join(dir, "integrations.json"), "{}");
    const store = await LowdbFlowStore.open(dir);
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(await readdir(dir)).toContain("integrations.json");
    await store.close();
  });
});
