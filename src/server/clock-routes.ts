// The simulated clock (SIMULATED_CLOCK=on): read it, or move it and let due deadlines fire.
import { ApiApp } from "./api-app.ts";
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { SimulatedClock } from "../clock.ts";
import { notFound } from "../errors.ts";
import { validationHook } from "./validate.ts";
import { AdvanceClockBody, ClockSchema } from "./schemas/clock.ts";
import { problems } from "./schemas/problem.ts";

const bearer = [{ bearer: [] }];
const now = { description: "The simulated time.", content: { "application/json": { schema: ClockSchema } } };
const off = { description: "The clock is real (start the server with SIMULATED_CLOCK=on)." };

export function clockRoutes(clock: SimulatedClock | null, settled: () => Promise<void>) {
  const app = new ApiApp({ defaultHook: validationHook });
  const simulated = () => {
    if (!clock) throw notFound("The clock is real. Start the server with SIMULATED_CLOCK=on to read or move it.");
    return clock;
  };
  // A real clock is said first, before the body is looked at.
  const requireSimulated: MiddlewareHandler = async (_c, next) => {
    simulated();
    await next();
  };

  const read = createRoute({
    method: "get",
    path: "/",
    tags: ["Clock"],
    summary: "Simulated time (SIMULATED_CLOCK=on)",
    security: bearer,
    responses: { 200: now, ...problems(401), 404: { ...problems(404)[404], ...off } },
  });
  const advance = createRoute({
    method: "post",
    path: "/",
    tags: ["Clock"],
    summary: "Advance the simulated clock; due deadlines fire before the answer",
    security: bearer,
    middleware: [requireSimulated] as const,
    request: { body: { required: true, content: { "application/json": { schema: AdvanceClockBody } } } },
    responses: { 200: { ...now, description: "The simulated time after the move, once due deadlines have fired." }, ...problems(400, 401, 413, 415), 404: { ...problems(404)[404], ...off } },
  });

  app.openapi(read, (c) => c.json({ now: new Date(simulated().now()).toISOString() }, 200));
  app.openapi(advance, async (c) => {
    const clk = simulated();
    clk.advance(c.req.valid("json").advanceSeconds * 1000);
    await settled();
    return c.json({ now: new Date(clk.now()).toISOString() }, 200);
  });
  return app;
}
