// Synthetic test persons, as TestID / Tenor hands them out: an 11-digit national identity number
// whose month is written + 80 (so the third digit is 8 or 9), which no real person can have.

export interface TestPerson {
  pid: string;
  name: string;
}

export const TEST_PERSONS: readonly TestPerson[] = Object.freeze([
  { pid: "01817010055", name: "Lystig Bokhylle" },
  { pid: "15889211056", name: "Rask Fjellbekk" },
  { pid: "23878711025", name: "Modig Tekanne" },
  { pid: "04916511022", name: "Stille Nordlys" },
  { pid: "28828311087", name: "Flink Skrivebord" },
  { pid: "30850552068", name: "Glad Vaffel" },
]);

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/** MOD11 check digit over the leading digits; undefined when the remainder makes no valid digit. */
function checkDigit(digits: number[], weights: number[]): number | undefined {
  const sum = weights.reduce((acc, weight, i) => acc + weight * digits[i], 0);
  const remainder = sum % 11;
  if (remainder === 0) return 0;
  return remainder === 1 ? undefined : 11 - remainder;
}

/** Why a value is not a synthetic (Tenor) national identity number, or undefined when it is one. */
export function syntheticPidProblem(value: string): string | undefined {
  if (!/^\d{11}$/.test(value)) return "must be 11 digits";
  const digits = [...value].map(Number);
  const day = Number(value.slice(0, 2));
  const month = Number(value.slice(2, 4));
  if (month < 81 || month > 92) return "is not a synthetic test number (its month must be written + 80, 81–92)";
  if (day < 1 || day > 31) return "has no valid day of birth";
  if (checkDigit(digits, K1_WEIGHTS) !== digits[9] || checkDigit(digits, K2_WEIGHTS) !== digits[10]) {
    return "has wrong check digits";
  }
  return undefined;
}

export function isSyntheticPid(value: string): boolean {
  return syntheticPidProblem(value) === undefined;
}

/** A national identity number is personal data: logs show only the date-of-birth part. */
export function maskPid(pid: string): string {
  return `${pid.slice(0, 6)}*****`;
}
