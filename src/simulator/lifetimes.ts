// The lifetimes (DESIGN §1, §5). Defaults are the Dynamics 365 registration: a one-year
// authorization, two-hour access tokens and one-time refresh tokens that live as long as the
// authorization. ID-porten's own defaults (7200 / 120 / 600) are one configuration away. The SSO
// session lives 30 minutes, the short end of ID-porten's 30–120.

import { onlyKeys, plainObject, wholeNumber } from "./input.ts";
import type { SimulatorLifetimes } from "./types.ts";

export const DEFAULT_SIMULATOR_LIFETIMES: SimulatorLifetimes = Object.freeze({
  authorizationSeconds: 31_536_000,
  accessTokenSeconds: 7_200,
  refreshTokenSeconds: 31_536_000,
  codeSeconds: 60,
  sessionSeconds: 1_800,
});

const KEYS = ["authorizationSeconds", "accessTokenSeconds", "refreshTokenSeconds", "codeSeconds", "sessionSeconds"] as const;
/** Ten years: far beyond any real registration, small enough for every timer and date involved. */
const MAX_SECONDS = 315_360_000;

/** Checks a partial set of lifetimes (from options or the control API) and returns only those given. */
export function checkLifetimes(field: string, input: unknown): Partial<SimulatorLifetimes> {
  const object = plainObject(field, input);
  onlyKeys(field, object, KEYS);
  const checked: Partial<SimulatorLifetimes> = {};
  for (const key of KEYS) {
    if (object[key] !== undefined) checked[key] = wholeNumber(`${field}.${key}`, object[key], 1, MAX_SECONDS);
  }
  return checked;
}

/** The start-up lifetimes: a refresh token left unset lives as long as the authorization. */
export function initialLifetimes(partial: Partial<SimulatorLifetimes> = {}): SimulatorLifetimes {
  const given = checkLifetimes("lifetimes", partial);
  const authorizationSeconds = given.authorizationSeconds ?? DEFAULT_SIMULATOR_LIFETIMES.authorizationSeconds;
  return {
    ...DEFAULT_SIMULATOR_LIFETIMES,
    ...given,
    refreshTokenSeconds: given.refreshTokenSeconds ?? authorizationSeconds,
  };
}
