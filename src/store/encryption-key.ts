// The key that seals secrets at rest: ENCRYPTION_KEY, or a key file generated under DATA_DIR with
// mode 0600 on first start (and reused after). node:fs is available on Node and Deno alike.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeKey, generateKeyBytes } from "../crypto/secrets.ts";

export const KEY_FILE = "encryption.key";

export async function loadEncryptionKey(encryptionKey: string | undefined, dataDir: string): Promise<{ key: Uint8Array<ArrayBuffer>; source: string }> {
  if (encryptionKey) return { key: decodeKey(encryptionKey), source: "ENCRYPTION_KEY" };
  const path = join(dataDir, KEY_FILE);
  try {
    return { key: decodeKey(await readFile(path, "utf8")), source: path };
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw new Error(`${path}: ${(error as Error).message}`);
  }
  await mkdir(dataDir, { recursive: true });
  const key = generateKeyBytes();
  // "wx": never overwrite a key another process wrote a moment ago; data sealed with it would be lost.
  await writeFile(path, btoa(String.fromCharCode(...key)) + "\n", { mode: 0o600, flag: "wx" }).catch(async (error) => {
    if ((error as { code?: string }).code !== "EEXIST") throw error;
  });
  await chmod(path, 0o600);
  return { key: decodeKey(await readFile(path, "utf8")), source: `${path} (generated)` };
}
