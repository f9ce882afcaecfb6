// The SecretBox on Node's own crypto (Node entry only; core code stays on WebCrypto). Same
// algorithms, same bytes, same sealed form as crypto/secrets.ts — either opens what the other
// sealed (test/unit/node-secret-box.test.ts) — but synchronous: WebCrypto's per-call promise
// machinery was about 30% of the CPU of a flow write on Node (measured: a create seals a
// snapshot and MACs its summary; bench/main.ts creates rows).
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import type { SecretBox } from "./secrets.ts";

const VERSION = "v1";
// Buffer's own base64url (native) instead of secrets.ts' portable loops: a byte at a time through a
// string was most of a seal's CPU for a flow's 4–6 KB snapshot. Same text (no padding), same bytes.
const toBase64Url = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
const fromBase64Url = (text: string) => Buffer.from(text, "base64url");

export async function createNodeSecretBox(rawKey: Uint8Array): Promise<SecretBox> {
  const key = Buffer.from(rawKey);
  // As in secrets.ts: HKDF-SHA-256, zero salt of 32 bytes, the same info.
  const macKey = Buffer.from(hkdfSync("sha256", key, Buffer.alloc(32), "authflow summary mac v1", 32));
  return {
    async seal(plain, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      if (aad !== undefined) cipher.setAAD(Buffer.from(aad, "utf8"));
      const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(ct)}`;
    },
    async open(sealed, aad) {
      const [version, iv, ct] = sealed.split(".");
      if (version !== VERSION || !iv || !ct) throw new Error("not a sealed value");
      const bytes = fromBase64Url(ct);
      if (bytes.length < 16) throw new Error("not a sealed value");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, fromBase64Url(iv));
        if (aad !== undefined) decipher.setAAD(Buffer.from(aad, "utf8"));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString("utf8");
      } catch {
        throw new Error("it does not open with this encryption key and binding (another key, a value moved from elsewhere, or tampered)");
      }
    },
    async mac(data) {
      return toBase64Url(createHmac("sha256", macKey).update(data, "utf8").digest());
    },
  };
}

/** SHA-256 on Node's own crypto, synchronous: the API's bearer check without a thread-pool round trip per call (same digest as WebCrypto's). */
export function nodeSha256(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}
