// Issue 10 §5 with DATABASE_URL: stored integrations live in PostgreSQL (migration 2), their secret
// sealed in the row, edits compare-and-swap on the revision (a stale one from any instance is
// refused), the audit trail in its table, all of it across a restart. Runs when the machine's
// PostgreSQL answers (required with CI or AUTHFLOW_PG_TESTS=required; skipped with a note otherwise).
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, PG_REQUIRED, probe, type TestDatabase } from "../store/postgres-server.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const SECRET = "pg-acme-secret-Qw8Er6Ty4Ui2Op0As9Df";
const reachable = await probe();
if (!reachable.ok && PG_REQUIRED) throw new Error(reachable.reason);
const suite = reachable.ok ? describe : describe.skip;
const title = reachable.ok ? "integrations stored in PostgreSQL" : `integrations stored in PostgreSQL (skipped: ${reachable.reason})`;

suite(title, () => {
  let db: TestDatabase;
  let t: TestService;
  let sql: postgres.Sql;
  const body = (name: string) => ({
    name,
    idporten: { issuer: t.service.simulator!.issuer, clientId: `${name}-client`, clientSecret: SECRET, redirectUri: `${t.url}/callback` },
    altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl },
  });

  beforeAll(async () => {
    db = await createTestDatabase("authflow_integrations");
    t = await startTestService({ DATABASE_URL: db.url, ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") });
    sql = postgres(db.url, { max: 1, onnotice: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await sql?.end({ timeout: 1 });
    await t?.close();
    await db?.drop();
  });

  it("keeps the secret sealed in the row and never in an answer; a stale revision is refused; the audit is in its table", async () => {
    const created = await t.api("POST", "/api/integrations", body("acme"));
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(SECRET);
    const [row] = await sql`SELECT * FROM integrations WHERE name = 'acme'`;
    expect(row!.sealed_credential).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(SECRET);

    const edit = { ...body("acme"), idporten: { ...body("acme").idporten, clientSecret: undefined }, loginTimeoutSeconds: 300 };
    expect((await t.api("PUT", "/api/integrations/acme", { ...edit, revision: 1 })).status).toBe(200);
    // Another instance wrote revision 3 meanwhile: this one's edit based on 2 is refused by the row's revision.
    await sql`UPDATE integrations SET revision = 3 WHERE name = 'acme'`;
    const stale = await t.api("PUT", "/api/integrations/acme", { ...edit, loginTimeoutSeconds: 200, revision: 2 });
    expect(stale.status).toBe(409);
    expect(stale.json.detail).toMatch(/now at revision 3/);

    const audit = await sql`SELECT action, client, changed FROM integration_audit WHERE integration = 'acme' ORDER BY seq`;
    expect(audit.map((a) => a.action)).toEqual(["create", "update"]);
    expect(audit[1]!.changed).toEqual(["loginTimeoutSeconds"]);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });

  it("serves the stored integration, and a flow on it, after a restart", async () => {
    await t.control("POST", "/clients", { clientId: "acme-client", clientSecret: SECRET, redirectUris: [`${t.url}/callback`] });
    const flow = await t.api("POST", "/api/flows", { legalEntity: "999999999", integration: "acme" });
    expect(flow.status).toBe(201);
    await t.restart();
    const one = await t.api("GET", "/api/integrations/acme");
    expect(one.json).toMatchObject({ name: "acme", revision: 3, loginTimeoutSeconds: 300, idporten: { clientSecretSet: true } });
    const started = await t.api("POST", `/api/flows/${flow.json.id}/events`, { type: "AUTHORIZE", user: "alice" });
    expect(started.status).toBe(200);
    await t.login(started.json.authorizationUrl);
    expect((await t.waitForState(flow.json.id, ["altinnAuthorized"])).state).toBe("altinnAuthorized");
    const del = await t.api("DELETE", "/api/integrations/acme");
    expect(del.status).toBe(409);
    expect(del.json.detail).toMatch(/used by 1 flow/);
  }, 60_000);
});
