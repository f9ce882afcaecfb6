// The fold of a flow's routine audit entries (src/store/audit-fold.ts), alone; the stores' use of it
// is in the store contract (flow-store.contract.test.ts), the machine's marking in
// test/scenarios/audit-upkeep.test.ts.
import { describe, expect, it } from "vitest";
import { FOLDED_EVENT, foldTrail, planFold } from "../../src/store/audit-fold.ts";
import type { AuditEntry } from "../../src/store/flow-store.ts";

const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString();
const routine = (n: number): AuditEntry => ({ flowId: "f", at: at(n), from: "altinnAuthorized", to: "altinnAuthorized", event: "KEEP_ALIVE", user: null, routine: true });
const person = (n: number): AuditEntry => ({ flowId: "f", at: at(n), from: "altinnAuthorized", to: "altinnAuthorized", event: "RENEW", user: "alice", client: "page" });

describe("folding routine audit entries", () => {
  it("leaves a trail alone while it has no more than the kept routine entries and one", () => {
    expect(foldTrail([person(0), routine(1), routine(2), routine(3)], 2)).toBeNull();
    expect(foldTrail([person(0), person(1)], 0)).toBeNull();
    expect(planFold([routine(1), routine(2), routine(3)], 2)).toBeNull();
  });

  it("folds all but the newest `keep` routine entries into one where the newest folded one was; the rest stays in order", () => {
    const trail = [routine(1), person(2), routine(3), routine(4), person(5), routine(6), routine(7)];
    expect(foldTrail(trail, 2)).toEqual([
      person(2),
      { flowId: "f", at: at(4), from: "altinnAuthorized", to: "altinnAuthorized", event: FOLDED_EVENT, user: null, routine: true, folded: { entries: 3, first: at(1), last: at(4) } },
      person(5),
      routine(6),
      routine(7),
    ]);
  });

  it("a later fold counts what an earlier one stood for: every routine entry is counted once, whatever the number of folds", () => {
    let trail: AuditEntry[] = [];
    for (let n = 0; n < 200; n++) {
      trail.push(n % 25 === 0 ? person(n) : routine(n));
      if (n % 7 === 0) trail = foldTrail(trail, 5) ?? trail;
    }
    const folded = trail.filter((e) => e.folded);
    expect(folded).toHaveLength(1);
    const oneByOne = trail.filter((e) => e.routine && !e.folded);
    expect(folded[0]!.folded!.entries + oneByOne.length).toBe(200 - 8);
    expect(folded[0]!.folded!.first).toBe(at(1));
    expect(trail.filter((e) => !e.routine)).toEqual(Array.from({ length: 8 }, (_, k) => person(k * 25)));
  });
});
