// The file primitives under DATA_DIR, seen from the process itself: what a write leaves open.
import { readdirSync, readlinkSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { releaseFolders, writeFileAtomically } from "../../src/store/private-files.ts";
import { removeDir, tempDir } from "./helpers.ts";

let dir: string;
beforeEach(async () => void (dir = await tempDir("private-files")));
afterEach(async () => removeDir(dir));

/** This process's open descriptors that point at a folder under `root` (Linux: /proc/self/fd). */
function heldFolders(root: string): string[] {
  const held: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(root) && !target.endsWith(".json")) held.push(target);
    } catch {
      // closed meanwhile (the listing's own descriptor)
    }
  }
  return held;
}

it.skipIf(process.platform !== "linux")("keeps a bounded number of folder descriptors open, however many folders are written to", async () => {
  const folders = Array.from({ length: 40 }, (_, i) => join(dir, `folder-${i}`));
  for (const folder of folders) {
    await mkdir(folder);
    await writeFileAtomically(join(folder, "doc.json"), `{"in":"${folder}"}`);
  }
  for (const folder of folders) expect(JSON.parse(await readFile(join(folder, "doc.json"), "utf8"))).toEqual({ in: folder });
  const held = heldFolders(dir);
  // Kept for the next fsync (the last folder written is one of them), but never more than 16.
  expect(held).toContain(folders.at(-1));
  expect(held.length).toBeLessThanOrEqual(16);
});

it.skipIf(process.platform !== "linux")("lets go of the kept descriptors under a folder when asked (a stopped service must not hold its DATA_DIR open)", async () => {
  const inside = join(dir, "data", "flows");
  const beside = join(dir, "data-other");
  await mkdir(inside, { recursive: true });
  await mkdir(beside);
  await writeFileAtomically(join(inside, "a.json"), "{}");
  await writeFileAtomically(join(beside, "b.json"), "{}");
  expect(heldFolders(dir).sort()).toEqual([beside, inside].sort());
  // Named relative or not, the same folder; a folder whose name merely starts the same is not under it.
  await releaseFolders(relative(process.cwd(), join(dir, "data")));
  expect(heldFolders(dir)).toEqual([beside]);
  await releaseFolders(beside);
  expect(heldFolders(dir)).toEqual([]);
});
