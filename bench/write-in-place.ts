// The CPU and the rate of one durable write of a flow document, two ways, alternating (8 writers):
//   today     src/store/private-files.ts writeFileAtomically — a new temp file, its fsync, a rename
//             over the document, the folder's fsync
//   in place  what a two-slot layout would do: the document's older slot file (it exists) is
//             overwritten, truncated to size and fdatasynced — no new inode, no rename, no folder fsync
// A measurement for the choice of a store layout, not a store: the in-place way needs a format that
// reads both slots and tells a torn one (a checksum), which the store does not have.
//
//   node --import tsx bench/write-in-place.ts     BENCH_WRITES=3000  BENCH_TMPDIR=/path/on/the/disk/to/measure
import { closeSync, fdatasync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomically } from "../src/store/private-files.ts";

const WRITERS = 8;
const WRITES = Number(process.env.BENCH_WRITES ?? 3000);
const FLOWS = 400;
const document = JSON.stringify({ sealedSnapshot: "x".repeat(8000) }); // a flow document is 8–9 KB after an authorization

const root = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), "authflow-write-in-place-"));
const [renamed, slotted] = [join(root, "renamed"), join(root, "slotted")];
mkdirSync(renamed);
mkdirSync(slotted);
const ids = Array.from({ length: FLOWS }, (_, i) => `flow-${i}`);
for (const id of ids) {
  await writeFileAtomically(join(renamed, `${id}.json`), document);
  for (const slot of [0, 1]) await writeFileAtomically(join(slotted, `${id}.${slot}`), document);
}

const today = (id: string) => writeFileAtomically(join(renamed, `${id}.json`), document);
const inPlace = async (id: string, revision: number) => {
  const fd = openSync(join(slotted, `${id}.${revision % 2}`), "r+");
  try {
    const bytes = Buffer.from(document);
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    closeSync(fd);
  }
};

async function run(name: string, write: (id: string, revision: number) => Promise<void>) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let i = next++; i < WRITES; i = next++) await write(ids[i % FLOWS]!, Math.floor(i / FLOWS));
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${name}: ${((cpu.user + cpu.system) / WRITES).toFixed(0)} µs CPU per write (user ${(cpu.user / WRITES).toFixed(0)}, system ${(cpu.system / WRITES).toFixed(0)}), ${(WRITES / seconds).toFixed(0)} writes/s`);
}

try {
  for (let round = 0; round < 3; round++) {
    await run("today   ", today);
    await run("in place", inPlace);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
