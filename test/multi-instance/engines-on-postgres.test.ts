// Engines on one PostgreSQL database, at the engine's level. Claims: an instance claims only flows of
// machines it runs, so during a rolling upgrade an instance of the older release does not hold a
// newer flow's deadline that it cannot fire (found in review: it claimed it tick after tick, and the
// deadline never fired while it lived). Deletion: a flow deleted on one is gone on the others.
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

describe.skipIf(skip)("engines on one PostgreSQL", () => {
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
  it("a flow deleted on one instance is gone on another that held it: 404 there, and its watchers are told", async () => {
    const db = await database();
    const box = await createSecretBox(generateKeyBytes());
    const open = async (id: string, listening = true) => {
      const store = await PostgresFlowStore.open(db.url, { instanceId: id, log: () => undefined });
      const engine = new FlowEngine({ store, box, clock: realClock, registry: new MachineRegistry().register(waiting(1, [])), shared: true, instanceId: id, log: () => undefined });
      if (listening) await engine.start(200);
      cleanups.push(async () => (await engine.stop(), await store.close()));
      return engine;
    };
    const a = await open("a");
    const b = await open("b");
    const deaf = await open("deaf", false); // hears no notification (a LISTEN connection down): only its read of the stored revision tells
    const flow = await a.create("waiting", { at: Date.now() + 3600_000 });
    await a.settled();
    expect(String((await b.current(flow.id)).value)).toBe("waiting"); // b holds it
    expect(String((await deaf.current(flow.id)).value)).toBe("waiting");
    const told: string[] = [];
    b.onTransition((notice) => notice.deleted && told.push(`${notice.flowId} ${notice.remote ? "remote" : "local"}`));
    await a.delete(flow.id, { client: "test" });
    await expect(a.current(flow.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.current(flow.id)).rejects.toMatchObject({ status: 404 });
    await expect(deaf.current(flow.id)).rejects.toMatchObject({ status: 404 });
    for (let i = 0; i < 50 && told.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(told).toEqual([`${flow.id} remote`]);
  });
});
