// The security level (acr) check: acr_values is only a wish at /authorize, so the client must
// compare what the id_token says against what it asked for (OIDC Core 3.1.2.1, 5.5.1.1).
import { UpstreamError } from "./upstream-error.ts";

/**
 * ID-porten's levels, lowest first. `idporten-loa-low` is not something ID-porten hands a VAT
 * client, but Dynamics offers "Low", so if a provider ever returns it, it must rank below
 * substantial rather than be unknown.
 */
const LEVELS = ["idporten-loa-low", "idporten-loa-substantial", "idporten-loa-high"];

/** Throws `insufficient_acr` unless `returned` is at least `expected`; no expectation, no check. */
export function checkAcr(expected: string | null | undefined, returned: string | null | undefined): void {
  if (!expected) return;
  if (returned === expected) return;
  const want = LEVELS.indexOf(expected);
  const got = returned ? LEVELS.indexOf(returned) : -1;
  // A level outside the known ladder can only be matched exactly: we cannot know how it ranks.
  if (want >= 0 && got >= want) return;
  throw new UpstreamError({
    error: "insufficient_acr",
    error_description: returned
      ? `The login was at security level ${returned}, lower than the ${expected} that was asked for.`
      : `The login carried no security level (acr); ${expected} was asked for.`,
  });
}
