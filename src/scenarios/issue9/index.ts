// The scenarios of issue 9 ("What a real VAT client needs from ID-porten and Altinn"), one or more
// per point, in the issue's order. catalog.ts appends them to the catalog.
import type { Scenario } from "../scenario.ts";
import { BINDING_SCENARIOS } from "./browser-binding.ts";
import { PERSON_SCENARIOS } from "./person.ts";
import { REVOCATION_SCENARIOS } from "./revocation.ts";
import { SETUP_SCENARIOS } from "./setup.ts";
import { TOKEN_SCENARIOS } from "./tokens.ts";

const byName = (names: string[], from: Scenario[]) =>
  names.map((name) => {
    const found = from.find((s) => s.name === name);
    if (!found) throw new Error(`no scenario ${name}`);
    return found;
  });

const ALL = [...TOKEN_SCENARIOS, ...PERSON_SCENARIOS, ...BINDING_SCENARIOS, ...REVOCATION_SCENARIOS, ...SETUP_SCENARIOS];

export const ISSUE_9_SCENARIOS: Scenario[] = byName(
  [
    // 1 scopes, 2 both tokens
    "vat-scopes",
    "scope-not-registered",
    "both-tokens",
    // 3 the right person
    "prompt-login-beats-sso",
    "acr-too-low",
    "login-audit-names-person",
    // 4 bound to the browser
    "callback-other-browser",
    "forged-error-callback",
    "login-link-once",
    // 5 the callback page
    "callback-reload",
    "callback-altinn-failed",
    "callback-page-nb",
    // 6 revocation
    "revoke-ends-grant",
    "revocation-retried",
    "replaced-grant-revoked",
    // 7 private_key_jwt, 8 transport
    "private-key-jwt",
    "altinn-url-must-be-https",
    // 9 simulator fidelity
    "pairwise-sub",
    "person-unknown-to-altinn",
    "simulator-control-json-only",
    // 10 manual mode
    "manual-mode-altinn-waits",
    // 11 from the simulator to TT02
    "real-issuer-every-variable",
    "dress-rehearsal-external",
  ],
  ALL,
);
if (ISSUE_9_SCENARIOS.length !== ALL.length) throw new Error("an issue-9 scenario is not in the ordered list");
