// The reproduction (issue 8, point 1): the disk fills while ID-porten holds the refresh.
// The provider's answer cannot be written; it must be held and the write retried, never rolled
// back to `renewing` (that would re-run the refresh with the spent one-time token: invalid_grant,
// expired). Callers get 503 meanwhile; once space is freed the answer lands, the token call
// answers 200, the refresh was made once, and a restart finds the flow altinnAuthorized.
//
// DATA_DIR is a 16 MiB tmpfs (needs root and mount; skipped with a note otherwise). The simulator
// stands for ID-porten, whose disk is not ours: its folder (DATA_DIR/simulator) is a link to the
// ordinary temp disk, so filling DATA_DIR fails only the service's writes.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, canMountTmpfs, eventually, fillDisk, heldAtSimulator, simulatorSaw, sleep } from "../support/fault-helpers.ts";

const cannot = canMountTmpfs();
if (cannot) console.warn(`test/faults/full-disk-during-refresh: SKIPPED — ${cannot}`);

let t: TestService | undefined;
let mountPoint: string | undefined;
let outside: string | undefined;
afterEach(async () => {
  await t?.close().catch(() => undefined);
  t = undefined;
  if (mountPoint) {
    for (let i = 0; i < 20; i++) {
      try {
        execFileSync("umount", [mountPoint], { stdio: "pipe" });
        break;
      } catch {
        await sleep(100); // a file still open for a moment
      }
    }
    rmSync(mountPoint, { recursive: true, force: true });
  }
  if (outside) rmSync(outside, { recursive: true, force: true });
  mountPoint = outside = undefined;
});

it.skipIf(cannot !== null)(
  "a full disk while the simulator holds the refresh: 503 meanwhile (not 409/expired), 200 once space is freed, one refresh at the provider, altinnAuthorized after a restart",
  async () => {
    mountPoint = mkdtempSync(join(tmpdir(), "authflow-full-disk-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", mountPoint], { stdio: "pipe" });
    outside = mkdtempSync(join(tmpdir(), "authflow-full-disk-idporten-"));
    mkdirSync(join(outside, "simulator"), { mode: 0o700 });
    symlinkSync(join(outside, "simulator"), join(mountPoint, "simulator"));

    // A 2 s outbound timeout: the 1.5 s hold is answered, and a caller waits at most ~5 s for a write.
    const env = { SIMULATED_CLOCK: "on", OUTBOUND_TIMEOUT_SECONDS: "2" };
    t = await startTestService(env, mountPoint);
    const { id } = await authorizedFlow(t);
    await t.api("POST", "/api/clock", { advanceSeconds: 7200 }); // the access token is due for renewal

    await t.control("POST", "/faults", { endpoint: "token", delayMs: 1500, count: 1 });
    const during = t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    await heldAtSimulator(t);
    const ballast = join(mountPoint, "ballast");
    fillDisk(ballast);

    const refused = await during;
    expect(refused.status, refused.text).toBe(503);
    expect(refused.type).toContain("application/problem+json");
    expect(simulatorSaw(t).refreshes, "the provider answered the refresh").toBe(1);
    expect(t.lines.some((l) => /write failed/.test(l) && /held/.test(l)), "the log says the change is held").toBe(true);
    const meanwhile = (await t.api("GET", `/api/flows/${id}`)).json;
    expect(meanwhile.authorizationState).not.toBe("expired");

    rmSync(ballast, { force: true });
    rmSync(`${ballast}.probe`, { force: true });
    const served = await eventually(async () => {
      const answer = await t!.api("POST", `/api/flows/${id}/token`, { user: "alice" });
      return answer.status === 200 ? answer : undefined;
    }, "the token call answers 200 once space is freed", 10_000);
    expect(served.json.altinnToken).toEqual(expect.stringMatching(/^eyJ/));
    const view = (await t.api("GET", `/api/flows/${id}`)).json;
    expect(view.state).toBe("altinnAuthorized");
    const saw = simulatorSaw(t);
    expect(saw.refreshes, "one refresh, never re-run").toBe(1);
    expect(saw.reuses).toBe(0);
    expect(saw.invalidGrants).toBe(0);

    await t.restart();
    const after = (await t.api("GET", `/api/flows/${id}`)).json;
    expect(after.state).toBe("altinnAuthorized");
    const again = await t.api("POST", `/api/flows/${id}/token`, { user: "alice" });
    expect(again.status).toBe(200);
    expect(again.json.altinnToken).toBe(served.json.altinnToken);
  },
  40_000,
);
