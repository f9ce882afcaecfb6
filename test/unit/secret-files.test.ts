import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { loadApiToken, loadEncryptionKey } from "../../src/store/secret-files.ts";

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), "authflow-secrets-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

it("generates the demo API token once, mode 0600, and reuses it after a restart", async () => {
  const first = (await loadApiToken(undefined, dir))!;
  expect(first.generated).toBe(true);
  expect(first.token).toMatch(/^[0-9a-f]{64}$/);
  expect((await stat(join(dir, "api-token"))).mode & 0o777).toBe(0o600);
  expect((await loadApiToken(undefined, dir))!.token).toBe(first.token);
  expect(await loadApiToken("x".repeat(40), dir)).toEqual({ token: "x".repeat(40), generated: false });
  // API_CLIENTS alone names the callers: no token is generated then.
  expect(await loadApiToken(undefined, join(dir, "other"), true)).toBeNull();
});

it("generates the encryption key once and names a broken key file in its error", async () => {
  const a = await loadEncryptionKey(undefined, dir);
  const b = await loadEncryptionKey(undefined, dir);
  expect(Array.from(b.key)).toEqual(Array.from(a.key));
  expect(a.source).toContain("(generated)");
  await writeFile(join(dir, "encryption.key"), "garbage");
  await expect(loadEncryptionKey(undefined, dir)).rejects.toThrow(/encryption\.key: .*32 bytes|encryption\.key/);
});

it("creates DATA_DIR private (0700) and leaves no temp file beside the key", async () => {
  const dataDir = join(dir, "fresh", "data");
  await loadEncryptionKey(undefined, dataDir);
  expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  expect((await stat(join(dataDir, "encryption.key"))).mode & 0o777).toBe(0o600);
  expect(await readdir(dataDir)).toEqual(["encryption.key"]);
});
