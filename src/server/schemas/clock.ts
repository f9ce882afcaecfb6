// /api/clock (SIMULATED_CLOCK=on): read the simulated time, or move it.
import { got, Instant, z } from "./common.ts";

export const MAX_ADVANCE_SECONDS = 10 * 365 * 86400;

const advanceMessage = (value: unknown) => `"advanceSeconds" must be a number of seconds from 0 to ${MAX_ADVANCE_SECONDS} (ten years); ${got(value)}.`;

export const AdvanceClockBody = z
  .object({
    advanceSeconds: z
      .number({ error: (iss) => advanceMessage(iss.input) })
      .min(0, { error: (iss) => advanceMessage(iss.input) })
      .max(MAX_ADVANCE_SECONDS, { error: (iss) => advanceMessage(iss.input) })
      .openapi({ description: "How far to move the clock, in seconds (up to ten years).", example: 3600 }),
  })
  .openapi("AdvanceClock");

export const ClockSchema = z.object({ now: Instant.openapi({ description: "The simulated time now." }) }).openapi("Clock");
