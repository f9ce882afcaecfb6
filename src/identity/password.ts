// Password hashes for the page's configured users (UI_USERS): scrypt, in one self-describing string
// "scrypt$ln=16,r=8,p=1$<salt>$<hash>" (base64url), so the cost can rise without breaking old hashes.
// @noble/hashes runs the same on Node and Deno, and its async form yields to the event loop while it works.
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { fromBase64Url, toBase64Url } from "../crypto/secrets.ts";

export interface ScryptCost {
  /** log2 of N */
  ln: number;
  r: number;
  p: number;
}

/** ≈0.5 s on this project's CI machine: slow enough to make guessing dear, quick enough for a sign-in. */
export const DEFAULT_COST: ScryptCost = { ln: 16, r: 8, p: 1 };
const FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await scryptAsync(new TextEncoder().encode(password), salt, { N: 2 ** cost.ln, r: cost.r, p: cost.p, dkLen: 32 });
  return `scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

export function isPasswordHash(value: string): boolean {
  const m = FORMAT.exec(value);
  return m !== null && Number(m[1]) >= 10 && Number(m[1]) <= 22;
}

/** Compares in full whatever the input, so the time taken says nothing about how close it was. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = fromBase64Url(m[5]!);
  const actual = await scryptAsync(new TextEncoder().encode(password), fromBase64Url(m[4]!), { N: 2 ** ln, r, p, dkLen: expected.length });
  let diff = actual.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= actual[i]! ^ expected[i]!;
  return diff === 0;
}

/** A password a person can type: 4 groups of 5 from an alphabet without look-alikes (≈ 100 bits). */
export function generatePassword(): string {
  const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const chars = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
  return chars.match(/.{5}/g)!.join("-");
}
