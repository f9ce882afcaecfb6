// The store's encryption-key check (src/store/key-check.ts): a process whose ENCRYPTION_KEY is not
// the one the store's flows are sealed with refuses to start, instead of setting every flow it reads
// aside as damaged. Against a real lowdb directory here, and the service's own start below; the
// PostgreSQL store's two methods are in the store contract.
import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { sealBinding } from "../../src/engine/flow-engine.ts";
import { checkEncryptionKey, EncryptionKeyMismatchError, type KeyCheckPlace } from "../../src/store/key-check.ts";
import { KEY_CHECK_FILE, LowdbFlowStore } from "../../src/store/lowdb-store.ts";
import type { FlowRecord } from "../../src/store/flow-store.ts";
import { describeStartupFailure } from "../../src/lifecycle/startup-failure.ts";
import { readConfig } from "../../src/config.ts";
import { startService } from "../../src/service.ts";
import { releaseFolders } from "../../src/store/private-files.ts";
import { canMountTmpfs, fillDisk } from "../support/fault-helpers.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "authflow-key-check-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sealedRecord(id: string, key: Uint8Array<ArrayBuffer>, sealed?: string): Promise<FlowRecord> {
  const record: FlowRecord = { id, machine: "authorization", version: 2, revision: 1, createdAt: "2026-11-25T10:00:00.000Z", updatedAt: "2026-11-25T10:00:00.000Z", summary: { legalEntity: "999999999", state: "idle" }, sealedSnapshot: "", nextDeadlineAt: null, attentionFrom: null, lease: null };
  record.sealedSnapshot = sealed ?? (await (await createSecretBox(key)).seal(JSON.stringify({ value: "idle" }), sealBinding(record)));
  return record;
}

const refusal = (error: unknown) => error as EncryptionKeyMismatchError;
const place = (extra: Partial<KeyCheckPlace> = {}): KeyCheckPlace => ({ where: "DATA_DIR x", checkAt: "x/key-check", keySource: "ENCRYPTION_KEY", ...extra });
/** The check and, when it passes, the record that start-up makes last. */
async function check(store: LowdbFlowStore, key: Uint8Array<ArrayBuffer>, extra: Partial<KeyCheckPlace> = {}): Promise<void> {
  await (await checkEncryptionKey(store, await createSecretBox(key), place(extra))).record();
}

const apiToken = "key-check-api-token-0123456789abcdef";
const newKey = () => Buffer.from(generateKeyBytes()).toString("base64");

/** The service as a process of its own (src/main.node.ts) on `dir`. */
function start(key: string | undefined, extra: Record<string, string> = {}) {
  const { ENCRYPTION_KEY: _inherited, ...env } = process.env;
  const child = spawn("node", ["--import", "tsx", "src/main.node.ts"], {
    cwd: new URL("../..", import.meta.url).pathname,
    detached: true,
    env: { ...env, NO_COLOR: "1", PORT: "0", SIMULATOR_PORT: "0", DATA_DIR: dir, API_TOKEN: apiToken, ...(key ? { ENCRYPTION_KEY: key } : {}), ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = async () => {
    for (let i = 0; i < 600 && !/authflow listening on (http:\/\/\S+?) /.test(out); i++) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return /authflow listening on (http:\/\/\S+?) /.exec(out)![1]!;
  };
  const stop = async () => {
    process.kill(-child.pid!, "SIGTERM");
    await exited;
  };
  kills.push(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  });
  return { exited, listening, stop, stderr: () => err };
}
const api = (url: string, method: string, path: string, body?: unknown) =>
  fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });

