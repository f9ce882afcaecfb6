// Checks on what testers hand the simulator (the control API, in-process or over HTTP, and the
// start options). A failed check names the field and what is wrong; HTTP answers it with a 400.

export class SimulatorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimulatorInputError";
  }
}

export function wholeNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SimulatorInputError(`${field} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return value;
}

export function plainObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SimulatorInputError(`${field} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function onlyKeys(field: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new SimulatorInputError(`${field} has unknown field(s) ${unknown.join(", ")}; allowed: ${allowed.join(", ")}`);
  }
}
