// The simulator's key material: the encryption key that seals what it keeps on disk, the ID-porten
// signing key (its JWKS), the separate key that signs Altinn tokens, the cookie keys, and the
// secret pairwise subjects are derived with. With a data directory they persist, so tokens stay
// verifiable, logins in flight survive a restart and a person keeps their `sub`.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import { createSecretBox, decodeKey, generateKeyBytes, toBase64Url, type SecretBox } from "../crypto/secrets.ts";
import { isNotFound, writeFileAtomic } from "./files.ts";

export interface SimulatorKeys {
  /** Private RS256 JWK the provider signs id_tokens and access tokens with. */
  idporten: JWK;
  /** Private RS256 JWK the Altinn exchange signs its tokens with. */
  altinn: JWK;
  cookieKeys: string[];
  /** 32 random bytes (base64url) keying the pairwise `sub` (an HMAC of the pid). */
  pairwise: string;
}

/** The box that seals files under `dir`: from the given key, else from `${dir}/key` (made on first start, mode 0600). */
export async function openSecretBox(dir: string, encryptionKey: Uint8Array | undefined): Promise<SecretBox> {
  if (encryptionKey) {
    if (encryptionKey.length !== 32) throw new Error(`encryptionKey must be 32 bytes, got ${encryptionKey.length}`);
    return createSecretBox(new Uint8Array(encryptionKey));
  }
  const path = join(dir, "key");
  try {
    return await createSecretBox(decodeKey(await readFile(path, "utf8")));
  } catch (error) {
    if (!isNotFound(error)) throw new Error(`${path}: ${(error as Error).message}`);
  }
  const key = generateKeyBytes();
  await writeFileAtomic(path, `${btoa(String.fromCharCode(...key))}\n`);
  return createSecretBox(key);
}

/** Loads the keys kept (sealed) in `${dir}/keys.json`, or makes new ones; without a dir they live in memory. */
export async function loadKeys(dir: string | undefined, box: SecretBox | undefined): Promise<SimulatorKeys> {
  const path = dir ? join(dir, "keys.json") : undefined;
  if (path && box) {
    let sealed: string | undefined;
    try {
      sealed = await readFile(path, "utf8");
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (sealed !== undefined) {
      let kept: Partial<SimulatorKeys>;
      try {
        kept = JSON.parse(await box.open(sealed.trim())) as Partial<SimulatorKeys>;
      } catch {
        throw new Error(`${path} cannot be opened with this encryption key (was the key changed?)`);
      }
      if (kept.pairwise) return kept as SimulatorKeys;
      // Kept by a simulator from before pairwise subjects: add the secret, keep everything else.
      const keys = { ...kept, pairwise: toBase64Url(generateKeyBytes()) } as SimulatorKeys;
      await writeFileAtomic(path, await box.seal(JSON.stringify(keys)));
      return keys;
    }
  }
  const keys: SimulatorKeys = {
    idporten: await signingKey(),
    altinn: await signingKey(),
    cookieKeys: [toBase64Url(generateKeyBytes())],
    pairwise: toBase64Url(generateKeyBytes()),
  };
  if (path && box) await writeFileAtomic(path, await box.seal(JSON.stringify(keys)));
  return keys;
}

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "RS256", use: "sig" };
}

/** The public half of a private JWK, as a JWKS publishes it. */
export function publicJwk({ kty, n, e, kid, alg, use }: JWK): JWK {
  return { kty, n, e, kid, alg, use };
}