describe("the encryption-key check", () => {
  it("a new store records the key's check; the same key passes again, another is refused (exit 2) and nothing is recorded over it", async () => {
    const store = await LowdbFlowStore.open(dir);
    const a = generateKeyBytes();
    await check(store, a);
    const recorded = await store.readKeyCheck();
    expect(recorded).toMatch(/^[A-Za-z0-9_-]{43}$/); // an HMAC, base64url: nothing of the key
    await check(store, a);
    const error = await check(store, generateKeyBytes()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncryptionKeyMismatchError);
    expect(refusal(error).message).toContain("the encryption key (ENCRYPTION_KEY) is not the one the flows in DATA_DIR x are sealed with (the store's check value was made with another key)");
    expect(describeStartupFailure(error).exitCode).toBe(2);
    expect(await store.readKeyCheck()).toBe(recorded);
    expect(await store.recordKeyCheck("another")).toBe(recorded); // the first recorded stays
  });

  it("a store from before the check: the key must open one of its flows before its check is recorded (a damaged flow does not make it wrong)", async () => {
    const a = generateKeyBytes();
    const store = await LowdbFlowStore.open(dir);
    await store.save(await sealedRecord("flow-aaaa", a, "v1.damaged.beyond.repair"), null);
    await store.save(await sealedRecord("flow-bbbb", a), null);
    const error = await check(store, generateKeyBytes(), { keySource: "x/encryption.key" }).catch((e: unknown) => e);
    expect(refusal(error).message).toContain("it opens none of the store's first 2 flow(s)");
    expect(await store.readKeyCheck()).toBeUndefined();
    // Checked, not yet recorded: that waits until start-up has opened everything.
    const passed = await checkEncryptionKey(store, await createSecretBox(a), place());
    expect(await store.readKeyCheck()).toBeUndefined();
    await passed.record();
    expect(await store.readKeyCheck()).toBeDefined();
  });

  it("the service started with another key exits 2 in one line, and every flow stays where it was; with its own key it serves them", async () => {
    const keyA = newKey();
    const keyB = newKey();
    const first = start(keyA);
    const url = await first.listening();
    const created = await api(url, "POST", "/api/flows", { legalEntity: "999999999" });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await first.stop();
    await writeFile(join(dir, "noise"), ""); // not a flow: the refusal below must not depend on the folder being tidy

    // Against an external provider (no embedded simulator, whose own files would refuse the key first):
    // without the check it would start, and a read of the flow would set it aside as damaged.
    const external = { IDPORTEN_ISSUER: "http://localhost:9/", IDPORTEN_CLIENT_ID: "authflow", IDPORTEN_CLIENT_SECRET: "a-client-secret-of-some-length-0123456789", ALTINN_EXCHANGE_URL: "http://localhost:9/exchange" };
    const wrong = start(keyB, external);
    const outcome = await Promise.race([wrong.exited.then((code) => ({ code })), wrong.listening().then(async (u) => ({ code: "listening", flow: (await api(u, "GET", `/api/flows/${id}`)).status }))]);
    expect(outcome, wrong.stderr()).toEqual({ code: 2 });
    const lines = wrong.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^authflow: the encryption key \(ENCRYPTION_KEY\) is not the one the flows in DATA_DIR .* are sealed with \(the store's check value was made with another key\); every instance and every restart must use the same ENCRYPTION_KEY/);
    expect(await readdir(join(dir, "flows"))).toContain(`${id}.json`);
    expect(await readdir(join(dir, "damaged"))).toEqual([]);

    const again = start(keyA);
    const url2 = await again.listening();
    expect((await api(url2, "GET", `/api/flows/${id}`)).status).toBe(200);
    await again.stop();
    expect(await readdir(dir)).toContain(KEY_CHECK_FILE);
  }, 60_000);
});

const kills: (() => void)[] = [];
afterEach(() => {
  for (const kill of kills.splice(0)) kill();
});

describe("the key check records only once start-up has opened everything", () => {
  it("a DATA_DIR from before the check (the simulator's sealed keys, no flows) started with a wrong key exits 1 and records nothing: the right key still starts", async () => {
    const keyA = newKey();
    const first = start(keyA);
    await first.listening();
    await first.stop();
    await rm(join(dir, KEY_CHECK_FILE)); // as a release before the check left it
    expect(await readdir(join(dir, "flows"))).toEqual([]);

    const wrong = start(newKey());
    expect(await wrong.exited, wrong.stderr()).toBe(1);
    expect(wrong.stderr()).toContain("simulator/keys.json cannot be opened with this encryption key");
    expect(await readdir(dir)).not.toContain(KEY_CHECK_FILE);

    const right = start(keyA);
    await right.listening();
    await right.stop();
    expect(await readdir(dir)).toContain(KEY_CHECK_FILE);
  }, 60_000);

  it("a store with no flows but a stored integration credential records a key only if it opens that credential", async () => {
    const keyA = newKey();
    const first = await startService(externalConfig(keyA));
    const created = await first.app.fetch(
      new Request("http://127.0.0.1/api/integrations", {
        method: "POST",
        headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "acme-test", idporten: { issuer: "https://test.idporten.no", clientId: "acme", clientSecret: "acme-secret-0123456789", redirectUri: "http://127.0.0.1:8787/callback" }, altinn: { exchangeUrl: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten" } }),
      }),
    );
    expect(created.status, await created.text()).toBe(201);
    await first.close();
    await rm(join(dir, KEY_CHECK_FILE));

    const error = await startService(externalConfig(newKey())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncryptionKeyMismatchError);
    expect(refusal(error).message).toContain("the store has no flows, and it opens none of its first 1 stored integration credential(s)");
    expect(await readdir(dir)).not.toContain(KEY_CHECK_FILE);
    await (await startService(externalConfig(keyA))).close();
    expect(await readdir(dir)).toContain(KEY_CHECK_FILE);
  }, 30_000);

  it("a store upgraded from the first release (machine version 1, snapshots sealed without their binding) starts with its key, and a wrong key is still refused", async () => {
    const a = generateKeyBytes();
    const store = await LowdbFlowStore.open(dir);
    const legacy = await sealedRecord(FIRST_RELEASE_FLOW, a);
    legacy.version = 1;
    legacy.sealedSnapshot = await (await createSecretBox(a)).seal(JSON.stringify({ value: "idle" })); // no additional data, as the first release sealed
    await store.save(legacy, null);
    expect(await (await createSecretBox(a)).open(legacy.sealedSnapshot, sealBinding(legacy)).catch(() => "does not open with the binding")).toBe("does not open with the binding");
    const error = await check(store, generateKeyBytes()).catch((e: unknown) => e);
    expect(refusal(error).message).toContain("it opens none of the store's first 1 flow(s)");
    await store.close();

    const running = await startService(externalConfig(Buffer.from(a).toString("base64")));
    expect(await readdir(dir)).toContain(KEY_CHECK_FILE);
    const read = await running.app.fetch(new Request(`http://127.0.0.1/api/flows/${FIRST_RELEASE_FLOW}`, { headers: { authorization: `Bearer ${apiToken}` } }));
    // Its machine version is not registered: it is not served (and never opened), nor set aside.
    expect([read.status, (await read.text()).slice(0, 300)]).toEqual([404, expect.stringContaining('No machine \\"authorization\\" version 1 is registered')]);
    await running.close();
    expect(await readdir(join(dir, "flows"))).toEqual([`${FIRST_RELEASE_FLOW}.json`]);
  }, 30_000);
});

describe("start-up words for a key check that cannot be used", () => {
  const expectRefusal = async (why: RegExp) => {
    const store = await LowdbFlowStore.open(dir);
    const error = await check(store, generateKeyBytes(), { checkAt: join(dir, KEY_CHECK_FILE) }).catch((e: unknown) => e);
    await store.close();
    const failure = describeStartupFailure(error);
    expect(failure.line).toContain(join(dir, KEY_CHECK_FILE));
    expect(failure.line).toMatch(why);
    expect(failure.line).not.toContain("made with another key");
    return failure;
  };

  it("an empty key-check file, or one edited by hand, is not a check value: delete it and the next start records one (exit 2)", async () => {
    await writeFile(join(dir, KEY_CHECK_FILE), "");
    expect(await expectRefusal(/is not an encryption-key check value \(it is empty\); delete it, and the next start records/)).toMatchObject({ exitCode: 2 });
    await writeFile(join(dir, KEY_CHECK_FILE), "my notes\n");
    expect(await expectRefusal(/is not an encryption-key check value \(edited by hand, or written by something else\); delete it/)).toMatchObject({ exitCode: 2 });
  });

  it("a key-check that is a folder is named, with what to do (exit 2)", async () => {
    await mkdir(join(dir, KEY_CHECK_FILE));
    expect(await expectRefusal(/is a folder, not the encryption-key check file; remove it/)).toMatchObject({ exitCode: 2 });
  });

  it.skipIf(tmpfs !== null)("a full disk at the first record names the file and says to free space in DATA_DIR (exit 1: it starts once there is room)", async () => {
    mounted = await mkdtemp(join(tmpdir(), "authflow-key-check-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mounted], { stdio: "pipe" });
    const store = await LowdbFlowStore.open(mounted);
    fillDisk(join(mounted, "ballast"));
    const error = await check(store, generateKeyBytes()).catch((e: unknown) => e);
    await store.close();
    const failure = describeStartupFailure(error);
    expect(failure).toEqual({ line: `authflow: start-up failed: ${join(mounted, KEY_CHECK_FILE)} (the encryption-key check) could not be written: the disk is full (ENOSPC); free space in DATA_DIR (${mounted}) and start again`, exitCode: 1 });
    await rm(join(mounted, "ballast"));
    await rm(join(mounted, "ballast.probe"), { force: true });
    const again = await LowdbFlowStore.open(mounted);
    await check(again, generateKeyBytes());
    expect(await again.readKeyCheck()).toBeDefined();
    await again.close();
  });

  it("a key generated by this very start (DATA_DIR/encryption.key was lost) is refused without 'Nothing was changed': it says the key was generated just now, and where", async () => {
    await (await startService(externalConfig(undefined))).close();
    await rm(join(dir, "encryption.key"));
    const error = await startService(externalConfig(undefined)).catch((e: unknown) => e);
    const { line, exitCode } = describeStartupFailure(error);
    expect(exitCode).toBe(2);
    expect(line).toContain("the store's check value was made with another key");
    expect(line).toContain(`This start generated that key just now (${join(dir, "encryption.key")} was missing)`);
    expect(line).not.toContain("Nothing was changed");
  }, 30_000);
});

const FIRST_RELEASE_FLOW = "5f0c7a4e-1d2b-4c3a-9e8f-0a1b2c3d4e5f";

/** The service against an external provider (no embedded simulator, whose own sealed keys would answer for the key first). */
function externalConfig(key: string | undefined) {
  const { ENCRYPTION_KEY: _inherited, ...env } = process.env;
  return readConfig({
    ...env,
    PORT: "0",
    DATA_DIR: dir,
    API_TOKEN: apiToken,
    ...(key ? { ENCRYPTION_KEY: key } : {}),
    IDPORTEN_ISSUER: "http://localhost:9/",
    IDPORTEN_CLIENT_ID: "authflow",
    IDPORTEN_CLIENT_SECRET: "a-client-secret-of-some-length-0123456789",
    ALTINN_EXCHANGE_URL: "http://localhost:9/exchange",
  });
}

const tmpfs = canMountTmpfs();
if (tmpfs) console.warn(`test/store/key-check (full disk): SKIPPED — ${tmpfs}`);
let mounted: string | undefined;
afterEach(async () => {
  if (!mounted) return;
  await releaseFolders(mounted);
  for (let i = 0; i < 20; i++) {
    try {
      execFileSync("umount", [mounted], { stdio: "pipe" });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await rm(mounted, { recursive: true, force: true });
  mounted = undefined;
});
