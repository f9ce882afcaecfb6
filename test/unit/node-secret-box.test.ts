// The Node entry's SecretBox (node:crypto, synchronous) and the core one (WebCrypto) are one format:
// each opens what the other sealed, bound to the same additional data, and their MACs agree — so a
// DATA_DIR or a database written under Node opens under Deno and back.
import { describe, expect, it } from "vitest";
import { createNodeSecretBox } from "../../src/crypto/node-secret-box.ts";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";

describe("the Node SecretBox and the WebCrypto one", () => {
  it("open each other's sealed values, refuse another binding, and compute the same MAC", async () => {
    const key = generateKeyBytes();
    const [web, node] = [await createSecretBox(key), await createNodeSecretBox(key)];
    const plain = JSON.stringify({ refreshToken: "rt-ÆØÅ-secret", n: 42 });
    for (const [a, b] of [[web, node], [node, web]] as const) {
      const sealed = await a.seal(plain, "authflow/flow/A/authorization@2");
      expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
      expect(sealed).not.toContain("secret");
      await expect(b.open(sealed, "authflow/flow/A/authorization@2")).resolves.toBe(plain);
      await expect(b.open(sealed, "authflow/flow/B/authorization@2")).rejects.toThrow(/does not open/);
      await expect(b.open(sealed)).rejects.toThrow(/does not open/);
      const unbound = await a.seal(plain);
      await expect(b.open(unbound)).resolves.toBe(plain);
    }
    expect(await node.mac("summary of A")).toBe(await web.mac("summary of A"));
    expect(await node.mac("summary of A")).not.toBe(await node.mac("summary of B"));
    const other = await createNodeSecretBox(generateKeyBytes());
    await expect(other.open(await node.seal(plain, "x"), "x")).rejects.toThrow(/does not open/);
  });

  it("refuses a value that is not sealed or is cut short", async () => {
    const node = await createNodeSecretBox(generateKeyBytes());
    await expect(node.open("plain text")).rejects.toThrow(/not a sealed value/);
    const sealed = await node.seal("x");
    await expect(node.open(sealed.slice(0, sealed.lastIndexOf(".") + 4))).rejects.toThrow();
  });
});

it("nodeSha256 (the Node entry's bearer digest) gives WebCrypto's SHA-256, and finds the same API client", async () => {
  const { nodeSha256 } = await import("../../src/crypto/node-secret-box.ts");
  const { clientDirectory, tokenSha256 } = await import("../../src/identity/api-clients.ts");
  for (const text of ["", "api-token-0123456789abcdef0123456789", "æøå ✓"]) {
    const web = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
    expect(Array.from(nodeSha256(text))).toEqual(Array.from(web));
  }
  const clients = [{ name: "erp", tokenSha256: await tokenSha256("erp-token-0123456789abcdef0123456"), legalEntities: "*" as const, users: "*" as const }];
  expect((await clientDirectory(clients, nodeSha256)("erp-token-0123456789abcdef0123456"))?.name).toBe("erp");
  expect(await clientDirectory(clients, nodeSha256)("erp-token-0123456789abcdef0123457")).toBeNull();
});

it("a login's browser binding made with nodeSha256 is the one WebCrypto makes: a login opened on a Node instance completes on any other", async () => {
  const { nodeSha256 } = await import("../../src/crypto/node-secret-box.ts");
  const { sha256Hex } = await import("../../src/crypto/secrets.ts");
  for (const secret of ["", "J8s-login-cookie-secret_0123456789abcdefghij", "æøå ✓"]) {
    const web = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret))), (b) => b.toString(16).padStart(2, "0")).join("");
    expect(await sha256Hex(secret, nodeSha256)).toBe(web);
    expect(await sha256Hex(secret)).toBe(web);
  }
});
