// Helpers for test/faults: the service with the embedded simulator (test-service.ts), driven over
// HTTP, and what the simulator itself says it saw (its own log lines, its fault queue) — never the
// service's own counting.
import { execFileSync } from "node:child_process";
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { Env } from "../../src/config.ts";
import { PID, startTestService, type TestService } from "./test-service.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** No request ended in the error handler's catch-all (a 500 "something went wrong"): its log lines start "error on ". */
export function expectNoUnexpectedErrors(t: TestService): void {
  expect(t.lines.filter((l) => /^error on /.test(l)), "errors logged as unexpected (500)").toEqual([]);
}
export const LEGAL_ENTITY = "999999999";

/** Creates a flow, has `user` AUTHORIZE and log in (as `pid`), and waits until it is altinnAuthorized. */
export async function authorizedFlow(t: TestService, user = "alice", pid = PID): Promise<{ id: string; authorizationUrl: string }> {
  const created = await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${created.text}`);
  const id = created.json.id as string;
  const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user });
  if (authorize.status !== 200) throw new Error(`AUTHORIZE answered ${authorize.status}: ${authorize.text}`);
  const page = await t.login(authorize.json.authorizationUrl, pid);
  if (page.status !== 200 || !/Success/.test(page.body)) throw new Error(`login page ${page.status}: ${page.body.slice(0, 300)}`);
  const view = await t.waitForState(id, ["altinnAuthorized"]);
  if (view.state !== "altinnAuthorized") throw new Error(`flow is ${view.state}: ${JSON.stringify(view.lastError)}`);
  return { id, authorizationUrl: authorize.json.authorizationUrl };
}

/** The simulator's own log lines (the service prefixes them "simulator: "). */
export const simulatorLines = (t: TestService) => t.lines.filter((l) => l.startsWith("simulator: ")).map((l) => l.slice("simulator: ".length));

/** What the simulator's token endpoint did, read from the simulator's log (oidc-provider's grant.success and error events). */
export function simulatorSaw(t: TestService) {
  const lines = simulatorLines(t);
  return {
    /** Refreshes the provider answered with new tokens. */
    refreshes: lines.filter((l) => /^token: refresh_token for /.test(l)).length,
    codeExchanges: lines.filter((l) => /^token: authorization_code for /.test(l)).length,
    /** A rotated refresh token presented again within the reuse grace. */
    reuses: lines.filter((l) => /reuse grace/.test(l)).length,
    invalidGrants: lines.filter((l) => /^token: invalid_grant/.test(l)).length,
    /** Token calls that met a fault (held, refused or dropped) before the provider. */
    faulted: lines.filter((l) => /^fault: token call/.test(l)).length,
  };
}

/** Waits until `check` holds, polling; throws `what` after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}

/** Waits until the simulator has a token call in hand that a delay fault holds. */
export const heldAtSimulator = (t: TestService, before = simulatorSaw(t).faulted) =>
  eventually(() => simulatorSaw(t).faulted > before, "the simulator received the token call");

/**
 * Stops `t` and starts the service again on the same DATA_DIR with the same simulator issuer (as
 * ID-porten's never changes), running `between` while nothing runs. `t` must have been started
 * with a DATA_DIR of the test's own (startTestService(env, dir)), or the folder is removed on close.
 */
export async function reopen(t: TestService, env: Env, between: () => Promise<void> | void = () => {}): Promise<TestService> {
  const issuer = t.service.simulator!.issuer;
  await t.close();
  await between();
  return startTestService({ ...env, SIMULATOR_PORT: new URL(issuer).port, SIMULATOR_PUBLIC_URL: issuer }, t.dataDir);
}

/** Why a tmpfs cannot be mounted here (for a full-disk test), or null when it can: needs root and mount. */
export function canMountTmpfs(): string | null {
  if (process.getuid?.() !== 0) return "not running as root";
  const probe = mkdtempSync(join(tmpdir(), "authflow-tmpfs-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], { stdio: "pipe" });
    execFileSync("umount", [probe], { stdio: "pipe" });
    return null;
  } catch (error) {
    return `mount -t tmpfs is not permitted here (${String((error as Error).message).split("\n")[0]})`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Fills the file system that holds `path` (creating it) until a write fails with ENOSPC; returns the bytes written. */
export function fillDisk(path: string): number {
  let written = 0;
  const fd = openSync(path, "w");
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  // The file system really is full now.
  try {
    appendFileSync(`${path}.probe`, "x");
    throw new Error(`${path}: the file system still takes writes after filling it`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  }
  return written;
}

/** Polls the flow view until no outbound call is in flight: the grant rests (ready) or has ended. */
export function waitForRest(t: TestService, id: string, timeoutMs = 10_000): Promise<any> {
  return eventually(async () => {
    const view = (await t.api("GET", `/api/flows/${id}`)).json;
    const resting = ["idle", "expired"].includes(view?.authorizationState) || view?.substate === "ready";
    return resting && !["exchanging"].includes(view?.state) ? view : undefined;
  }, `flow ${id} comes to rest`, timeoutMs);
}
