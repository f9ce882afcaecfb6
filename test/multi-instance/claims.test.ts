// Deadlines across engines on one PostgreSQL database, at the engine's level: an instance claims only
// flows of machines it runs, so during a rolling upgrade an instance of the older release does not
// hold a newer flow's deadline that it cannot fire (found in review: it claimed it tick after tick,
// and the deadline never fired while it lived).
import { assign, createMachine, fromCallback } from "xstate";
import { describe, expect, it } from "vitest";
import { realClock } from "../../src/clock.ts";
import { createSecretBox, generateKeyBytes } from "../../src/crypto/secrets.ts";
import { FlowEngine } from "../../src/engine/flow-engine.ts";
import { MachineRegistry, type RegisteredMachine } from "../../src/engine/machine-registry.ts";
import { PostgresFlowStore } from "../../src/store/postgres/postgres-store.ts";
import { AuthflowError } from "../../src/errors.ts";
import { databasesPerTest, PG_REQUIRED, probe } from "../store/postgres-server.ts";

const reach = await probe();
const skip = !reach.ok && !PG_REQUIRED;
const { cleanups, database } = databasesPerTest(reach);

/** A machine that waits until `at`, then fires once (recorded in `fired`). */
function waiting(version: number, fired: string[]): RegisteredMachine {
  const logic = createMachine({
    id: "waiting",
    initial: "waiting",
    types: {} as { context: { at: number }; input: { at: number } },
    context: ({ input }) => ({ at: input.at }),
    states: {
      waiting: {
        invoke: {
          src: fromCallback<{ type: string }, { at: number }>(({ input, sendBack }) => {
            const timer = setTimeout(() => sendBack({ type: "FIRE" }), Math.max(0, input.at - Date.now()));
            return () => clearTimeout(timer);
          }),
          input: ({ context }) => ({ at: context.at }),
        },
        on: { FIRE: { target: "fired", actions: assign({ at: () => 0 }) } },
      },
      fired: { entry: () => fired.push(`v${version}`) },
    },
  });
  return {
    name: "waiting",
    version,
    logic,
    stateName: (s) => String(s.value),
    summarize: (s) => ({ state: String(s.value) }),
    refusal: () => new AuthflowError("event_not_accepted", 409, "no"),
    nextDeadline: (s) => (s.value === "waiting" ? (s.context as { at: number }).at : null),
  };
}

describe.skipIf(skip)("claims across engines on PostgreSQL", () => {
  it("an instance of an older release leaves a newer flow's deadline to one that runs it: it fires, once", async () => {
    const db = await database();
    const fired: string[] = [];
    const box = await createSecretBox(generateKeyBytes());
    const lines: string[] = [];
    const open = async (id: string, versions: number[]) => {
      const store = await PostgresFlowStore.open(db.url, { instanceId: id, log: (l) => lines.push(`${id} ${l}`) });
      const registry = new MachineRegistry();
      for (const v of versions) registry.register(waiting(v, fired));
      const engine = new FlowEngine({ store, box, clock: realClock, registry, shared: true, instanceId: id, horizonMs: 1000, idleMs: 100, log: (l) => lines.push(`${id} ${l}`) });
      cleanups.push(async () => (await engine.stop(), await store.close()));
      return engine;
    };
    const newer = await open("newer", [1, 2]);
    const older = await open("older", [1]);
    const flow = await newer.create("waiting", { at: Date.now() + 1500 });
    await newer.settled();
    await new Promise((r) => setTimeout(r, 150));
    await newer.tick(); // idle and not due within its horizon yet: dropped from memory
    expect(newer.resident).toBe(0);
    // Both tick each 200 ms, the older one first each time.
    const until = Date.now() + 6000;
    while (Date.now() < until && fired.length === 0) {
      await older.tick();
      await newer.tick();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(fired).toEqual(["v2"]);
    expect(older.resident).toBe(0);
    await newer.settled();
    expect(String((await newer.current(flow.id)).value)).toBe("fired");
  }, 20_000);
});
