// Client authentication at ID-porten: client_secret_post (what Dynamics registers),
// client_secret_basic, or private_key_jwt (Digdir's recommendation: no shared secret that expires
// after 360 days in the middle of a one-year authorization).
import * as oidc from "openid-client";
import { importJWK, importPKCS8, type JWK } from "jose";
import { readFile } from "node:fs/promises";

export type ClientAuthMethod = "client_secret_post" | "client_secret_basic" | "private_key_jwt";

/** A private signing key and the `kid` it was registered under, if it says. */
export interface ClientKey {
  key: oidc.CryptoKey;
  kid?: string;
}

export interface ClientAuthSettings {
  clientAuth?: ClientAuthMethod;
  clientSecret?: string;
  clientKey?: oidc.CryptoKey | ClientKey;
  /** The kid Digdir's self-service shows for the uploaded key; wins over a kid inside the JWK. */
  clientKeyId?: string;
}

const VARIABLE = "IDPORTEN_CLIENT_KEY";
const EXPECTED = "a private JWK as JSON, a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), or the path of a file holding one";

/** The signing algorithm a JWK implies when it does not name one (jose needs one to import). */
function algorithmOf(jwk: JWK): string | undefined {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC") return { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" }[jwk.crv ?? ""];
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "Ed25519";
  return undefined;
}

// A PKCS#8 PEM does not say its algorithm in text; WebCrypto refuses a key of the wrong type at
// once, so trying the usual ones in order finds it. RS256 first: what Digdir's examples use.
const PEM_ALGORITHMS = ["RS256", "ES256", "ES384", "ES512", "Ed25519"];

async function fromJwk(text: string, source: string): Promise<ClientKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new Error(`${VARIABLE}: ${source} is not valid JSON; expected ${EXPECTED}.`);
  }
  if (typeof jwk !== "object" || jwk === null || !jwk.kty) throw new Error(`${VARIABLE}: ${source} is not a JWK (no "kty"); expected ${EXPECTED}.`);
  if (!jwk.d) throw new Error(`${VARIABLE}: ${source} is a public key (no "d"); the client signs with the private key.`);
  const alg = algorithmOf(jwk);
  if (!alg) throw new Error(`${VARIABLE}: ${source} is a ${jwk.kty} key without "alg" and of a kind that cannot sign client assertions.`);
  try {
    const key = await importJWK(jwk, alg);
    if (key instanceof Uint8Array) throw new Error("a symmetric key");
    return jwk.kid ? { key, kid: jwk.kid } : { key };
  } catch (error) {
    throw new Error(`${VARIABLE}: ${source} could not be imported as a ${alg} private key (${(error as Error).message}).`);
  }
}

async function fromPem(text: string, source: string): Promise<ClientKey> {
  if (text.includes("-----BEGIN RSA PRIVATE KEY-----") || text.includes("-----BEGIN EC PRIVATE KEY-----")) {
    throw new Error(`${VARIABLE}: ${source} is a PKCS#1/SEC1 PEM; convert it to PKCS#8 with \`openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem\`.`);
  }
  if (!text.includes("-----BEGIN PRIVATE KEY-----")) throw new Error(`${VARIABLE}: ${source} is a PEM but not an unencrypted PKCS#8 private key; expected ${EXPECTED}.`);
  for (const alg of PEM_ALGORITHMS) {
    try {
      return { key: await importPKCS8(text, alg) };
    } catch {
      // the wrong key type for this algorithm: try the next
    }
  }
  throw new Error(`${VARIABLE}: ${source} could not be imported as an RSA, EC (P-256/384/521) or Ed25519 private key.`);
}

function parse(text: string, source: string): Promise<ClientKey> | null {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return fromJwk(trimmed, source);
  if (trimmed.startsWith("-----BEGIN")) return fromPem(trimmed, source);
  return null;
}

/**
 * Reads IDPORTEN_CLIENT_KEY: a private JWK (JSON), a PKCS#8 PEM, or a path to a file with either.
 * Errors are one line naming the variable and never quote the key.
 */
export async function loadClientKey(raw: string): Promise<ClientKey> {
  const inline = parse(raw, "the value");
  if (inline) return inline;
  const path = raw.trim();
  if (!path) throw new Error(`${VARIABLE} is empty; expected ${EXPECTED}.`);
  // Anything else is taken as a path, but it may be key material pasted without its PEM armour:
  // base64 never contains ".", so only a value with a dot (an extension, "./") is quoted back.
  const named = path.includes(".") && !/\s/.test(path) && path.length <= 300 ? `the file ${path}` : "the file at the path given";
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new Error(`${VARIABLE}: ${named} could not be read${code ? ` (${code})` : ""}; expected ${EXPECTED}.`);
  }
  const fromFile = parse(content, named);
  if (!fromFile) throw new Error(`${VARIABLE}: ${named} holds neither a JWK nor a PEM; expected ${EXPECTED}.`);
  return fromFile;
}

/** openid-client's ClientAuth for the configured method; refuses a method without its credential. */
export function clientAuthentication(settings: ClientAuthSettings): oidc.ClientAuth {
  const method = settings.clientAuth ?? "client_secret_post";
  switch (method) {
    case "client_secret_post":
    case "client_secret_basic": {
      if (!settings.clientSecret) throw new Error(`IDPORTEN_CLIENT_SECRET is required with IDPORTEN_CLIENT_AUTH=${method}.`);
      return method === "client_secret_post" ? oidc.ClientSecretPost(settings.clientSecret) : oidc.ClientSecretBasic(settings.clientSecret);
    }
    case "private_key_jwt": {
      if (!settings.clientKey) throw new Error(`${VARIABLE} is required with IDPORTEN_CLIENT_AUTH=private_key_jwt.`);
      const given = "key" in settings.clientKey ? settings.clientKey : { key: settings.clientKey };
      const kid = settings.clientKeyId ?? given.kid;
      return oidc.PrivateKeyJwt(kid ? { key: given.key, kid } : { key: given.key });
    }
    default:
      throw new Error(`IDPORTEN_CLIENT_AUTH=${String(method)} is not one of client_secret_post, client_secret_basic, private_key_jwt.`);
  }
}
