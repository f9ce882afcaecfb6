// With more flows than the page shows (2,000), the page shows the newest — the one a person just
// created among them — and says the older ones are in the API; the API lists newest first on asking.
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { signInWithPassword } from "../support/page-sign-in.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

let t: TestService;
beforeAll(async () => {
  const users = [{ user: "alice", passwordHash: await hashPassword("alice-password-1", { ln: 10, r: 8, p: 1 }) }];
  t = await startTestService({ UI_USERS: JSON.stringify(users) });
}, 60_000);
afterAll(async () => t?.close());

it("shows the newest 2,000 of 2,010 authorizations, the newest first, and the API lists newest first with order=newest", async () => {
  // Made in batches of 16 at a time, each batch after the one before (a later millisecond), so which
  // batch is newer is well defined (within one, creation times may tie or come in any order).
  const batches: string[][] = [];
  for (let made = 0; made < 2_010; ) {
    const answers = await Promise.all(Array.from({ length: Math.min(16, 2_010 - made) }, () => t.api("POST", "/api/flows", { legalEntity: "999999999" })));
    for (const answer of answers) expect(answer.status).toBe(201);
    batches.push(answers.map((answer) => answer.json.id as string));
    made += answers.length;
    await new Promise((r) => setTimeout(r, 2));
  }
  const [oldest, newest, before] = [batches[0]!, batches.at(-1)!, batches.at(-2)!];
  expect(newest).toHaveLength(10);
  const { session } = await signInWithPassword(t.url, "alice", "alice-password-1");
  const home = await (await fetch(`${t.url}/`, { headers: { cookie: session!, "accept-language": "en" } })).text();
  const shown = [...home.matchAll(/data-flow="([^"]+)"/g)].map((m) => m[1]!);
  expect(new Set(shown).size).toBe(2_000);
  expect(new Set(shown.slice(0, 10))).toEqual(new Set(newest)); // the newest first, the ones just made among them
  expect(new Set(shown.slice(10, 26))).toEqual(new Set(before));
  // Left out: ten of the first batch (the oldest ten); every later batch is shown.
  expect(oldest.filter((id) => !shown.includes(id))).toHaveLength(10);
  for (const id of batches.slice(1).flat()) expect(shown).toContain(id);
  expect(home).toContain("Showing the newest 2000 authorizations");
  // The API: order=newest, page by page.
  const first = await t.api("GET", "/api/flows?order=newest&limit=10");
  expect(new Set(first.json.flows.map((f: { id: string }) => f.id))).toEqual(new Set(newest));
  const second = await t.api("GET", `/api/flows?order=newest&limit=16&cursor=${first.json.next}`);
  expect(new Set(second.json.flows.map((f: { id: string }) => f.id))).toEqual(new Set(before));
  const oldestFirst = await t.api("GET", "/api/flows?limit=16");
  expect(new Set(oldestFirst.json.flows.map((f: { id: string }) => f.id))).toEqual(new Set(oldest));
}, 120_000);
