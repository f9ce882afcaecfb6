// The integrations' audit trail in lowdb mode is one JSON Lines file that only grows. readAudit reads
// it from the end in chunks and stops once it has `limit` entries of the name: these tests hold that
// the answer is the one reading the whole file gave (wholeFileReadAudit below is that code, as it
// was), on real files with lines across chunk boundaries and characters split by them; and that a
// large file is answered by reading only its end, with memory and open files that do not grow with it.
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileIntegrationStore, INTEGRATIONS_AUDIT_FILE } from "../../src/integrations/integration-store.ts";
import type { IntegrationAuditEntry } from "../../src/integrations/integration-types.ts";
import { CHUNK_BYTES, scanLinesFromEnd } from "../../src/store/lines-from-end.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function dataDir(): Promise<{ dir: string; auditPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), "authflow-integration-audit-"));
  dirs.push(dir);
  await mkdir(join(dir, "audit"), { recursive: true });
  return { dir, auditPath: join(dir, INTEGRATIONS_AUDIT_FILE) };
}

/** FileIntegrationStore.readAudit before it read from the end: the answer to keep. */
async function wholeFileReadAudit(path: string, name: string, limit = 200): Promise<IntegrationAuditEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries = text.split("\n").flatMap((line) => {
    if (!line) return [];
    try {
      const entry = JSON.parse(line) as IntegrationAuditEntry;
      return entry.integration === name ? [entry] : [];
    } catch {
      return [];
    }
  });
  return entries.slice(-limit);
}

const MULTI = "Ærøy ✓ 🙂";
const NAMES = ["acme", "erp-1", "erp-2", "rare"];

/** A deterministic sequence, so a failure can be run again as it was. */
function numbers(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31), x / 2 ** 31);
}

function auditLine(i: number, name: string, random: () => number): string {
  const entry: IntegrationAuditEntry = {
    at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    integration: name,
    action: i % 7 === 0 ? "create" : "update",
    client: "page",
    user: `${MULTI.repeat(Math.floor(random() * 40))}${"x".repeat(Math.floor(random() * 5))}`, // lengths vary, so boundaries fall everywhere
    changed: ["exchangeMode", MULTI.repeat(Math.floor(random() * 3))],
  };
  return `${JSON.stringify(entry)}\n`;
}

/** Byte offsets, counted from the end, where readAudit's chunks begin and end. */
const boundaries = (size: number, chunk: number) => Array.from({ length: Math.floor((size - 1) / chunk) }, (_, k) => size - (k + 1) * chunk);
const isContinuationByte = (byte: number) => (byte & 0xc0) === 0x80;

describe("FileIntegrationStore.readAudit, read from the file's end", () => {
  it("answers what reading the whole file answered: several integrations, lines across chunk boundaries, characters split by them, torn lines", async () => {
    const { dir, auditPath } = await dataDir();
    const random = numbers(62);
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const name = i % 500 === 3 ? "rare" : NAMES[Math.floor(random() * 3)]!;
      let line = auditLine(i, name, random);
      if (i % 997 === 5) line = line.slice(0, Math.floor(line.length / 2)); // a crash tore it; the next append joins it
      if (i % 1_301 === 0) line += "\n"; // an empty line
      lines.push(line);
    }
    lines.push(auditLine(6000, "acme", random).slice(0, 50)); // the last line torn (no newline)
    await writeFile(auditPath, lines.join(""));
    const bytes = readFileSync(auditPath);
    // The file is what the test claims to cover: many chunks, and characters cut by their boundaries.
    const cuts = boundaries(bytes.length, CHUNK_BYTES);
    expect(cuts.length).toBeGreaterThan(10);
    expect(cuts.filter((at) => isContinuationByte(bytes[at]!)).length).toBeGreaterThan(3);

    const store = await FileIntegrationStore.open(dir);
    for (const name of [...NAMES, "absent", "Ærøy"]) {
      for (const limit of [1, 2, 17, 200, 1_000, 100_000]) {
        const expected = await wholeFileReadAudit(auditPath, name, limit);
        expect(await store.readAudit(name, limit), `${name}, limit ${limit}`).toEqual(expected);
      }
      expect(await store.readAudit(name)).toEqual(await wholeFileReadAudit(auditPath, name));
    }
    expect((await store.readAudit("acme")).length).toBe(200);
    const rare = (await store.readAudit("rare", 1_000)).length; // fewer than the limit: the whole file was read
    expect(rare).toBeGreaterThan(5);
    expect(rare).toBeLessThan(17);
    await store.close();
  });

  it("answers nothing when there is no audit file, or an empty one, or one of torn lines only", async () => {
    const { dir, auditPath } = await dataDir();
    const store = await FileIntegrationStore.open(dir);
    expect(existsSync(auditPath)).toBe(false);
    expect(await store.readAudit("acme")).toEqual([]);
    await writeFile(auditPath, "");
    expect(await store.readAudit("acme")).toEqual([]);
    await writeFile(auditPath, '{"at":"2026-01-01T00:00:00.000Z","integration":"acme","act');
    expect(await store.readAudit("acme")).toEqual(await wholeFileReadAudit(auditPath, "acme"));
    expect(await store.readAudit("acme")).toEqual([]);
    await store.close();
  });

  it("keeps the newest entries when there are more than the limit, and answers them oldest first", async () => {
    const { dir, auditPath } = await dataDir();
    const random = numbers(7);
    await writeFile(auditPath, Array.from({ length: 300 }, (_, i) => auditLine(i, i % 2 ? "acme" : "erp-1", random)).join(""));
    const store = await FileIntegrationStore.open(dir);
    const acme = await store.readAudit("acme", 100);
    expect(acme.map((e) => e.at)).toEqual((await wholeFileReadAudit(auditPath, "acme", 100)).map((e) => e.at));
    expect(acme[0]!.at < acme[99]!.at).toBe(true); // oldest first
    await store.close();
  });
});

