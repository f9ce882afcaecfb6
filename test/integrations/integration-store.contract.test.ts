// The integration stores' contract, held for both: a write names the revision it replaces and is
// refused (IntegrationConflict) when the stored one differs — the race between two editors (or two
// instances) that the service's own read-then-check cannot close; a create of a taken name is refused;
// the audit trail comes back per integration, oldest first; the document survives a reopen.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileIntegrationStore, IntegrationConflict, type IntegrationRecord, type IntegrationStore } from "../../src/integrations/integration-store.ts";
import type { IntegrationAuditEntry } from "../../src/integrations/integration-types.ts";
import { PostgresIntegrationStore } from "../../src/integrations/postgres-integration-store.ts";
import { createTestDatabase, PG_REQUIRED, probe, type TestDatabase } from "../store/postgres-server.ts";

const record = (name: string, revision: number): IntegrationRecord => ({
  name,
  revision,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: `2026-01-01T00:00:0${revision}.000Z`,
  settings: {
    idporten: {
      issuer: "https://test.idporten.no",
      clientId: `${name}-client`,
      clientAuth: "client_secret_post",
      clientKeyId: null,
      redirectUri: "https://erp.example/callback",
      registeredRedirectUris: ["https://erp.example/callback"],
      scope: "openid",
      refreshTokenLifetimeSeconds: 600,
    },
    altinn: { exchangeUrl: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten" },
    authorizationLifetimeSeconds: 31_536_000,
    loginTimeoutSeconds: 600,
    exchangeMode: "auto",
  },
  sealedCredential: `v1.sealed-${revision}`,
});
const entry = (integration: string, action: IntegrationAuditEntry["action"], changed: string[] = []): IntegrationAuditEntry => ({
  at: new Date().toISOString(),
  integration,
  action,
  client: "api-token",
  user: null,
  changed,
});

/** `mends`: the store cannot hold U+0000 or half a character (PostgreSQL), and keeps each as U+FFFD. */
function contract(name: string, open: () => Promise<{ store: IntegrationStore; reopen(): Promise<IntegrationStore> }>, mends = false) {
  describe(name, () => {
    it("refuses a create of a taken name, and a write or removal naming a revision that is not the stored one", async () => {
      const { store, reopen } = await open();
      await store.save(record("acme", 1), null, entry("acme", "create", ["idporten.clientSecret"]));
      await expect(store.save(record("acme", 1), null, entry("acme", "create"))).rejects.toBeInstanceOf(IntegrationConflict);
      await store.save(record("acme", 2), 1, entry("acme", "update", ["exchangeMode"]));
      // Two editors both based on revision 1: the second write loses, whatever it read before.
      const lost = await store.save(record("acme", 2), 1, entry("acme", "update")).catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(IntegrationConflict);
      expect((lost as IntegrationConflict).storedRevision).toBe(2);
      await expect(store.remove("acme", 1, entry("acme", "delete"))).rejects.toBeInstanceOf(IntegrationConflict);
      expect(await store.revisionOf("acme")).toBe(2);
      expect((await store.get("acme"))?.sealedCredential).toBe("v1.sealed-2");

      await store.save(record("other", 1), null, entry("other", "create"));
      await store.remove("other", 1, entry("other", "delete"));
      expect(await store.get("other")).toBeUndefined();
      expect((await store.readAudit("other")).map((e) => e.action)).toEqual(["create", "delete"]);

      const again = await reopen();
      expect((await again.list()).map((r) => [r.name, r.revision])).toEqual([["acme", 2]]);
      expect((await again.readAudit("acme")).map((e) => [e.action, e.changed])).toEqual([
        ["create", ["idporten.clientSecret"]],
        ["update", ["exchangeMode"]],
      ]);
      await again.close();
    });

    it(`writes settings and an audit entry holding U+0000 or half a character${mends ? " (each as U+FFFD)" : ""}, and finds nothing by such a name; an emoji stays`, async () => {
      const { store } = await open();
      const said = "odd\u0000 \ud800 😀";
      const kept = mends ? "odd\uFFFD \uFFFD 😀" : said;
      const odd = record("odd", 1);
      odd.settings.idporten.scope = `openid ${said}`;
      await store.save(odd, null, { ...entry("odd", "create", [said]), client: said, user: said });
      expect((await store.get("odd"))?.settings.idporten.scope).toBe(`openid ${kept}`);
      expect(await store.readAudit("odd")).toEqual([{ ...entry("odd", "create", [kept]), at: expect.any(String), client: kept, user: kept }]);
      expect(await store.get(`odd\u0000`)).toBeUndefined();
      expect(await store.revisionOf(`odd\ud800`)).toBeUndefined();
      await store.close();
    });
  });
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

contract("FileIntegrationStore (DATA_DIR/integrations.json)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "authflow-integrations-"));
  dirs.push(dir);
  const store = await FileIntegrationStore.open(dir);
  return { store, reopen: async () => (await store.close(), FileIntegrationStore.open(dir)) };
});

describe("FileIntegrationStore damage", () => {
  it("sets a torn integrations file aside, names it, and starts with none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "authflow-integrations-"));
    dirs.push(dir);
    await writeFile(join(dir, "integrations.json"), '{"version":1,"integ');
    const lines: string[] = [];
    const store = await FileIntegrationStore.open(dir, (line) => lines.push(line));
    expect(await store.list()).toEqual([]);
    expect(lines.join("\n")).toMatch(/integrations\.json is not JSON .*set aside as .*integrations\.json\.damaged-/);
  });
});

const reachable = await probe();
if (!reachable.ok && PG_REQUIRED) throw new Error(reachable.reason);
if (reachable.ok) {
  const dbs: TestDatabase[] = [];
  afterAll(async () => Promise.all(dbs.map((db) => db.drop())));
  contract("PostgresIntegrationStore (integrations table)", async () => {
    const db = await createTestDatabase("authflow_integration_store");
    dbs.push(db);
    const store = await PostgresIntegrationStore.open(db.url);
    return { store, reopen: async () => (await store.close(), PostgresIntegrationStore.open(db.url)) };
  }, true);
} else {
  describe.skip(`PostgresIntegrationStore (skipped: ${reachable.reason})`, () => it("runs with PostgreSQL", () => {}));
}
