// The form-action list every HTML page's policy carries (src/integrations/form-targets.ts): kept for
// a few seconds, refreshed behind the pages, re-read at once after a change here, and kept (not
// emptied) while the store cannot be read.
import { expect, it } from "vitest";
import { FormTargets } from "../../src/integrations/form-targets.ts";

/** A store whose reads are answered when the test says so, counting them. */
function store() {
  const reads: Array<{ resolve: (targets: string[]) => void; reject: (error: Error) => void }> = [];
  return {
    reads,
    load: () => new Promise<string[]>((resolve, reject) => reads.push({ resolve, reject })),
  };
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

it("the first pages wait for one read; within freshMs no read; then the last list at once while one read runs behind them", async () => {
  let now = 0;
  const s = store();
  const targets = new FormTargets({ load: s.load, freshMs: 5000, now: () => now });
  const first = [targets.get(), targets.get()];
  expect(s.reads).toHaveLength(1);
  s.reads[0]!.resolve(["https://idporten.no"]);
  expect(await Promise.all(first)).toEqual([["https://idporten.no"], ["https://idporten.no"]]);

  now = 4999;
  expect(await targets.get()).toEqual(["https://idporten.no"]);
  expect(s.reads).toHaveLength(1);

  now = 5000;
  expect(await targets.get(), "the last list, not a wait").toEqual(["https://idporten.no"]);
  expect(await targets.get()).toEqual(["https://idporten.no"]);
  expect(s.reads, "one read behind the pages").toHaveLength(2);
  s.reads[1]!.resolve(["https://idporten.no", "https://test.idporten.no"]);
  await tick();
  expect(await targets.get()).toEqual(["https://idporten.no", "https://test.idporten.no"]);
  expect(s.reads).toHaveLength(2);
});

it("a store that cannot be read: the last list is kept (not emptied) and read again only after freshMs; with none read yet, none, and the next page tries", async () => {
  let now = 0;
  const s = store();
  const targets = new FormTargets({ load: s.load, freshMs: 5000, now: () => now });
  const none = targets.get();
  s.reads[0]!.reject(new Error("the database did not answer within 15 s"));
  expect(await none).toEqual([]);
  const second = targets.get();
  expect(s.reads, "nothing was read: the next page tries").toHaveLength(2);
  s.reads[1]!.resolve(["https://idporten.no"]);
  expect(await second).toEqual(["https://idporten.no"]);

  now = 6000;
  expect(await targets.get()).toEqual(["https://idporten.no"]);
  s.reads[2]!.reject(new Error("the connection was refused"));
  await tick();
  now = 7000;
  expect(await targets.get(), "kept while the store is away").toEqual(["https://idporten.no"]);
  expect(s.reads, "not read again before freshMs has passed since the failed read").toHaveLength(3);
  now = 11000;
  expect(await targets.get()).toEqual(["https://idporten.no"]);
  expect(s.reads).toHaveLength(4);
});

it("after a change here the next page waits for a new read, and a read begun before the change does not count", async () => {
  let now = 0;
  const s = store();
  const targets = new FormTargets({ load: s.load, freshMs: 5000, now: () => now });
  const first = targets.get();
  s.reads[0]!.resolve(["https://idporten.no"]);
  await first;
  now = 6000;
  expect(await targets.get()).toEqual(["https://idporten.no"]); // a read behind it begins (reads[1])
  targets.changed(); // an integration with another issuer was added
  const after = targets.get();
  expect(s.reads).toHaveLength(3);
  s.reads[2]!.resolve(["https://idporten.no", "https://test.idporten.no"]);
  expect(await after).toEqual(["https://idporten.no", "https://test.idporten.no"]);
  s.reads[1]!.resolve(["https://idporten.no"]); // the read from before the change answers late
  await tick();
  expect(await targets.get()).toEqual(["https://idporten.no", "https://test.idporten.no"]);
});

it("a list older than staleMs is not used while reading: the page waits (an instance idle for long must not show a list another instance changed long ago)", async () => {
  let now = 0;
  const s = store();
  const targets = new FormTargets({ load: s.load, freshMs: 5000, staleMs: 60_000, now: () => now });
  const first = targets.get();
  s.reads[0]!.resolve(["https://idporten.no"]);
  await first;
  now = 61_000;
  let answered = false;
  const page = targets.get().then((list) => ((answered = true), list));
  await tick();
  expect(answered, "waits for the read").toBe(false);
  s.reads[1]!.resolve(["https://idporten.no", "https://test.idporten.no"]);
  expect(await page).toEqual(["https://idporten.no", "https://test.idporten.no"]);
});

it("after a change here, a read that fails gives the last list, not none; the origins in `always` are in every list, also with nothing read", async () => {
  let now = 0;
  const s = store();
  const targets = new FormTargets({ load: s.load, always: ["https://configured.example"], freshMs: 5000, now: () => now });
  const none = targets.get();
  s.reads[0]!.reject(new Error("the connection was refused"));
  expect(await none, "nothing read yet: the configured one").toEqual(["https://configured.example"]);
  const read = targets.get();
  s.reads[1]!.resolve(["https://idporten.no"]);
  expect(await read).toEqual(["https://configured.example", "https://idporten.no"]);
  targets.changed();
  const after = targets.get();
  s.reads[2]!.reject(new Error("the database did not answer within 15 s"));
  expect(await after, "the last list, kept").toEqual(["https://configured.example", "https://idporten.no"]);
});

it("a page that must wait for the read waits at most waitMs, then has the last list (a silent database would hold it for DATABASE_TIMEOUT_SECONDS)", async () => {
  let now = 0;
  const s = store();
  const targets = new FormTargets({ load: s.load, always: ["https://configured.example"], freshMs: 5000, staleMs: 60_000, waitMs: 50, now: () => now });
  const started = performance.now();
  expect(await targets.get(), "nothing read yet, the read unanswered: the configured one").toEqual(["https://configured.example"]);
  expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  s.reads[0]!.resolve(["https://idporten.no"]);
  await tick();
  now = 61_000; // older than staleMs: a page waits for the read — which does not answer
  expect(await targets.get()).toEqual(["https://configured.example", "https://idporten.no"]);
  targets.changed();
  expect(await targets.get(), "after a change, the read unanswered").toEqual(["https://configured.example", "https://idporten.no"]);
});