describe("scanLinesFromEnd", () => {
  const text = `{"a":"${MULTI}"}\n\nÆ\n${"🙂".repeat(9)}\nøx✓\n🙂\n\n${MULTI}${MULTI}\ntorn 🙂`;

  it("gives the lines of split('\\n'), last first, at every chunk size (a boundary inside each character somewhere)", async () => {
    const { auditPath } = await dataDir();
    await writeFile(auditPath, text);
    const expected = text.split("\n").reverse();
    for (let chunkBytes = 1; chunkBytes <= Buffer.byteLength(text) + 1; chunkBytes++) {
      const seen: string[] = [];
      const { bytesRead } = await scanLinesFromEnd(auditPath, (line) => void seen.push(line), { chunkBytes });
      expect(seen, `chunk of ${chunkBytes} bytes`).toEqual(expected);
      expect(bytesRead).toBe(Buffer.byteLength(text));
    }
    await writeFile(auditPath, `${text}\n`); // ending in a newline: an empty last line, as split has it
    const seen: string[] = [];
    await scanLinesFromEnd(auditPath, (line) => void seen.push(line), { chunkBytes: 5 });
    expect(seen).toEqual(`${text}\n`.split("\n").reverse());
  });

  it("stops reading once the visitor has enough, and passes over a line longer than it keeps", async () => {
    const { auditPath } = await dataDir();
    await writeFile(auditPath, `first\n${"y".repeat(5_000)}\nthree ✓\nfour\n${"z".repeat(3_000)}`);
    const seen: string[] = [];
    const { bytesRead } = await scanLinesFromEnd(auditPath, (line) => (seen.push(line), line === "four"), { chunkBytes: 1_000 });
    expect(seen).toEqual(["z".repeat(3_000), "four"]);
    expect(bytesRead).toBe(4_000);
    const kept: string[] = [];
    await scanLinesFromEnd(auditPath, (line) => void kept.push(line), { chunkBytes: 700, maxLineBytes: 4_000 });
    expect(kept).toEqual(["z".repeat(3_000), "four", "three ✓", "first"]);
  });
});

/** Bytes this process has read through read(2) and its kind, as the kernel counts them (Linux). */
function bytesReadByProcess(): number {
  const line = readFileSync("/proc/self/io", "utf8").split("\n").find((l) => l.startsWith("rchar:"));
  return Number(line!.split(":")[1]);
}

/** Descriptors this process holds open on `path` (Linux). */
function openOn(path: string): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) count++;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

describe.runIf(existsSync("/proc/self/io"))("a large audit file (30 MB)", () => {
  it("is answered by reading its end only, with memory and open files that do not grow with it", async () => {
    const { dir, auditPath } = await dataDir();
    const random = numbers(30);
    const target = 30 * 1024 * 1024;
    let written = 0;
    let rare = 0;
    for (let i = 0; written < target; ) {
      const batch: string[] = [];
      for (let k = 0; k < 5_000; k++, i++) {
        if (i % 1_000 === 0) rare++;
        batch.push(auditLine(i, i % 1_000 === 0 ? "rare" : `erp-${i % 50}`, random));
      }
      const text = batch.join("");
      await appendFile(auditPath, text);
      written += Buffer.byteLength(text);
    }
    const store = await FileIntegrationStore.open(dir);

    // 200 entries of erp-7 are the last 10,000 lines: a few MB of the 30.
    const before = bytesReadByProcess();
    const entries = await store.readAudit("erp-7");
    const read = bytesReadByProcess() - before;
    expect(entries.length).toBe(200);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(written / 4);

    // "rare" has fewer than 200 entries: every call reads the whole file. Sixteen at once: the memory
    // outside the JS heap (file buffers) stays far under one file's size, and at most two scans hold
    // the file open at a time.
    let sampling = true;
    let mostBuffers = 0;
    let mostOpen = 0;
    const baseline = process.memoryUsage().arrayBuffers;
    const sampler = (async () => {
      while (sampling) {
        mostBuffers = Math.max(mostBuffers, process.memoryUsage().arrayBuffers - baseline);
        mostOpen = Math.max(mostOpen, openOn(auditPath));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const answers = await Promise.all(Array.from({ length: 16 }, () => store.readAudit("rare")));
    sampling = false;
    await sampler;
    expect(rare).toBeLessThan(200);
    const expected = await wholeFileReadAudit(auditPath, "rare");
    expect(expected.length).toBe(rare);
    for (const answer of answers) expect(answer).toEqual(expected);
    expect(mostOpen).toBeGreaterThan(0);
    expect(mostOpen).toBeLessThanOrEqual(2);
    expect(mostBuffers).toBeLessThan(written / 10);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
});
