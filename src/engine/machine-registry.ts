// Machines the engine can host, by name and version. A stored flow names the version it was
// created with, so a newer machine can be registered beside the old one without breaking it.
import type { AnyMachineSnapshot, AnyStateMachine } from "xstate";
import type { AuthflowError } from "../errors.ts";
import { notFound } from "../errors.ts";

export interface RegisteredMachine {
  name: string;
  version: number;
  /** The machine with its actors provided: ready to run. */
  logic: AnyStateMachine;
  /** The public state name of a snapshot (its top-level state). */
  stateName(snapshot: AnyMachineSnapshot): string;
  /** Public, secret-free facts of a snapshot: what the API and lists show. */
  summarize(snapshot: AnyMachineSnapshot): Record<string, unknown>;
  /** Summary fields shown in views of the live flow but never kept in clear in the store (capabilities such as a login link). */
  unstoredSummaryFields?: readonly string[];
  /** An outbound call is in flight: the flow stays in memory, and its call is leased to this instance. */
  busy?(snapshot: AnyMachineSnapshot): boolean;
  /** When the flow next needs to run without being asked (its earliest timer), or null: the due-time index. */
  nextDeadline?(snapshot: AnyMachineSnapshot): number | null;
  /** From when the flow needs a person, or null (ms). */
  attentionFrom?(snapshot: AnyMachineSnapshot): number | null;
  /** Extra public fields for the audit entry of a transition (e.g. the masked person who logged in). */
  auditDetail?(snapshot: AnyMachineSnapshot, event: { type: string; [key: string]: unknown }): Record<string, string | null> | undefined;
  /**
   * Whether the audit entry of `event` (taking the flow from `before` to `after`) is routine upkeep,
   * which the stores fold after a while (store/audit-fold.ts). Left out: nothing is.
   */
  routine?(event: { type: string; [key: string]: unknown }, before: AnyMachineSnapshot, after: AnyMachineSnapshot): boolean;
  /**
   * Why the flow may not be deleted as it is (it holds something live at a provider that would be
   * lost track of), as an error for the caller; null when it may. Left out: it may be, when idle.
   */
  deletable?(snapshot: AnyMachineSnapshot): AuthflowError | null;
  /** Why `event` is not accepted in `snapshot`, as an error for the person who sent it. */
  refusal(snapshot: AnyMachineSnapshot, event: { type: string; [key: string]: unknown }): AuthflowError;
}

export class MachineRegistry {
  #machines = new Map<string, RegisteredMachine>();

  register(machine: RegisteredMachine): this {
    this.#machines.set(`${machine.name}@${machine.version}`, machine);
    return this;
  }

  get(name: string, version: number): RegisteredMachine {
    const machine = this.#machines.get(`${name}@${version}`);
    if (!machine) throw notFound(`No machine "${name}" version ${version} is registered.`);
    return machine;
  }

  latest(name: string): RegisteredMachine {
    const versions = [...this.#machines.values()].filter((m) => m.name === name).sort((a, b) => b.version - a.version);
    if (!versions[0]) throw notFound(`No machine "${name}" is registered.`);
    return versions[0];
  }

  /** "name@version" of every machine this process can run (the store claims only flows it can open). */
  runs(): string[] {
    return [...this.#machines.keys()];
  }

  all(): RegisteredMachine[] {
    return [...this.#machines.values()];
  }
}
