// ID-porten's security levels (acr) and which is higher. `idporten-loa-substantial` is the default
// when a client asks for none.

export const ACR_SUBSTANTIAL = "idporten-loa-substantial";
export const ACR_HIGH = "idporten-loa-high";
export const ACR_VALUES = [ACR_SUBSTANTIAL, ACR_HIGH] as const;

const LEVELS: Record<string, number> = { [ACR_SUBSTANTIAL]: 3, [ACR_HIGH]: 4 };

/** The first level asked for (acr_values) that ID-porten knows; substantial when none is asked for. */
export function askedAcr(acrValues: string | undefined): string {
  return acrValues?.split(" ").find((value) => Object.hasOwn(LEVELS, value)) ?? ACR_SUBSTANTIAL;
}

/** 3 for substantial, 4 for high, 0 for anything else (no level). */
export function acrLevel(acr: string | undefined): number {
  return (acr && LEVELS[acr]) || 0;
}

/** `substantial` / `high` (a login_hint suffix) or a full acr value → the acr value; undefined otherwise. */
export function acrFromName(name: string): string | undefined {
  if (name === "substantial" || name === ACR_SUBSTANTIAL) return ACR_SUBSTANTIAL;
  if (name === "high" || name === ACR_HIGH) return ACR_HIGH;
  return undefined;
}
