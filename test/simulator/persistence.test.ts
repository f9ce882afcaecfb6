// With a data directory the simulator's grants, codes and keys survive a restart — and nothing
// on disk is a token, code or key in clear.

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as client from "openid-client";
import type { RunningSimulator } from "../../src/simulator/index.ts";
import { authorize, exchange, loginWithHint, otherSyntheticPid, PID, relyingParty, start, tempDir } from "./helpers.ts";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function startIn(dataDir: string, port = 0, encryptionKey?: Uint8Array): Promise<RunningSimulator> {
  const simulator = await start({ dataDir, port, encryptionKey });
  cleanup.push(() => simulator.close());
  return simulator;
}

async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const files = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ path, text: await readFile(path, "utf8") });
  }
  return files;
}

describe("persistence", () => {
  it("keeps grants, codes and signing keys across a restart, sealed on disk", async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);

    const before = await startIn(dir.path);
    const port = Number(new URL(before.issuer).port);
    let config = await relyingParty(before);
    const tokens = await authorize(config, { ui_locales: "nn" });
    const pendingLogin = await loginWithHint(config);
    const known = otherSyntheticPid();
    await before.control.addAltinnPerson(known);
    await before.close();

    const code = pendingLogin.callback.searchParams.get("code")!;
    const files = await filesUnder(dir.path);
    expect(files.length).toBeGreaterThan(3);
    for (const { path, text } of files) {
      for (const secret of [tokens.access_token, tokens.refresh_token!, tokens.id_token!, code]) {
        expect(text.includes(secret), `${path} holds a token in clear`).toBe(false);
      }
      expect(text).not.toContain('"d":'); // no private JWK member in clear
      expect(text, `${path} holds a pid in clear`).not.toContain(PID);
      expect(text).not.toContain(known);
      expect((await stat(path)).mode & 0o777, path).toBe(0o600);
    }
    for (const folder of ["simulator", "simulator/store"]) {
      expect((await stat(join(dir.path, folder))).mode & 0o777, folder).toBe(0o700);
    }

    const after = await startIn(dir.path, port);
    expect(after.issuer).toBe(before.issuer);
    config = await relyingParty(after);

    const renewed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(renewed.refresh_token).toBeTruthy();
    // The same pairwise sub, and the login's locale and sid, after the restart.
    expect(renewed.claims()).toMatchObject({ sub: tokens.claims()!.sub, locale: "nn", sid: tokens.claims()!.sid });
    expect(after.control.state().altinnPersons).toContain(known);
    await expect(exchange(config, pendingLogin)).resolves.toMatchObject({ refresh_token: expect.any(String) });
    // The old access token still verifies: the signing key survived.
    const altinn = await fetch(after.altinnExchangeUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(altinn.status).toBe(200);
  });

  it("refuses to start on a data directory sealed with another encryption key", async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const first = await startIn(dir.path, 0, crypto.getRandomValues(new Uint8Array(32)));
    await first.close();
    await expect(start({ dataDir: dir.path, encryptionKey: crypto.getRandomValues(new Uint8Array(32)) })).rejects.toThrow(
      /cannot be opened with this encryption key/,
    );
  });
});
