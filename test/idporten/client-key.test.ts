// IDPORTEN_CLIENT_KEY: a private JWK, a PKCS#8 PEM, or a file with either; one-line errors that
// name the variable and never quote the key. And a loaded key authenticates at a real provider.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { realClock } from "../../src/clock.ts";
import { createIdportenClient, loadClientKey } from "../../src/idporten/idporten-client.ts";
import { browse, CLIENTS, REDIRECT_URI, startProvider } from "./provider.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "authflow-client-key-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("loadClientKey", () => {
  it("reads a private JWK (RSA or EC), keeping its kid", async () => {
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const loaded = await loadClientKey(JSON.stringify({ ...(await exportJWK(rsa.privateKey)), kid: "k1" }));
    expect(loaded.kid).toBe("k1");
    expect(loaded.key.type).toBe("private");
    expect(loaded.key.algorithm.name).toBe("RSASSA-PKCS1-v1_5");
    const ec = await generateKeyPair("ES256", { extractable: true });
    expect((await loadClientKey(JSON.stringify(await exportJWK(ec.privateKey)))).key.algorithm.name).toBe("ECDSA");
  });

  it("reads a PKCS#8 PEM, inline or from a file, of either key type", async () => {
    const rsa = await exportPKCS8((await generateKeyPair("RS256", { extractable: true })).privateKey);
    expect((await loadClientKey(rsa)).key.algorithm.name).toBe("RSASSA-PKCS1-v1_5");
    const ec = await exportPKCS8((await generateKeyPair("ES384", { extractable: true })).privateKey);
    const path = join(dir, "ec.pem");
    await writeFile(path, ec);
    expect((await loadClientKey(path)).key.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-384" });
  });

  it("refuses what it cannot use with one line naming IDPORTEN_CLIENT_KEY", async () => {
    const publicJwk = await exportJWK((await generateKeyPair("RS256")).publicKey);
    const pkcs1 = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    const bareBase64 = pkcs1.split("\n").slice(1, -2).join("");
    // [value, words the error must have, key material it must not quote]
    const cases: [string, RegExp, string | null][] = [
      [JSON.stringify(publicJwk), /public key/, String(publicJwk.n).slice(0, 40)],
      ["{not json", /not valid JSON/, null],
      [pkcs1, /PKCS#8/, bareBase64.slice(0, 40)],
      [bareBase64, /the path given could not be read/, bareBase64.slice(0, 40)],
      [join(dir, "missing.pem"), /missing\.pem could not be read \(ENOENT\)/, null],
      ["", /is empty/, null],
    ];
    for (const [raw, words, secret] of cases) {
      const error = (await loadClientKey(raw).catch((e: Error) => e)) as Error;
      expect(error.message).toMatch(/^IDPORTEN_CLIENT_KEY/);
      expect(error.message).toMatch(words);
      expect(error.message).not.toContain("\n");
      if (secret) expect(error.message).not.toContain(secret);
    }
  });

  it("a client without the credential its method needs is refused when it is created, with the variable's name", () => {
    const base = { issuer: "http://127.0.0.1:1", clientId: "c", scope: "openid", redirectUri: REDIRECT_URI, timeoutMs: 1000 };
    expect(() => createIdportenClient({ ...base, clientAuth: "private_key_jwt" }, realClock)).toThrow(/^IDPORTEN_CLIENT_KEY is required with IDPORTEN_CLIENT_AUTH=private_key_jwt/);
    expect(() => createIdportenClient({ ...base, clientAuth: "client_secret_basic" }, realClock)).toThrow(/^IDPORTEN_CLIENT_SECRET is required/);
  });

  it("a JWK loaded from a file authenticates with private_key_jwt under the JWK's own kid", async () => {
    const provider = await startProvider();
    try {
      const path = join(dir, "client.jwk.json");
      await writeFile(path, JSON.stringify({ ...(await exportJWK(provider.clientKey)), kid: provider.clientKid }));
      const client = createIdportenClient(
        { issuer: provider.issuer, clientId: CLIENTS.jwt, clientAuth: "private_key_jwt", clientKey: await loadClientKey(path), scope: "openid", redirectUri: REDIRECT_URI, timeoutMs: 3000 },
        realClock,
      );
      const request = await client.prepareAuthorization({ statePrefix: "f" });
      const callback = await browse(await client.authorizationRedirect(request));
      const tokens = await client.exchangeCode({ ...request, callbackParams: Object.fromEntries(callback.searchParams) });
      expect(tokens.refreshToken).toBeTruthy();
    } finally {
      await provider.close();
    }
  });
});
