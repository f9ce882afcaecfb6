// Faults testers put in front of the token, revocation, PAR and Altinn exchange endpoints: the next
// N calls answer a given status and body, after a delay, or lose the connection — what goes wrong
// in real life.
// They act on the raw node:http request, before oidc-provider or Hono see it.

import type { IncomingMessage, ServerResponse } from "node:http";
import { idportenErrorBody } from "./errors.ts";
import { onlyKeys, plainObject, SimulatorInputError, wholeNumber } from "./input.ts";
import type { FaultEndpoint, FaultSpec, PendingFault } from "./types.ts";

const ENDPOINTS: readonly FaultEndpoint[] = ["token", "revocation", "par", "altinn"];
const FIELDS = ["endpoint", "count", "status", "body", "delayMs", "drop"] as const;

type CheckedFault = FaultSpec & { count: number };

/** Checks a fault as testers send it (count defaults to 1). */
export function checkFault(input: unknown): CheckedFault {
  const fault = plainObject("fault", input);
  onlyKeys("fault", fault, FIELDS);
  if (!ENDPOINTS.includes(fault.endpoint as FaultEndpoint)) {
    throw new SimulatorInputError(`endpoint must be one of ${ENDPOINTS.join(", ")} (got ${JSON.stringify(fault.endpoint)})`);
  }
  const checked: CheckedFault = {
    endpoint: fault.endpoint as FaultEndpoint,
    count: fault.count === undefined ? 1 : wholeNumber("count", fault.count, 1, 1000),
  };
  if (fault.status !== undefined) checked.status = wholeNumber("status", fault.status, 200, 599);
  if (fault.delayMs !== undefined) checked.delayMs = wholeNumber("delayMs", fault.delayMs, 0, 600_000);
  if (fault.drop !== undefined) {
    if (typeof fault.drop !== "boolean") throw new SimulatorInputError("drop must be true or false");
    checked.drop = fault.drop;
  }
  if (fault.body !== undefined) {
    if (typeof fault.body !== "string" && (typeof fault.body !== "object" || fault.body === null || Array.isArray(fault.body))) {
      throw new SimulatorInputError("body must be a string or a JSON object");
    }
    if (checked.status === undefined) throw new SimulatorInputError("body needs a status to go with it");
    checked.body = fault.body as FaultSpec["body"];
  }
  if (checked.drop && checked.status !== undefined) throw new SimulatorInputError("a fault either drops the connection or answers a status, not both");
  if (!checked.drop && checked.status === undefined && checked.delayMs === undefined) {
    throw new SimulatorInputError("a fault needs a status, a delayMs or drop: true");
  }
  return checked;
}

export class FaultQueue {
  #pending: PendingFault[] = [];

  add(fault: CheckedFault): void {
    this.#pending.push({ ...fault, remaining: fault.count });
  }

  /** The fault the next call to `endpoint` gets, if any (counting the call). */
  take(endpoint: FaultEndpoint): FaultSpec | undefined {
    const fault = this.#pending.find((f) => f.endpoint === endpoint);
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining === 0) this.#pending.splice(this.#pending.indexOf(fault), 1);
    return fault;
  }

  list(): PendingFault[] {
    return this.#pending.map((fault) => ({ ...fault }));
  }

  clear(): void {
    this.#pending = [];
  }
}

/**
 * Plays a fault on a raw request. Returns true when it answered (or dropped) the call, false when
 * it only delayed it and the real endpoint should answer now.
 */
export async function applyFault(fault: FaultSpec, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (req.destroyed) return true; // the caller gave up (or the simulator closed) during the delay
  if (fault.drop) {
    req.socket.destroy();
    return true;
  }
  if (fault.status === undefined) return false;
  const body = fault.body ?? defaultBody(fault.endpoint, fault.status);
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(fault.status, {
    "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "cache-control": "no-store",
  });
  res.end(text);
  return true;
}

/** ID-porten's endpoints answer its error body (a 400 from the token endpoint is invalid_grant), the exchange a problem document. */
function defaultBody(endpoint: FaultEndpoint, status: number): Record<string, unknown> {
  if (endpoint === "altinn") return { type: "about:blank", title: "Simulated fault", status };
  if (status === 400) return { ...idportenErrorBody(endpoint === "token" ? "invalid_grant" : "invalid_request") };
  return { ...idportenErrorBody(status === 401 ? "invalid_client" : "server_error") };
}
