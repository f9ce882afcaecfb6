// Small secrets the embedded set-up generates once and keeps under DATA_DIR with mode 0600: the
// encryption key and the demo's API token. Reused after a restart, so sealed data stays readable
// and a newcomer's curl commands keep working. node:fs is available on Node and Deno alike.
// The key is written durably (fsync before it is linked into place): every flow document is sealed
// with it and fsynced, so a key lost to a power cut would leave every flow unreadable.
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeKey, generateKeyBytes } from "../crypto/secrets.ts";
import { createFileExclusively, ensurePrivateDir, PRIVATE_FILE_MODE } from "./private-files.ts";

export const KEY_FILE = "encryption.key";
export const API_TOKEN_FILE = "api-token";

/** Reads `dataDir/name`, or writes `generate()` there first (never over a file another process just wrote). */
async function readOrCreate(dataDir: string, name: string, generate: () => string): Promise<{ value: string; path: string; created: boolean }> {
  const path = join(dataDir, name);
  try {
    return { value: (await readFile(path, "utf8")).trim(), path, created: false };
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw new Error(`${path}: ${(error as Error).message}`);
  }
  // DATA_DIR is 0700; a folder this process cannot chmod is left to the store to name at open.
  await ensurePrivateDir(dataDir);
  const created = await createFileExclusively(path, generate() + "\n");
  await chmod(path, PRIVATE_FILE_MODE);
  return { value: (await readFile(path, "utf8")).trim(), path, created };
}

/** The key, where it came from, and — when this call generated DATA_DIR/encryption.key — that file's path. */
export async function loadEncryptionKey(encryptionKey: string | undefined, dataDir: string): Promise<{ key: Uint8Array<ArrayBuffer>; source: string; generated?: string }> {
  if (encryptionKey) return { key: decodeKey(encryptionKey), source: "ENCRYPTION_KEY" };
  const file = await readOrCreate(dataDir, KEY_FILE, () => btoa(String.fromCharCode(...generateKeyBytes())));
  try {
    return { key: decodeKey(file.value), source: `${file.path}${file.created ? " (generated)" : ""}`, ...(file.created ? { generated: file.path } : {}) };
  } catch (error) {
    throw new Error(`${file.path}: ${(error as Error).message}`);
  }
}

/** API_TOKEN, or the demo's generated one; none when API_CLIENTS alone names the callers. */
export async function loadApiToken(apiToken: string | undefined, dataDir: string, clientsConfigured = false): Promise<{ token: string; generated: boolean; path?: string } | null> {
  if (apiToken) return { token: apiToken, generated: false };
  if (clientsConfigured) return null;
  const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
  const file = await readOrCreate(dataDir, API_TOKEN_FILE, hex);
  if (file.value.length < 32) throw new Error(`${file.path}: the stored API token is shorter than 32 characters; delete the file to get a new one`);
  return { token: file.value, generated: true, path: file.path };
}
