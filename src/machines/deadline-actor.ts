// The one timer of the machine: fires `input.event` at the absolute time `input.at`.
// Invoked per state, it restarts on restore and re-arms with the remaining time; the clock chunks
// long waits, so a one-year deadline neither overflows setTimeout nor fires early.
import { fromCallback } from "xstate";
import type { Clock } from "../clock.ts";
import type { AuthorizationEvent, DeadlineInput } from "./authorization-types.ts";

export function createDeadlineActor(clock: Clock) {
  return fromCallback<AuthorizationEvent, DeadlineInput>(({ input, sendBack }) => {
    if (input.at === null) return;
    const cancel = clock.setTimer(() => sendBack({ type: input.event, at: clock.now() }), input.at - clock.now());
    return cancel;
  });
}
