// The simulator's environment and its synthetic test persons.

import { describe, expect, it } from "vitest";
import { readSimulatorLifetimes, readStandaloneConfig } from "../../src/simulator/config.ts";
import { isSyntheticPid, syntheticPidProblem, TEST_PERSONS } from "../../src/simulator/persons.ts";

describe("readSimulatorLifetimes", () => {
  it("reads the four SIMULATOR_* lifetimes that are set", () => {
    expect(
      readSimulatorLifetimes({
        SIMULATOR_AUTHORIZATION_LIFETIME_SECONDS: "7200",
        SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS: "120",
        SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS: "600",
        SIMULATOR_CODE_TTL_SECONDS: " 30 ",
        SIMULATOR_SESSION_LIFETIME_SECONDS: "7200",
      }),
    ).toEqual({ authorizationSeconds: 7200, accessTokenSeconds: 120, refreshTokenSeconds: 600, codeSeconds: 30, sessionSeconds: 7200 });
    expect(readSimulatorLifetimes({ SIMULATOR_CODE_TTL_SECONDS: "" })).toEqual({});
  });

  it.each(["0", "-5", "1.5", "ten", "1e3"])("names the variable for %j", (value) => {
    expect(() => readSimulatorLifetimes({ SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS: value })).toThrow(
      /^SIMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS must be a whole number of seconds/,
    );
  });
});

describe("readStandaloneConfig", () => {
  it("has the documented defaults and generates a client secret when none is set", () => {
    const config = readStandaloneConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8788,
      publicUrl: "http://localhost:8788", // spelled as the embedded simulator spells itself
      dataDir: "./data",
      client: { clientId: "authflow-local", redirectUris: ["http://localhost:8787/callback"] },
      clientSecretGenerated: true,
      lifetimes: {},
      refreshReuseGraceSeconds: 0,
      controlToken: undefined,
    });
    expect(config.client.tokenEndpointAuthMethod).toBe("client_secret_post");
    expect(config.client.clientSecret!.length).toBeGreaterThanOrEqual(32);
  });

  it("reads every variable", () => {
    const config = readStandaloneConfig({
      SIMULATOR_PORT: "9000",
      SIMULATOR_HOST: "0.0.0.0",
      SIMULATOR_PUBLIC_URL: "https://idporten.test.example/",
      DATA_DIR: "/var/lib/authflow",
      SIMULATOR_CLIENT_ID: "erp",
      SIMULATOR_CLIENT_SECRET: "c".repeat(32),
      SIMULATOR_REDIRECT_URIS: "https://erp.example/callback, http://localhost:8787/callback",
      SIMULATOR_CODE_TTL_SECONDS: "5",
      SIMULATOR_REFRESH_REUSE_GRACE_SECONDS: "10",
      SIMULATOR_CONTROL_TOKEN: "t".repeat(20),
      SIMULATOR_CLIENT_AUTH: "client_secret_basic",
    });
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      publicUrl: "https://idporten.test.example",
      dataDir: "/var/lib/authflow",
      client: { clientId: "erp", clientSecret: "c".repeat(32), redirectUris: ["https://erp.example/callback", "http://localhost:8787/callback"] },
      clientSecretGenerated: false,
      lifetimes: { codeSeconds: 5 },
      refreshReuseGraceSeconds: 10,
      controlToken: "t".repeat(20),
    });
    expect(config.client.tokenEndpointAuthMethod).toBe("client_secret_basic");
  });

  it("registers a private_key_jwt client with the public key from SIMULATOR_CLIENT_JWKS (no secret)", () => {
    const jwk = { kty: "RSA", n: "AQAB", e: "AQAB", kid: "k1" };
    const config = readStandaloneConfig({ SIMULATOR_CLIENT_AUTH: "private_key_jwt", SIMULATOR_CLIENT_JWKS: JSON.stringify(jwk) });
    expect(config.client).toMatchObject({ tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [jwk] } });
    expect(config.client.clientSecret).toBeUndefined();
    expect(config.clientSecretGenerated).toBe(false);
  });

  it.each([
    [{ SIMULATOR_PORT: "70000" }, /^SIMULATOR_PORT /],
    [{ SIMULATOR_CLIENT_SECRET: "short" }, /^SIMULATOR_CLIENT_SECRET must be at least 32 characters/],
    [{ SIMULATOR_REDIRECT_URIS: "not a url" }, /^SIMULATOR_REDIRECT_URIS /],
    [{ SIMULATOR_PUBLIC_URL: "http://localhost:8788/idporten" }, /^SIMULATOR_PUBLIC_URL .*without path/],
    [{ ENCRYPTION_KEY: "c2hvcnQ=" }, /^ENCRYPTION_KEY must be 32 bytes/],
    [{ SIMULATOR_REFRESH_REUSE_GRACE_SECONDS: "-1" }, /^SIMULATOR_REFRESH_REUSE_GRACE_SECONDS /],
    [{ SIMULATOR_REFRESH_REUSE_GRACE_SECONDS: "3601" }, /^SIMULATOR_REFRESH_REUSE_GRACE_SECONDS /],
    [{ SIMULATOR_CONTROL_TOKEN: "short" }, /^SIMULATOR_CONTROL_TOKEN must be at least 16/],
    [{ SIMULATOR_SESSION_LIFETIME_SECONDS: "0" }, /^SIMULATOR_SESSION_LIFETIME_SECONDS /],
    [{ SIMULATOR_CLIENT_AUTH: "none" }, /^SIMULATOR_CLIENT_AUTH must be one of/],
    [{ SIMULATOR_CLIENT_AUTH: "private_key_jwt" }, /^SIMULATOR_CLIENT_JWKS is required/],
    [{ SIMULATOR_CLIENT_AUTH: "private_key_jwt", SIMULATOR_CLIENT_JWKS: '{"kty":"RSA","d":"x"}' }, /^SIMULATOR_CLIENT_JWKS holds a private key/],
  ])("stops on %j with a message naming the variable", (env, message) => {
    expect(() => readStandaloneConfig(env)).toThrow(message);
  });
});

describe("test persons", () => {
  it("are synthetic (Tenor: month + 80) with valid MOD11 check digits, 01817010055 among them", () => {
    expect(TEST_PERSONS.map((person) => person.pid)).toContain("01817010055");
    for (const person of TEST_PERSONS) {
      expect(person.pid).toMatch(/^\d{2}[89]\d{8}$/);
      expect(syntheticPidProblem(person.pid), person.pid).toBeUndefined();
    }
  });

  it("refuses wrong check digits, real (non-synthetic) numbers and other shapes", () => {
    expect(syntheticPidProblem("01817010056")).toMatch(/check digits/);
    expect(syntheticPidProblem("01017010055")).toMatch(/synthetic/);
    expect(syntheticPidProblem("0181701005")).toMatch(/11 digits/);
    expect(isSyntheticPid("01817010055")).toBe(true);
  });
});
