// The simulated clock (SIMULATED_CLOCK=on): read it, or move it and let due deadlines fire.
import { Hono } from "hono";
import type { SimulatedClock } from "../clock.ts";
import { badRequest, notFound } from "../errors.ts";
import { jsonObject } from "./validate.ts";

export function clockRoutes(clock: SimulatedClock | null, settled: () => Promise<void>) {
  const app = new Hono();
  const simulated = () => {
    if (!clock) throw notFound("The clock is real. Start the server with SIMULATED_CLOCK=on to read or move it.");
    return clock;
  };
  app.get("/", (c) => c.json({ now: new Date(simulated().now()).toISOString() }));
  app.post("/", async (c) => {
    const clk = simulated();
    const body = await jsonObject(c);
    const seconds = body.advanceSeconds;
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0 || seconds > 10 * 365 * 86400) {
      throw badRequest(`"advanceSeconds" must be a number of seconds from 0 to ${10 * 365 * 86400} (ten years); got ${JSON.stringify(seconds ?? null)}.`);
    }
    clk.advance(seconds * 1000);
    await settled();
    return c.json({ now: new Date(clk.now()).toISOString() });
  });
  return app;
}
