// What a scenario is, and what it is given to play with (play.ts makes the context).
import type { Env } from "../config.ts";
import type { TestService } from "./harness.ts";

export class ScenarioFailure extends Error {}

export interface ScenarioContext {
  t: TestService;
  say(line: string): void;
  check(condition: unknown, what: string): void;
  /** A flow for 999999999 with `user` asking AUTHORIZE; returns its id and authorization URL. */
  startLogin(user?: string): Promise<{ id: string; authorizationUrl: string }>;
  /** startLogin + the ID-porten login; waits for the flow to settle. */
  authorized(user?: string): Promise<string>;
}

export interface Scenario {
  name: string;
  summary: string;
  env?: Env;
  run(s: ScenarioContext): Promise<void>;
}
