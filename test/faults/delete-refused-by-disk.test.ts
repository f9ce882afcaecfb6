// DELETE /api/flows/{id} on lowdb when the disk refuses to remove the flow's document: the 503 says
// the flow "is as it was", so it must be — its document and its whole audit trail (a review saw the
// trail go first: 59 entries → 12). The answer names no path of the server's (the log line does).
// The file system's unlink is wrapped at the node:fs/promises boundary (as root, a read-only folder
// does not stop an unlink); the rest is the service on a real DATA_DIR.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, eventually } from "../support/fault-helpers.ts";

/** Paths whose unlink fails with EPERM, as it does for an immutable file (chattr +i). */
const refused = new Set<string>();
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const unlink: typeof real.unlink = async (path) => {
    if (refused.has(String(path))) throw Object.assign(new Error(`EPERM: operation not permitted, unlink '${String(path)}'`), { code: "EPERM", errno: -1, syscall: "unlink", path: String(path) });
    return real.unlink(path);
  };
  return { ...real, unlink, default: { ...real, unlink } };
});

let t: TestService | undefined;
let dir: string | undefined;
afterEach(async () => {
  refused.clear();
  await t?.close().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  t = dir = undefined;
});

it("the document's unlink fails: 503 naming no path, and the flow and its full trail (in its audit file) are as they were; then it deletes", async () => {
  dir = await mkdtemp(join(tmpdir(), "authflow-delete-refused-"));
  t = await startTestService({}, dir);
  const { id } = await authorizedFlow(t);
  // Enough entries that some are in the audit file, not only in the document.
  for (let i = 0; i < 3; i++) {
    expect((await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" })).status).toBe(200);
    await t.waitForState(id, ["revoked", "idle", "expired"]);
    const again = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect((await t.login(again.json.authorizationUrl)).status).toBe(200);
    await t.waitForState(id, ["altinnAuthorized"]);
  }
  expect((await t.api("POST", `/api/flows/${id}/events`, { type: "REVOKE", user: "alice" })).status).toBe(200);
  // Every revocation confirmed, and nothing more being written.
  await eventually(async () => (await t!.api("GET", `/api/flows/${id}`)).json.pendingRevocations === 0, "the revocations were confirmed");
  await t.service.engine.settled();
  expect(await readdir(join(dir, "audit"))).toContain(`${id}.jsonl`);
  const trail = (await t.api("GET", `/api/flows/${id}/audit`)).json.transitions as unknown[];
  expect(trail.length).toBeGreaterThan(20);

  const document = join(dir, "flows", `${id}.json`);
  refused.add(document);
  const answer = await t.api("DELETE", `/api/flows/${id}`);
  expect(answer.status, answer.text).toBe(503);
  expect(answer.json.detail).toMatch(/could not be deleted .*EPERM.*; it is as it was/);
  expect(answer.text).not.toContain(dir);
  expect(t.lines.filter((l) => l.includes(`flow ${id}: could not be deleted`) && l.includes(document))).toHaveLength(1);

  expect((await t.api("GET", `/api/flows/${id}`)).status).toBe(200);
  expect((await t.api("GET", `/api/flows/${id}/audit`)).json.transitions).toEqual(trail);
  expect(await readdir(join(dir, "audit"))).toContain(`${id}.jsonl`);
  expect(await readdir(join(dir, "flows"))).toContain(`${id}.json`);

  refused.clear();
  expect((await t.api("DELETE", `/api/flows/${id}`)).status).toBe(204);
  expect((await readdir(join(dir, "audit"))).filter((f) => f.includes(id))).toEqual([]);
  expect((await readdir(join(dir, "flows"))).filter((f) => f.includes(id))).toEqual([]);
}, 60_000);
