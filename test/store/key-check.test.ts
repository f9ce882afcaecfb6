// The store's encryption-key check (src/store/key-check.ts): a process whose ENCRYPTION_KEY is not
// the one the store's flows are sealed with refuses to start, instead of setting every flow it reads
// aside as damaged. Against a real lowdb directory here, and the service's own start below; the
// PostgreSQL store's two methods are in the store contract.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { sealBinding } from "../../src/engine/flow-engine.ts";
import { checkEncryptionKey, EncryptionKeyMismatchError } from "../../src/store/key-check.ts";
import { KEY_CHECK_FILE, LowdbFlowStore } from "../../src/store/lowdb-store.ts";
import type { FlowRecord } from "../../src/store/flow-store.ts";
import { describeStartupFailure } from "../../src/lifecycle/startup-failure.ts";

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

describe("the encryption-key check", () => {
  it("a new store records the key's check; the same key passes again, another is refused (exit 2) and nothing is recorded over it", async () => {
    const store = await LowdbFlowStore.open(dir);
    const a = generateKeyBytes();
    await checkEncryptionKey(store, await createSecretBox(a), "DATA_DIR x", "ENCRYPTION_KEY");
    const recorded = await store.readKeyCheck();
    expect(recorded).toMatch(/^[A-Za-z0-9_-]{43}$/); // an HMAC, base64url: nothing of the key
    await checkEncryptionKey(store, await createSecretBox(a), "DATA_DIR x", "ENCRYPTION_KEY");
    const error = await checkEncryptionKey(store, await createSecretBox(generateKeyBytes()), "DATA_DIR x", "ENCRYPTION_KEY").catch((e: unknown) => e);
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
    const error = await checkEncryptionKey(store, await createSecretBox(generateKeyBytes()), "DATA_DIR x", "x/encryption.key (generated)").catch((e: unknown) => e);
    expect(refusal(error).message).toContain("it opens none of the store's first 2 flow(s)");
    expect(await store.readKeyCheck()).toBeUndefined();
    await checkEncryptionKey(store, await createSecretBox(a), "DATA_DIR x", "ENCRYPTION_KEY");
    expect(await store.readKeyCheck()).toBeDefined();
  });

  it("the service started with another key exits 2 in one line, and every flow stays where it was; with its own key it serves them", async () => {
    const keyA = Buffer.from(generateKeyBytes()).toString("base64");
    const keyB = Buffer.from(generateKeyBytes()).toString("base64");
    const apiToken = "key-check-api-token-0123456789abcdef";
    const start = (key: string, extra: Record<string, string> = {}) => {
      const child = spawn("node", ["--import", "tsx", "src/main.node.ts"], {
        cwd: new URL("../..", import.meta.url).pathname,
        detached: true,
        env: { ...process.env, NO_COLOR: "1", PORT: "0", SIMULATOR_PORT: "0", DATA_DIR: dir, ENCRYPTION_KEY: key, API_TOKEN: apiToken, ...extra },
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
    };
    const api = (url: string, method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });

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
