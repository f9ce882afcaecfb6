import { describe, expect, it } from "vitest";
import { ConfigError, readConfig, VAT_SCOPES } from "../../src/config.ts";

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

const REAL = {
  IDPORTEN_ISSUER: "https://test.idporten.no",
  API_TOKEN: "x".repeat(32),
  IDPORTEN_CLIENT_ID: "my-client",
  IDPORTEN_CLIENT_SECRET: "s3cret",
  ALTINN_EXCHANGE_URL: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten",
};

describe("configuration for VAT (issue 9)", () => {
  it("asks for every scope a VAT client needs by default: validation, submission, and the Altinn app's instances", () => {
    expect(VAT_SCOPES.split(" ")).toEqual([
      "openid",
      "skatteetaten:mvameldingvalidering",
      "skatteetaten:mvameldinginnsending",
      "altinn:instances.read",
      "altinn:instances.write",
    ]);
    expect(readConfig({}).idporten.scope).toBe(VAT_SCOPES);
    expect(readConfig(REAL).idporten.scope).toBe(VAT_SCOPES);
    expect(readConfig({ IDPORTEN_SCOPE: "  openid   skatteetaten:mvameldinginnsending " }).idporten.scope).toBe("openid skatteetaten:mvameldinginnsending");
  });

  it("forces a fresh login by default (a browser's SSO session must not log in whoever used it last); IDPORTEN_PROMPT=off sends no prompt", () => {
    expect(readConfig({}).idporten.prompt).toBe("login");
    expect(readConfig(REAL).idporten.prompt).toBe("login");
    expect(readConfig({ IDPORTEN_PROMPT: "off" }).idporten.prompt).toBeUndefined();
    expect(fail({ IDPORTEN_PROMPT: "consent" })).toMatch(/^IDPORTEN_PROMPT must be one of login, off, got "consent"/);
  });

  it("client authentication: client_secret_post by default, client_secret_basic on request", () => {
    expect(readConfig(REAL).idporten).toMatchObject({ clientAuth: "client_secret_post", clientSecret: "s3cret", clientKey: undefined, clientKeyId: undefined });
    expect(readConfig({ ...REAL, IDPORTEN_CLIENT_AUTH: "client_secret_basic" }).idporten.clientAuth).toBe("client_secret_basic");
    expect(fail({ ...REAL, IDPORTEN_CLIENT_AUTH: "tls_client_auth" })).toMatch(/^IDPORTEN_CLIENT_AUTH must be one of client_secret_post, client_secret_basic, private_key_jwt/);
  });

  it("private_key_jwt: the key (kept raw: JWK, PEM or path) and its key id replace the secret", () => {
    const { IDPORTEN_CLIENT_SECRET: _secret, ...noSecret } = REAL;
    const pem = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n";
    const config = readConfig({ ...noSecret, IDPORTEN_CLIENT_AUTH: "private_key_jwt", IDPORTEN_CLIENT_KEY: pem, IDPORTEN_CLIENT_KEY_ID: "key-2025" });
    expect(config.idporten).toMatchObject({ clientAuth: "private_key_jwt", clientSecret: "", clientKey: pem, clientKeyId: "key-2025" });
    expect(readConfig({ ...noSecret, IDPORTEN_CLIENT_AUTH: "private_key_jwt", IDPORTEN_CLIENT_KEY: "/etc/authflow/client.jwk", IDPORTEN_CLIENT_KEY_ID: "k" }).idporten.clientKey).toBe(
      "/etc/authflow/client.jwk",
    );
    const message = fail({ ...noSecret, IDPORTEN_CLIENT_AUTH: "private_key_jwt" });
    expect(message).toMatch(/IDPORTEN_CLIENT_KEY is required with IDPORTEN_CLIENT_AUTH=private_key_jwt/);
    expect(message).toMatch(/IDPORTEN_CLIENT_KEY_ID is required with IDPORTEN_CLIENT_AUTH=private_key_jwt/);
    expect(message).not.toMatch(/IDPORTEN_CLIENT_SECRET/);
  });

  it("the embedded simulator keeps a generated secret and client_secret_post unless IDPORTEN_CLIENT_AUTH says otherwise", () => {
    const config = readConfig({});
    expect(config.idporten.clientAuth).toBe("client_secret_post");
    expect(config.idporten.clientSecret).toBe(config.simulator?.clientSecret);
    expect(config.idporten.clientSecret.length).toBeGreaterThanOrEqual(32);
    const basic = readConfig({ IDPORTEN_CLIENT_AUTH: "client_secret_basic" });
    expect(basic.idporten).toMatchObject({ clientAuth: "client_secret_basic", clientSecret: basic.simulator?.clientSecret });
    const jwt = readConfig({ IDPORTEN_CLIENT_AUTH: "private_key_jwt", IDPORTEN_CLIENT_KEY: "{}", IDPORTEN_CLIENT_KEY_ID: "k" });
    expect(jwt.idporten).toMatchObject({ clientAuth: "private_key_jwt", clientSecret: "", clientKey: "{}", clientKeyId: "k" });
    expect(fail({ IDPORTEN_CLIENT_AUTH: "private_key_jwt" })).toMatch(/^IDPORTEN_CLIENT_KEY is required/);
  });

  it.each([
    ["http://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten", false],
    ["http://altinn.local.example/exchange", false],
    ["https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten", true],
    ["http://localhost:9000/exchange", true],
    ["http://127.0.0.1:9000/exchange", true],
    ["http://[::1]:9000/exchange", true],
  ])("ALTINN_EXCHANGE_URL %s accepted: %s (the ID-porten token travels in it)", (url, accepted) => {
    if (accepted) expect(readConfig({ ...REAL, ALTINN_EXCHANGE_URL: url }).altinnExchangeUrl).toBe(url);
    else expect(fail({ ...REAL, ALTINN_EXCHANGE_URL: url })).toMatch(/^ALTINN_EXCHANGE_URL must be https \(the ID-porten access token travels in it, so plain http is only accepted for localhost\)/);
  });

  it("with a real issuer, reports every missing variable at once, in one line", () => {
    const message = fail({ IDPORTEN_ISSUER: "https://test.idporten.no" });
    expect(message).not.toContain("\n");
    expect(message).toBe(
      [
        "API_TOKEN is required when a real ID-porten is configured (at least 32 characters), unless API_CLIENTS lists the callers",
        "IDPORTEN_CLIENT_ID is required when IDPORTEN_ISSUER is set",
        "IDPORTEN_CLIENT_SECRET is required when IDPORTEN_ISSUER is set and IDPORTEN_CLIENT_AUTH is client_secret_post (or use private_key_jwt with IDPORTEN_CLIENT_KEY)",
        "ALTINN_EXCHANGE_URL is required when IDPORTEN_ISSUER is set",
      ].join("; "),
    );
  });

  it("collects bad values too, each naming its variable, and keeps them as a list", () => {
    let error: ConfigError | undefined;
    try {
      readConfig({ ...REAL, PORT: "eighty", IDPORTEN_ISSUER: "http://idporten.example", EXCHANGE_MODE: "later", AUTHORIZATION_WARNING_DAYS: "-3" });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems.map((p) => p.variable)).toEqual(["PORT", "IDPORTEN_ISSUER", "AUTHORIZATION_WARNING_DAYS", "EXCHANGE_MODE"]);
    expect(error?.variable).toBe("PORT");
    expect(error?.message.split("; ")).toHaveLength(4);
    // The one-variable form still works for callers that build one.
    expect(new ConfigError("PORT", "is taken").message).toBe("PORT is taken");
  });

  it("keep-alive is on with a real ID-porten: renewal before ID-porten's default 600 s refresh-token lifetime unless set", () => {
    expect(readConfig(REAL).idporten.refreshTokenLifetimeSeconds).toBe(600);
    expect(readConfig({ ...REAL, IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS: "7200" }).idporten.refreshTokenLifetimeSeconds).toBe(7200);
    expect(fail({ ...REAL, IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS: "0" })).toMatch(/^IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS must be between 1 and/);
    // Embedded: the simulator's refresh tokens live as long as the authorization unless told otherwise.
    expect(readConfig({}).idporten.refreshTokenLifetimeSeconds).toBeUndefined();
    expect(readConfig({ SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS: "600" }).idporten.refreshTokenLifetimeSeconds).toBe(600);
    expect(readConfig({ SIMULATOR_REFRESH_TOKEN_LIFETIME_SECONDS: "600", IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS: "300" }).idporten.refreshTokenLifetimeSeconds).toBe(300);
  });

  it("refuses SIMULATED_CLOCK=on with a real ID-porten, saying why", () => {
    expect(fail({ ...REAL, SIMULATED_CLOCK: "on" })).toBe(
      "SIMULATED_CLOCK must be off with a real ID-porten (IDPORTEN_ISSUER is set): moving the engine's clock against a real provider expires real authorizations for good",
    );
    expect(readConfig({ ...REAL, SIMULATED_CLOCK: "off" }).simulatedClock).toBe(false);
    expect(readConfig({ SIMULATED_CLOCK: "on" }).simulatedClock).toBe(true);
  });

  it("AUTHORIZATION_WARNING_DAYS: 30 by default, 0 turns the warning off", () => {
    expect(readConfig({}).authorizationWarningDays).toBe(30);
    expect(readConfig(REAL).authorizationWarningDays).toBe(30);
    expect(readConfig({ AUTHORIZATION_WARNING_DAYS: "0" }).authorizationWarningDays).toBe(0);
    expect(readConfig({ AUTHORIZATION_WARNING_DAYS: "60" }).authorizationWarningDays).toBe(60);
    expect(fail({ AUTHORIZATION_WARNING_DAYS: "soon" })).toMatch(/^AUTHORIZATION_WARNING_DAYS must be a whole number/);
  });

  it("DATABASE_TIMEOUT_SECONDS: 15 by default (a call's wait for PostgreSQL's answer), 1–300", () => {
    expect(readConfig({}).databaseTimeoutSeconds).toBe(15);
    expect(readConfig({ DATABASE_TIMEOUT_SECONDS: "5" }).databaseTimeoutSeconds).toBe(5);
    expect(fail({ DATABASE_TIMEOUT_SECONDS: "0" })).toMatch(/^DATABASE_TIMEOUT_SECONDS /);
    expect(fail({ DATABASE_TIMEOUT_SECONDS: "a while" })).toMatch(/^DATABASE_TIMEOUT_SECONDS must be a whole number/);
  });

  it("DATABASE_URL's TLS as libpq reads it: PGSSLMODE and PGSSLROOTCERT where the URL says nothing (the URL wins); an unknown sslmode, a root certificate with a mode that checks nothing, client certificates — each refused in words", () => {
    const base = { ENCRYPTION_KEY: "A".repeat(43) + "=", API_TOKEN: "t".repeat(32) };
    const url = (env: Record<string, string>) => readConfig({ ...base, ...env }).databaseUrl;
    expect(url({ DATABASE_URL: "postgres://app@db:5432/authflow" })).toBe("postgres://app@db:5432/authflow");
    // A deployment that set PGSSLMODE as libpq's documentation says was connected with no TLS at all.
    expect(url({ DATABASE_URL: "postgres://app@db:5432/authflow", PGSSLMODE: "verify-full" })).toBe("postgres://app@db:5432/authflow?sslmode=verify-full");
    expect(url({ DATABASE_URL: "postgres://app@db:5432/authflow?sslmode=require", PGSSLMODE: "disable" })).toBe("postgres://app@db:5432/authflow?sslmode=require");
    expect(url({ DATABASE_URL: "postgres://app@db1:5432,db2:5432/authflow?application_name=x", PGSSLMODE: "verify-full", PGSSLROOTCERT: "/etc/ssl/rds-ca.pem" })).toBe(
      "postgres://app@db1:5432,db2:5432/authflow?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Frds-ca.pem",
    );
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?sslmode=requre" })).toBe('DATABASE_URL sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full, got "requre"');
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a", PGSSLMODE: "on" })).toMatch(/^PGSSLMODE sslmode must be one of /);
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?sslmode=prefer&sslrootcert=/ca.pem" })).toMatch(/^DATABASE_URL sslrootcert is given, but the connection would not check the server's certificate \(sslmode prefer\): set sslmode=verify-full/);
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a", PGSSLROOTCERT: "/ca.pem" })).toMatch(/^PGSSLROOTCERT sslrootcert is given, but .*\(sslmode unset\)/);
    expect(url({ DATABASE_URL: "postgres://db/a?sslmode=require&sslrootcert=/ca.pem" })).toBe("postgres://db/a?sslmode=require&sslrootcert=/ca.pem");
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?sslmode=verify-full&sslcert=/c.pem&sslkey=/k.pem" })).toMatch(/^DATABASE_URL sslcert \(client certificates, revocation lists\) is not supported.*; DATABASE_URL sslkey /);
    // verify-ca against the system's CAs would take any certificate a public CA issued for any name (found in review).
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?sslmode=verify-ca" })).toMatch(/^DATABASE_URL sslmode=verify-ca needs sslrootcert=<file>/);
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a", PGSSLMODE: "verify-ca" })).toMatch(/^PGSSLMODE sslmode=verify-ca needs sslrootcert=<file>/);
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?sslmode=verify-ca&sslrootcert=system" })).toMatch(/^DATABASE_URL sslrootcert=system needs sslmode=verify-full/);
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?sslmode=require", PGSSLROOTCERT: "system" })).toMatch(/^PGSSLROOTCERT sslrootcert=system needs sslmode=verify-full/);
    expect(url({ DATABASE_URL: "postgres://db/a?sslrootcert=system" })).toBe("postgres://db/a?sslrootcert=system");
    // postgres.js's own ssl= counts as the mode; a + in a file's path is a +, as libpq reads it.
    expect(url({ DATABASE_URL: "postgres://db/a?ssl=verify-ca&sslrootcert=/etc/ca+1.pem" })).toBe("postgres://db/a?ssl=verify-ca&sslrootcert=/etc/ca+1.pem");
    expect(fail({ ...base, DATABASE_URL: "postgres://db/a?ssl=yes" })).toMatch(/^DATABASE_URL ssl must be one of .*true, false, got "yes"/);
    // A password with "@" and "/" in clear: which part is the host is a guess, and the guess put part of the password in a log line (review).
    const unencoded = fail({ ...base, DATABASE_URL: "postgres://postgres:Pw@Mark/er9@127.0.0.1:5432/db" });
    expect(unencoded).toMatch(/^DATABASE_URL has an "@" after the host: percent-encode/);
    expect(unencoded).not.toMatch(/Mark|er9/);
    expect(url({ DATABASE_URL: "postgres://postgres:Pw%40Mark%2Fer9@127.0.0.1:5432/db" })).toBe("postgres://postgres:Pw%40Mark%2Fer9@127.0.0.1:5432/db");
    expect(url({ DATABASE_URL: "postgres://app@db/a?application_name=x@y" })).toBe("postgres://app@db/a?application_name=x@y"); // in the query: no doubt
    for (const password of ["Sec?ret99", "Sec#ret99"]) {
      const cut = fail({ ...base, DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:5432/db` });
      expect(cut).toMatch(/^DATABASE_URL has a "\?" or "#" in its user name or password: percent-encode/);
      expect(cut).not.toContain("ret99");
    }
  });

  it("simulator: refresh-token reuse grace (default none) and an optional control token of at least 16 characters", () => {
    expect(readConfig({}).simulator).toMatchObject({ refreshReuseGraceSeconds: 0, controlToken: undefined });
    expect(readConfig({ SIMULATOR_REFRESH_REUSE_GRACE_SECONDS: "5", SIMULATOR_CONTROL_TOKEN: "c".repeat(16) }).simulator).toMatchObject({
      refreshReuseGraceSeconds: 5,
      controlToken: "c".repeat(16),
    });
    expect(fail({ SIMULATOR_REFRESH_REUSE_GRACE_SECONDS: "a bit" })).toMatch(/^SIMULATOR_REFRESH_REUSE_GRACE_SECONDS must be a whole number/);
    expect(fail({ SIMULATOR_CONTROL_TOKEN: "short" })).toMatch(/^SIMULATOR_CONTROL_TOKEN must be at least 16 characters, got 5/);
    expect(readConfig(REAL).simulator).toBeUndefined();
  });

  it("refuses two servers on one port", () => {
    expect(fail({ PORT: "9000", SIMULATOR_PORT: "9000" })).toMatch(/^SIMULATOR_PORT must differ from PORT/);
    expect(fail({ PORT: "9000", INSPECT: "on", INSPECT_PORT: "9001" })).toMatch(/^INSPECT_PORT must differ/);
    expect(readConfig({ PORT: "0" }).simulator?.port).toBe(0);
  });

  it("is frozen all the way down", () => {
    const config = readConfig({});
    expect(Object.isFrozen(config.idporten)).toBe(true);
    expect(Object.isFrozen(config.simulator)).toBe(true);
    expect(Object.isFrozen(config.idporten.registeredRedirectUris)).toBe(true);
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
