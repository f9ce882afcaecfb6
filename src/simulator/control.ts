// The testers' controls (DESIGN §5): lifetimes, "expire the codes issued so far", revoking a
// person's grants, and faults. One implementation, used in-process and behind /control (JSON,
// unauthenticated — it is a simulator; bad input answers 400 naming the problem).

import { Hono } from "hono";
import type { SimulatorStore } from "./adapter.ts";
import { checkFault, type FaultQueue } from "./faults.ts";
import { SimulatorInputError } from "./input.ts";
import { checkLifetimes } from "./lifetimes.ts";
import { maskPid, syntheticPidProblem } from "./persons.ts";
import type { FaultSpec, SimulatorControl, SimulatorLifetimes } from "./types.ts";

export interface ControlSetup {
  /** The live lifetimes the provider reads; changed in place. */
  lifetimes: SimulatorLifetimes;
  faults: FaultQueue;
  store: SimulatorStore;
  log: (line: string) => void;
}

export function createControl({ lifetimes, faults, store, log }: ControlSetup): SimulatorControl {
  const control: SimulatorControl = {
    state: () => ({ lifetimes: { ...lifetimes }, faults: faults.list() }),
    setLifetimes(input) {
      Object.assign(lifetimes, checkLifetimes("lifetimes", input));
      log(`control: lifetimes now ${JSON.stringify(lifetimes)}`);
      return { ...lifetimes };
    },
    async expireCodes() {
      const expired = await store.expireAll("AuthorizationCode");
      log(`control: expired ${expired} authorization code(s)`);
      return expired;
    },
    async revoke(pid) {
      const problem = typeof pid === "string" ? syntheticPidProblem(pid) : "must be a string";
      if (problem) throw new SimulatorInputError(`pid ${problem}`);
      const revoked = await store.revokeAccount(pid);
      log(`control: revoked ${revoked} grant(s) of ${maskPid(pid)}`);
      return revoked;
    },
    addFault(input) {
      const fault = checkFault(input);
      faults.add(fault);
      log(`control: fault on ${fault.endpoint} for the next ${fault.count} call(s)`);
      return control.state();
    },
    clearFaults() {
      faults.clear();
      log("control: faults cleared");
      return control.state();
    },
  };
  return control;
}

export function controlRoutes(control: SimulatorControl): Hono {
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof SimulatorInputError) return c.json({ error: "bad_request", detail: error.message }, 400);
    throw error;
  });

  app.get("/", (c) => c.json(control.state()));
  app.put("/lifetimes", async (c) => c.json({ lifetimes: control.setLifetimes((await jsonBody(c.req.raw)) as Partial<SimulatorLifetimes>) }));
  app.post("/expire-codes", async (c) => c.json({ expired: await control.expireCodes() }));
  app.post("/revoke", async (c) => {
    const body = await jsonBody(c.req.raw);
    const pid = typeof body === "object" && body !== null ? (body as { pid?: unknown }).pid : undefined;
    if (pid === undefined) throw new SimulatorInputError('body must be {"pid": "<11-digit synthetic number>"}');
    return c.json({ revokedGrants: await control.revoke(pid as string) });
  });
  // addFault checks its input, typed or not.
  app.post("/faults", async (c) => c.json(control.addFault((await jsonBody(c.req.raw)) as FaultSpec)));
  app.delete("/faults", (c) => c.json(control.clearFaults()));
  app.all("*", (c) =>
    c.json({ error: "not_found", detail: "control routes: GET /control, PUT /control/lifetimes, POST /control/expire-codes, POST /control/revoke, POST|DELETE /control/faults" }, 404),
  );

  return app;
}

async function jsonBody(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new SimulatorInputError("body must be JSON");
  }
}
