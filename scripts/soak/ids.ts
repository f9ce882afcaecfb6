// Fresh synthetic identities for each run: national identity numbers (Tenor style: month + 80, valid
// MOD11 check digits) that no one has used before in this DATA_DIR, and organisation numbers.
// Fresh numbers make the secret scan meaningful: a full pid of ours anywhere in the logs or the data
// folder is a leak, not the server's start-up banner listing its six known test persons.
import { isSyntheticPid, TEST_PERSONS } from "../../src/simulator/persons.ts";
import { isOrganisationNumber } from "../../src/server/validate.ts";
import type { Random } from "./util.ts";

const K1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

function mod11(digits: number[], weights: number[]): number | undefined {
  const remainder = weights.reduce((sum, w, i) => sum + w * digits[i]!, 0) % 11;
  if (remainder === 0) return 0;
  return remainder === 1 ? undefined : 11 - remainder;
}

export function syntheticPid(random: Random, taken: Set<string>): string {
  const known = new Set(TEST_PERSONS.map((p) => p.pid));
  for (;;) {
    const head = `${String(random.int(1, 28)).padStart(2, "0")}${random.int(81, 92)}${String(random.int(0, 99)).padStart(2, "0")}${String(random.int(0, 999)).padStart(3, "0")}`;
    const digits = [...head].map(Number);
    const k1 = mod11(digits, K1);
    if (k1 === undefined) continue;
    const k2 = mod11([...digits, k1], K2);
    if (k2 === undefined) continue;
    const pid = `${head}${k1}${k2}`;
    if (!isSyntheticPid(pid) || known.has(pid) || taken.has(pid)) continue;
    taken.add(pid);
    return pid;
  }
}

export function organisationNumber(random: Random): string {
  for (;;) {
    const head = String(random.int(80_000_000, 99_999_999));
    for (let check = 0; check <= 9; check++) if (isOrganisationNumber(head + check)) return head + check;
  }
}
