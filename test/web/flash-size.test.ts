// The page's flash cookie (the outcome of a form, carried across the redirect) is cut to fit a
// browser's 4,096-byte cookie, in order: long words, the longest typed values (named), the last
// problems (counted); the first problem and the revision always kept. Sealed with the real box.
import { describe, expect, it } from "vitest";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { FLASH_MAX_CHARS, fittedFlash, type Flash } from "../../src/web/web-routes.tsx";

const PURPOSE = "authflow page flash v1";

describe("fittedFlash", async () => {
  const box = await createSecretBox(generateKeyBytes());
  const seal = (flash: Flash) => box.seal(JSON.stringify(flash), PURPOSE);
  const open = async (sealed: string) => JSON.parse(await box.open(sealed, PURPOSE)) as Flash;

  it("a flash that fits is sealed as it is", async () => {
    const flash: Flash = { integrationForm: { name: "acme", values: { scope: "openid", revision: "3" }, problems: [{ field: "idporten.scope", message: "Scope is wrong." }] } };
    expect(await open(await fittedFlash(flash, seal))).toEqual(flash);
  });

  it("long typed values are left out longest first and named; the revision and short values stay", async () => {
    const values = { name: "acme", issuer: "https://" + "i".repeat(3_000), scope: "openid " + "s".repeat(1_500), clientId: "c".repeat(200), exchangeMode: "manual", revision: "7" };
    const sealed = await fittedFlash({ integrationForm: { name: "acme", values, problems: [{ field: "idporten.issuer", message: "Issuer must be at most 500 characters." }] } }, seal);
    expect(sealed.length).toBeLessThanOrEqual(FLASH_MAX_CHARS);
    const form = (await open(sealed)).integrationForm!;
    expect(form.problems).toEqual([{ field: "idporten.issuer", message: "Issuer must be at most 500 characters." }]);
    expect(form.leftOut).toEqual(["issuer"]);
    expect(form.values).toEqual({ name: "acme", scope: values.scope, clientId: values.clientId, exchangeMode: "manual", revision: "7" });
  });

  it("too many problems: the first ones are kept, the rest counted; never an empty notice", async () => {
    const problems = Array.from({ length: 40 }, (_, i) => ({ field: `idporten.registeredRedirectUris.${i}`, message: `Registered redirect URIs #${i + 1} must be an absolute URL, got "${"u".repeat(100)}".` }));
    const sealed = await fittedFlash({ integrationForm: { name: "acme", values: { revision: "2", registeredRedirectUris: "u".repeat(4_000) }, problems } }, seal);
    expect(sealed.length).toBeLessThanOrEqual(FLASH_MAX_CHARS);
    const form = (await open(sealed)).integrationForm!;
    expect(form.problems[0]).toEqual(problems[0]);
    expect(form.problems.length + form.moreProblems!).toBe(40);
    expect(form.leftOut).toEqual(["registeredRedirectUris"]);
    expect(form.values.revision).toBe("2");
  });

  it("a single problem of any length still fits, cut short", async () => {
    const sealed = await fittedFlash({ integrationForm: { name: "n".repeat(10_000), values: {}, problems: [{ field: "", message: "m".repeat(50_000) }] } }, seal);
    expect(sealed.length).toBeLessThanOrEqual(FLASH_MAX_CHARS);
    expect((await open(sealed)).integrationForm!.problems[0]!.message).toMatch(/^m+…$/);
  });
});
