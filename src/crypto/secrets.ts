// Encryption at rest for every secret and token the service keeps (DESIGN §3).
// AES-256-GCM through WebCrypto, so the same code runs on Node and Deno.
// Sealed form: "v1.<iv base64url>.<ciphertext+tag base64url>" — a string that is safe in JSON.
// `aad` (additional authenticated data) binds a sealed value to where it belongs — a flow's snapshot
// is sealed with its flow id and machine — so a copy moved elsewhere does not open (DESIGN §3).

export interface SecretBox {
  seal(plain: string, aad?: string): Promise<string>;
  open(sealed: string, aad?: string): Promise<string>;
  /** An HMAC-SHA-256 (base64url) under a key derived from the same secret (HKDF): for facts kept in clear that must not be forged. */
  mac(data: string): Promise<string>;
}

const VERSION = "v1";

export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Decodes a standard base64 key (as `openssl rand -base64 32` prints) and checks its length. */
export function decodeKey(base64: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromBase64Url(base64.trim());
  } catch {
    throw new Error("is not base64");
  }
  if (bytes.length !== 32) throw new Error(`must be 32 bytes in base64, got ${bytes.length} bytes`);
  return bytes;
}

export function generateKeyBytes(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(32));
}

export async function createSecretBox(rawKey: Uint8Array<ArrayBuffer>): Promise<SecretBox> {
  const key = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, ["encrypt", "decrypt"]);
  // A key of its own for MACs, derived (HKDF), so one key is never used for two algorithms.
  const master = await crypto.subtle.importKey("raw", rawKey, "HKDF", false, ["deriveKey"]);
  const macKey = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: new TextEncoder().encode("authflow summary mac v1") },
    master,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    async seal(plain, aad) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const params: AesGcmParams = { name: "AES-GCM", iv, ...(aad !== undefined ? { additionalData: encoder.encode(aad) } : {}) };
      const ct = new Uint8Array(await crypto.subtle.encrypt(params, key, encoder.encode(plain)));
      return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(ct)}`;
    },
    async mac(data) {
      return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", macKey, encoder.encode(data))));
    },
    async open(sealed, aad) {
      const [version, iv, ct] = sealed.split(".");
      if (version !== VERSION || !iv || !ct) throw new Error("not a sealed value");
      const params: AesGcmParams = { name: "AES-GCM", iv: fromBase64Url(iv), ...(aad !== undefined ? { additionalData: encoder.encode(aad) } : {}) };
      let plain: ArrayBuffer;
      try {
        plain = await crypto.subtle.decrypt(params, key, fromBase64Url(ct));
      } catch {
        // WebCrypto says only "OperationError": say what it means here.
        throw new Error("it does not open with this encryption key and binding (another key, a value moved from elsewhere, or tampered)");
      }
      return decoder.decode(plain);
    },
  };
}

/** SHA-256 of a text: WebCrypto by default; a runtime may give a synchronous one (the Node entry: node:crypto, no thread-pool round trip per call). */
export type Sha256 = (text: string) => Uint8Array | Promise<Uint8Array>;
export const webSha256: Sha256 = async (text) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

/** SHA-256 of a value, hex: for lookups by a secret without storing the secret. */
export async function sha256Hex(value: string, sha256: Sha256 = webSha256): Promise<string> {
  return Array.from(await sha256(value), (b) => b.toString(16).padStart(2, "0")).join("");
}
