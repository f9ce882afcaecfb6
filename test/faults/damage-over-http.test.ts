// Issue 8, points 2 and 7, as a client sees them: a torn flow document, a stray file, and a sealed
// snapshot copied into another flow's document are set aside at start-up with one log line each;
// the other flows serve; the damaged flow's id answers 410 problem+json naming where its file went
// under DATA_DIR/damaged/ — on every route, never a 500.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { startTestService, type TestService } from "../support/test-service.ts";
import { authorizedFlow, LEGAL_ENTITY, reopen } from "../support/fault-helpers.ts";

let t: TestService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  t = dir = undefined;
});

/** Every route that names a flow answers 410 problem+json naming the damaged/ path. */
async function expectDamagedAnswers(t: TestService, id: string) {
  const answers = [
    await t.api("GET", `/api/flows/${id}`),
    await t.api("GET", `/api/flows/${id}/audit`),
    await t.api("POST", `/api/flows/${id}/events`, { type: "RENEW", user: "alice" }),
    await t.api("POST", `/api/flows/${id}/token`, { user: "alice" }),
  ];
  for (const answer of answers) {
    expect(answer.status, answer.text).toBe(410);
    expect(answer.type).toContain("application/problem+json");
    expect(answer.json.detail).toMatch(/damaged/);
    expect(answer.json.detail).toContain(join(dir!, "damaged"));
  }
  const stream = await fetch(`${t.url}/api/flows/${id}/stream`, { headers: { authorization: `Bearer ${(await import("../support/test-service.ts")).API_TOKEN}` } });
  expect(stream.status).not.toBe(500);
  await stream.body?.cancel();
}

it("a torn flow document and a stray file: one line each, the other flows serve, the damaged id answers 410 naming damaged/", async () => {
  dir = await mkdtemp(join(tmpdir(), "authflow-damage-"));
  t = await startTestService({}, dir);
  const good = await authorizedFlow(t);
  const torn = crypto.randomUUID();
  t = await reopen(t, {}, async () => {
    // What a power cut without fsync leaves, and a file the store never writes.
    await writeFile(join(dir!, "flows", `${torn}.json`), '{"id":"' + torn + '","machine":"authoriz');
    await writeFile(join(dir!, "flows", "notes.txt"), "someone's notes\n");
  });

  const tornLines = t.lines.filter((l) => l.includes(`${torn}.json`));
  const strayLines = t.lines.filter((l) => l.includes("notes.txt"));
  expect(tornLines, t.lines.join("\n")).toHaveLength(1);
  expect(strayLines, t.lines.join("\n")).toHaveLength(1);
  expect(tornLines[0]).toMatch(/damaged/);
  expect(tornLines[0]).toContain(join(dir, "damaged"));
  expect(await readdir(join(dir, "flows"))).toEqual([`${good.id}.json`]);
  expect((await readdir(join(dir, "damaged"))).some((n) => n.startsWith(`${torn}.json`))).toBe(true);

  expect((await t.api("GET", `/api/flows/${good.id}`)).json.state).toBe("altinnAuthorized");
  expect((await t.api("POST", `/api/flows/${good.id}/token`, { user: "alice" })).status).toBe(200);
  expect((await t.api("GET", "/api/flows")).status).toBe(200);
  await expectDamagedAnswers(t, torn);
  expect((await t.api("GET", "/readyz", undefined, null)).status).toBe(200);
}, 30_000);

it("a sealed snapshot copied from flow A into flow B's document: B answers 410, A serves", async () => {
  dir = await mkdtemp(join(tmpdir(), "authflow-damage-"));
  t = await startTestService({}, dir);
  const a = await authorizedFlow(t);
  const b = (await t.api("POST", "/api/flows", { legalEntity: LEGAL_ENTITY })).json.id as string;
  t = await reopen(t, {}, async () => {
    const docA = JSON.parse(await readFile(join(dir!, "flows", `${a.id}.json`), "utf8"));
    const pathB = join(dir!, "flows", `${b}.json`);
    const docB = JSON.parse(await readFile(pathB, "utf8"));
    // B's own id, revision and summary, A's sealed tokens: B would serve A's authorization.
    await writeFile(pathB, JSON.stringify({ ...docB, sealedSnapshot: docA.sealedSnapshot, summary: docA.summary }));
  });

  // Flows are opened when first needed (issue 7), so the damage is found at start-up or at B's first
  // use (lists read the stored summaries until then: a known limit, see flow-engine.ts get()).
  await expectDamagedAnswers(t, b);
  const lines = t.lines.filter((l) => l.includes(b) && /damaged/.test(l));
  expect(lines, t.lines.join("\n")).toHaveLength(1);
  expect(lines[0]).toContain(join(dir, "damaged"));
  expect((await t.api("GET", `/api/flows/${a.id}`)).json.state).toBe("altinnAuthorized");
  const token = await t.api("POST", `/api/flows/${a.id}/token`, { user: "alice" });
  expect(token.status).toBe(200);
  const list = (await t.api("GET", "/api/flows")).json;
  expect(list.flows.map((f: { id: string }) => f.id)).toEqual([a.id]);
}, 30_000);
