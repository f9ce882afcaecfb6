// Issue 8, point 3: two processes on one DATA_DIR would both renew the same one-time refresh
// tokens. A second server process is refused with one line naming the folder and the holder (exit
// 2); after the first is killed with SIGKILL (no chance to release its lock), a start succeeds at
// once — no staleness timeout to wait out. Real processes, each in its own process group.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { freePort } from "../support/free-port.ts";
import { startTestService, type TestService } from "../support/test-service.ts";
import { killAll, startProcess, waitForHealthy } from "../lifecycle/process-group.ts";
import { authorizedFlow } from "../support/fault-helpers.ts";

const API_TOKEN = "faults-lock-test-token-0123456789abcdef";
let dataDir: string | undefined;
let t: TestService | undefined;
afterEach(async () => {
  killAll(); // every process group this file started, SIGKILL
  await t?.close().catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  t = dataDir = undefined;
});

async function serverEnv() {
  return { PORT: String(await freePort()), SIMULATOR_PORT: String(await freePort()), DATA_DIR: dataDir!, API_TOKEN };
}

it("a second server on the same DATA_DIR exits 2 with one line naming the folder and the holder; after SIGKILL of the first, a start succeeds at once", async () => {
  dataDir = mkdtempSync(join(tmpdir(), "authflow-two-processes-"));
  const firstEnv = await serverEnv();
  const first = startProcess("node", ["--import", "tsx", "src/main.node.ts"], firstEnv);
  await waitForHealthy(`http://127.0.0.1:${firstEnv.PORT}`, first);

  const second = startProcess("node", ["--import", "tsx", "src/main.node.ts"], await serverEnv());
  const ended = await Promise.race([second.exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
  expect(ended, "the second process stopped by itself").not.toBeNull();
  expect(ended!.code).toBe(2);
  const { stdout, stderr } = second.output();
  const lines = (stdout + stderr).split("\n").filter((l) => l.trim() !== "");
  expect(lines, stdout + stderr).toHaveLength(1);
  expect(lines[0]).toContain(dataDir);
  expect(lines[0]).toContain(`pid ${first.child.pid}`);
  expect(lines[0]).not.toMatch(/^\s+at /m);
  // The first still serves.
  expect((await fetch(`http://127.0.0.1:${firstEnv.PORT}/healthz`)).status).toBe(200);

  process.kill(-first.pgid, "SIGKILL");
  await first.exited;
  const started = Date.now();
  t = await startTestService({}, dataDir);
  expect(Date.now() - started, "no staleness timeout to wait out").toBeLessThan(5000);
  await authorizedFlow(t); // and it owns the folder: flows are written
}, 60_000);
