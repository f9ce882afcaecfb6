// Text PostgreSQL cannot hold — U+0000, half of a character (a UTF-16 surrogate without its pair,
// valid JSON as "\ud800") — on both stores, over real HTTP. What the API takes is refused with a 400
// that names the field and the character (before: on PostgreSQL a flow's write was kept and retried
// for ever, and every later change to the flow answered 503; an integration answered 500). What a
// provider says is written, each such character as U+FFFD on PostgreSQL, and the flow goes on.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { createTestDatabase, PG_REQUIRED, probe, type TestDatabase } from "../store/postgres-server.ts";
import { signInWithPassword } from "../support/page-sign-in.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const reach = await probe();
if (!reach.ok && PG_REQUIRED) throw new Error(reach.reason);

for (const store of ["lowdb", "PostgreSQL"] as const) {
  const skip = store === "PostgreSQL" && !reach.ok ? reach.reason : undefined;
  (skip ? describe.skip : describe)(`text PostgreSQL cannot hold, on ${store}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    let t: TestService;
    let db: TestDatabase | undefined;
    beforeAll(async () => {
      const users = [{ user: "alice", passwordHash: await hashPassword("alice-password-1", { ln: 12, r: 8, p: 1 }) }];
      db = store === "PostgreSQL" ? await createTestDatabase("authflow_unstorable") : undefined;
      t = await startTestService({ UI_USERS: JSON.stringify(users), ...(db ? { DATABASE_URL: db.url, ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") } : {}) });
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    /** A refusal: 400, a problem document, its detail matching. */
    const refused = (answer: { status: number; type: string; json: any; text: string }, detail: RegExp) => {
      expect(answer.status, answer.text).toBe(400);
      expect(answer.type).toContain("application/problem+json");
      expect(answer.json.detail).toMatch(detail);
    };

    it("refuses half a character in a user or an integration's field, and U+0000 in an integration's name, with a 400 naming the field and the character; an emoji is taken", async () => {
      // Sent as written: JSON.stringify would not write a lone surrogate.
      refused(await t.api("POST", "/api/flows", '{"legalEntity":"999999999","user":"\\ud800x"}'), /^"user" contains half of a character \(U\+D800 at position 1, a UTF-16 surrogate without its pair/);
      refused(await t.api("POST", "/api/flows", '{"legalEntity":"999999999","integration":"acme\\u0000"}'), /^"integration" contains a control or invisible character \(U\+0000 at position 5\)/);
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id as string;
      refused(await t.api("POST", `/api/flows/${id}/events`, '{"type":"AUTHORIZE","user":"\\udc00y"}'), /^"user" contains half of a character \(U\+DC00 at position 1/);
      const issuer = t.service.simulator!.issuer;
      const integration = { name: "acme", idporten: { issuer, clientId: "ab\ud800", clientSecret: "acme-secret-0123456789", redirectUri: `${t.url}/callback` }, altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl } };
      refused(await t.api("POST", "/api/integrations", integration), /^Client id \(idporten\.clientId\) contains half of a character \(U\+D800 at position 3/);
      expect((await t.api("GET", "/api/integrations/acme")).status).toBe(404);

      // An emoji is a proper pair: taken, and the flow serves on.
      const started = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "al😀ce" });
      expect(started.status, started.text).toBe(200);
      expect(started.json.pendingUser).toBe("al😀ce");
      expect((await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "bob" })).status).toBe(200);
      const named = await t.api("POST", "/api/integrations", { ...integration, idporten: { ...integration.idporten, clientId: "acme-😀" } });
      expect(named.status, named.text).toBe(201);
      expect(named.json.idporten.clientId).toBe("acme-😀");
    });

    it("a provider's error_description with U+0000 and half a character is written and shown, and the flow goes on", async () => {
      const said = "code\u0000 unknown \udc00 (correlation id: 5c7e1f0a)";
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id as string;
      const started = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      expect(started.status, started.text).toBe(200);
      await t.control("POST", "/faults", { endpoint: "token", status: 400, body: { error: "invalid_grant", error_description: said } });
      await t.login(started.json.authorizationUrl);
      let view: any;
      for (const end = Date.now() + 10_000; !view?.lastError && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) view = (await t.api("GET", `/api/flows/${id}`)).json;
      // The view is the flow's own (in memory, and in its sealed snapshot: untouched); the row PostgreSQL holds has U+FFFD for each.
      expect(view.lastError).toMatchObject({ error: "invalid_grant", error_description: said });
      if (db) {
        const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
        const [row] = await sql`SELECT summary -> 'lastError' ->> 'error_description' AS said FROM flows WHERE id = ${id}`.finally(() => sql.end({ timeout: 1 }));
        expect(row!.said).toBe("code\uFFFD unknown \uFFFD (correlation id: 5c7e1f0a)");
      }
      expect((await t.api("GET", `/api/flows/${id}/audit`)).status).toBe(200);
      // Written: the next change is taken at once (before: 503 until a restart).
      const again = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
      expect(again.status, again.text).toBe(200);
      await t.restart();
      expect((await t.api("GET", `/api/flows/${id}`)).json.pendingUser).toBe("alice");
    }, 30_000);

    it("a typed user name with U+0000, or cut in the middle of an emoji, is a refused sign-in, not an error; a list filter with U+0000 is a 400", async () => {
      expect((await signInWithPassword(t.url, "alice\u0000", "wrong")).status).toBe(401);
      // The page keeps the first 128 UTF-16 units of a user name: here half of the last emoji.
      expect((await signInWithPassword(t.url, `a${"😀".repeat(64)}`, "wrong")).status).toBe(401);
      expect((await signInWithPassword(t.url, "alice", "alice-password-1")).status).toBe(303);
      const listed = await t.api("GET", "/api/flows?legalEntity=%00");
      expect(listed.status, listed.text).toBe(400);
      expect(listed.json.detail).toBe('"legalEntity" must be a Norwegian organisation number: 9 digits with a valid MOD11 check digit (got "\\u0000").');
    });
  });
}
