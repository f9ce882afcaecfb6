import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../src/config.ts";

const fail = (env: Record<string, string>) => {
  try {
    readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("configuration (read once; a bad value names the variable)", () => {
  it("defaults: embedded simulator, generated API token, port 8787, one-year authorization", () => {
    const config = readConfig({});
    expect(config.port).toBe(8787);
    expect(config.publicUrl).toBe("http://localhost:8787");
    expect(config.idporten.redirectUri).toBe("http://localhost:8787/callback");
    expect(config.idporten.registeredRedirectUris).toEqual(["http://localhost:8787/callback"]);
    expect(config.simulator?.port).toBe(8788);
    expect(config.apiToken).toBeUndefined(); // the service generates one and keeps it in DATA_DIR
    expect(config.authorizationLifetimeSeconds).toBe(31536000);
    expect(config.exchangeMode).toBe("auto");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ PORT: "eighty" }, /^PORT must be a whole number/],
    [{ PORT: "70000" }, /^PORT must be between/],
    [{ API_TOKEN: "short" }, /^API_TOKEN must be at least 32 characters/],
    [{ ENCRYPTION_KEY: "bm90LTMyLWJ5dGVz" }, /^ENCRYPTION_KEY must be 32 random bytes/],
    [{ EXCHANGE_MODE: "sometimes" }, /^EXCHANGE_MODE must be one of auto, manual/],
    [{ SIMULATED_CLOCK: "yes" }, /^SIMULATED_CLOCK must be one of on, off/],
    [{ PUBLIC_URL: "not a url" }, /^PUBLIC_URL must be an absolute URL/],
    [{ IDPORTEN_ISSUER: "https://test.idporten.no", API_TOKEN: "x".repeat(32) }, /^IDPORTEN_CLIENT_ID is required/],
    [{ IDPORTEN_ISSUER: "https://test.idporten.no" }, /^API_TOKEN is required/],
    [{ IDPORTEN_ISSUER: "http://test.idporten.no", API_TOKEN: "x".repeat(32), IDPORTEN_CLIENT_ID: "c", IDPORTEN_CLIENT_SECRET: "s" }, /^IDPORTEN_ISSUER must be https/],
    [{ IDPORTEN_SCOPE: "skatteetaten:mvameldinginnsending" }, /^IDPORTEN_SCOPE must include "openid"/],
    [{ SIMULATOR_CODE_TTL_SECONDS: "-1" }, /^SIMULATOR_CODE_TTL_SECONDS must be a whole number/],
    [{ IDPORTEN_REGISTERED_REDIRECT_URIS: "https://ok.example/cb, ftp://bad" }, /^IDPORTEN_REGISTERED_REDIRECT_URIS must be an http\(s\) URL/],
  ])("%o → %s", (env, message) => {
    expect(fail(env as Record<string, string>)).toMatch(message);
  });

  it("keeps redirect URIs exactly as given (they are compared exactly)", () => {
    const config = readConfig({ IDPORTEN_REDIRECT_URI: "https://erp.example/cb/", IDPORTEN_REGISTERED_REDIRECT_URIS: "https://erp.example/cb/,https://x.example" });
    expect(config.idporten.redirectUri).toBe("https://erp.example/cb/");
    expect(config.idporten.registeredRedirectUris).toEqual(["https://erp.example/cb/", "https://x.example"]);
  });
});

describe("the callback route", () => {
  it("is the redirect URI's path below PUBLIC_URL, also when PUBLIC_URL has a path prefix", async () => {
    const { callbackRoute } = await import("../../src/service.ts");
    expect(callbackRoute("http://localhost:8787", "http://localhost:8787/callback")).toEqual({ callbackPath: "/callback", callbackUrl: "http://localhost:8787/callback" });
    expect(callbackRoute("https://erp.example/authflow", "https://erp.example/authflow/callback")).toEqual({
      callbackPath: "/callback",
      callbackUrl: "https://erp.example/authflow/callback",
    });
    const config = readConfig({ PUBLIC_URL: "https://erp.example/authflow" });
    expect(callbackRoute(config.publicUrl, config.idporten.redirectUri).callbackUrl).toBe(config.idporten.redirectUri);
    expect(callbackRoute("https://erp.example", "https://other.example/callback").callbackUrl).toBe("https://erp.example/callback");
  });
});
