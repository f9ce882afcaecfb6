import { describe, expect, it } from "vitest";
import { createSecretBox, decodeKey, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { checkUser, isOrganisationNumber } from "../../src/server/validate.ts";
import { checkRedirectUrl, maskPid } from "../../src/machines/authorization-rules.ts";

describe("organisation numbers (MOD11, weights 3 2 7 6 5 4 3 2)", () => {
  it.each(["999999999", "974760673", "923609016"])("accepts %s", (n) => expect(isOrganisationNumber(n)).toBe(true));
  it.each(["123456789", "99999999", "9999999999", "97476067A", "974760674", ""])("refuses %s", (n) => expect(isOrganisationNumber(n)).toBe(false));
});

describe("user ids", () => {
  it("takes 1–128 printable characters, including non-ASCII", () => {
    expect(checkUser("Åse Ødegård")).toBe("Åse Ødegård");
    expect(checkUser("x".repeat(128))).toHaveLength(128);
  });
  it.each([[""], ["x".repeat(129)], ["a\nb"], ["a\u200bb"], [42]])("refuses %j", (u) => expect(() => checkUser(u)).toThrow());
});

describe("secret box (AES-GCM)", () => {
  it("round-trips, uses a fresh IV each time, and refuses a tampered or foreign value", async () => {
    const box = await createSecretBox(generateKeyBytes());
    const a = await box.seal("token");
    const b = await box.seal("token");
    expect(a).not.toBe(b);
    expect(a).not.toContain("token");
    expect(await box.open(a)).toBe("token");
    const tampered = a.slice(0, -2) + (a.endsWith("A") ? "BB" : "AA");
    await expect(box.open(tampered)).rejects.toThrow();
    const other = await createSecretBox(generateKeyBytes());
    await expect(other.open(a)).rejects.toThrow();
  });
  it("decodes a 32-byte base64 key and refuses other lengths", () => {
    expect(decodeKey(btoa("k".repeat(32)))).toHaveLength(32);
    expect(() => decodeKey(btoa("short"))).toThrow(/32 bytes/);
  });
});

describe("redirect URL rule and pid masking", () => {
  const cb = "https://erp.example/callback";
  it("needs the redirect URL registered and equal to the callback URL, exactly", () => {
    expect(checkRedirectUrl({ redirectUri: cb, registeredRedirectUris: [cb], callbackUrl: cb }).ok).toBe(true);
    expect(checkRedirectUrl({ redirectUri: `${cb}/`, registeredRedirectUris: [cb], callbackUrl: cb }).ok).toBe(false);
    expect(checkRedirectUrl({ redirectUri: cb, registeredRedirectUris: [cb], callbackUrl: "http://erp.example/callback" }).ok).toBe(false);
  });
  it("shows only the first six digits of a national identity number", () => {
    expect(maskPid("01817010055")).toBe("018170*****");
    expect(maskPid(null)).toBeNull();
  });
});

describe("loggablePath (the access log's path)", () => {
  it("keeps the path as sent, without the query or fragment, and cuts a login link's secret part", async () => {
    const { loggablePath } = await import("../../src/server/app.ts");
    expect(loggablePath("http://127.0.0.1:3000/callback?code=secret-code&state=s&iss=x")).toBe("/callback");
    expect(loggablePath("https://authflow.example/api/flows/abc/token")).toBe("/api/flows/abc/token");
    expect(loggablePath("http://h/login/3f0c5b8e.secretpart?x=1")).toBe("/login/3f0c5b8e.…");
    expect(loggablePath("http://h/login/3f0c5b8e.secretpart/more")).toBe("/login/3f0c5b8e.…/more");
    expect(loggablePath("http://h/a%0Ab#frag")).toBe("/a%0Ab");
    // An escaped dot opens the link too (the router decodes the parameter): its secret is cut as well.
    expect(loggablePath("http://h/login/3f0c5b8e%2Esecretpart")).toBe("/login/3f0c5b8e.…");
    expect(loggablePath("http://h/login/3f0c5b8e%2esecretpart?x=1")).toBe("/login/3f0c5b8e.…");
    expect(loggablePath("http://h")).toBe("/");
  });
});
