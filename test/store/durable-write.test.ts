// What no file on disk can show afterwards: that a document was fsynced before it was renamed into
// place, and its folder after. Watched from outside with strace on a real process doing a real save
// (skipped where strace is not installed or may not trace).
import { execFileSync, spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { removeDir, tempDir } from "./helpers.ts";

const FIXTURE = new URL("./fixtures/save-one.ts", import.meta.url).pathname;
const REPLACE_FIXTURE = new URL("./fixtures/replace-folder.ts", import.meta.url).pathname;
const strace = (() => {
  try {
    execFileSync("strace", ["-qq", "-o", "/dev/null", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
beforeEach(async () => void (dir = await tempDir("durable")));
afterEach(async () => removeDir(dir));

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * Runs `fixture` on `data` under strace and answers the traced calls that name a path under `data`.
 * -y prints the path behind every file descriptor, so fsync(20</…/flows>) says what was synced.
 */
async function traced(fixture: string, data: string, calls: string): Promise<string[]> {
  const trace = join(dir, "trace.txt");
  const run = spawnSync("strace", ["-f", "-qq", "-y", "-e", `trace=${calls}`, "-o", trace, "node", "--import", "tsx", fixture, data], {
    cwd: new URL("../..", import.meta.url).pathname,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return (await readFile(trace, "utf8")).split("\n").filter((l) => l.includes(data));
}

it.skipIf(!strace)("a save writes a temp file, fsyncs it, renames it into place, then fsyncs the folder; an audit append is synced; a create's audit line is in its synced document", async () => {
  const data = join(dir, "data");
  const calls = await traced(FIXTURE, data, "fsync,fdatasync,rename,renameat,renameat2,open,openat");
  const flows = join(data, "flows");
  const index = (pattern: RegExp) => calls.findIndex((l) => pattern.test(l));

  const syncTemp = index(new RegExp(`fsync\\(\\d+<${esc(flows)}/\\.flow-a\\.json\\.[0-9a-f]+\\.tmp>\\)`));
  const renamed = index(new RegExp(`rename(at2?)?\\(.*${esc(flows)}/\\.flow-a\\.json\\.[0-9a-f]+\\.tmp".*"${esc(flows)}/flow-a\\.json"`));
  const syncFolder = index(new RegExp(`fsync\\(\\d+<${esc(flows)}>\\)`));
  expect(syncTemp, calls.join("\n")).toBeGreaterThanOrEqual(0);
  expect(renamed, calls.join("\n")).toBeGreaterThan(syncTemp);
  expect(syncFolder, calls.join("\n")).toBeGreaterThan(renamed);
  expect(index(new RegExp(`f(data)?sync\\(\\d+<${esc(join(data, "audit", "flow-a.jsonl"))}>\\)`)), calls.join("\n")).toBeGreaterThanOrEqual(0);

  // A create's audit line is acknowledged inside its document: fsynced, renamed, folder fsynced.
  const syncTempB = index(new RegExp(`fsync\\(\\d+<${esc(flows)}/\\.flow-b\\.json\\.[0-9a-f]+\\.tmp>\\)`));
  const renamedB = index(new RegExp(`rename(at2?)?\\(.*${esc(flows)}/\\.flow-b\\.json\\.[0-9a-f]+\\.tmp".*"${esc(flows)}/flow-b\\.json"`));
  const syncFolderB = calls.findIndex((l, i) => i > renamedB && new RegExp(`fsync\\(\\d+<${esc(flows)}>\\)`).test(l));
  expect(syncTempB, calls.join("\n")).toBeGreaterThanOrEqual(0);
  expect(renamedB, calls.join("\n")).toBeGreaterThan(syncTempB);
  expect(syncFolderB, calls.join("\n")).toBeGreaterThan(renamedB);
  expect(JSON.parse(await readFile(join(flows, "flow-b.json"), "utf8")).unfiledAudit).toMatch(/"event":"create"/);
  // The folder's descriptor is kept between its fsyncs: opened for them once (the O_DIRECTORY open
  // is start-up's listing), synced after each rename.
  const folderOpens = calls.filter((l) => new RegExp(`^\\d+\\s+open(at)?\\(.*"${esc(flows)}", O_RDONLY\\|O_CLOEXEC\\)`).test(l));
  expect(calls.filter((l) => new RegExp(`fsync\\(\\d+<${esc(flows)}>\\)`).test(l)).length, calls.join("\n")).toBeGreaterThanOrEqual(2);
  expect(folderOpens, calls.join("\n")).toHaveLength(1);
});

it.skipIf(!strace)("a folder removed and made again under the same path is synced through a new descriptor, not the kept one of the old folder", async () => {
  const data = join(dir, "data");
  const calls = await traced(REPLACE_FIXTURE, data, "fsync,rename,renameat,renameat2");
  const docs = join(data, "docs");
  const renamedThird = calls.findIndex((l) => new RegExp(`rename(at2?)?\\(.*"${esc(docs)}/third\\.json"`).test(l));
  expect(renamedThird, calls.join("\n")).toBeGreaterThanOrEqual(0);
  // strace -y names the folder behind the descriptor: the new docs/, not docs-old/.
  const folderSyncs = calls.slice(renamedThird + 1).filter((l) => /^\d+\s+fsync\(\d+<[^>]*>\)/.test(l) && !/\.json/.test(l));
  expect(folderSyncs, calls.join("\n")).toHaveLength(1);
  expect(folderSyncs[0], calls.join("\n")).toContain(`<${docs}>`);
});
