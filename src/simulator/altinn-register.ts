// Altinn's register of persons. Altinn exchanges an ID-porten token only for a person it knows (in
// TT02: a test person registered in Altinn); anyone else logs in at ID-porten but the exchange
// answers 401 — the commonest failure in TT02. The six listed test persons are known; testers add
// and remove others. Kept (sealed) in the simulator's store, so a restart keeps the register.
//
// A known person has a user id and a party id, stable per person: derived from the pid (a hash),
// so the same test person has the same ids in every simulator, as in one Altinn environment.

import type { SimulatorStore } from "./adapter.ts";
import { TEST_PERSONS } from "./persons.ts";

const MODEL = "AltinnRegister";
const ID = "persons";

export interface AltinnPerson {
  userId: number;
  partyId: number;
}

export class AltinnRegister {
  readonly #store: SimulatorStore;
  #pids: Set<string>;

  private constructor(store: SimulatorStore, pids: Iterable<string>) {
    this.#store = store;
    this.#pids = new Set(pids);
  }

  static async open(store: SimulatorStore): Promise<AltinnRegister> {
    const kept = await store.adapterFor(MODEL).find(ID);
    const pids = Array.isArray(kept?.pids) ? (kept.pids as string[]) : TEST_PERSONS.map((person) => person.pid);
    return new AltinnRegister(store, pids);
  }

  list(): string[] {
    return [...this.#pids].sort();
  }

  async add(pid: string): Promise<string[]> {
    this.#pids.add(pid);
    await this.#save();
    return this.list();
  }

  async remove(pid: string): Promise<string[]> {
    this.#pids.delete(pid);
    await this.#save();
    return this.list();
  }

  /** The person's Altinn ids, or undefined when Altinn does not know them. */
  async lookUp(pid: string): Promise<AltinnPerson | undefined> {
    if (!this.#pids.has(pid)) return undefined;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`altinn-person:${pid}`)));
    const n = new DataView(digest.buffer).getUint32(0);
    const m = new DataView(digest.buffer).getUint32(4);
    // In the ranges TT02 hands out: user ids of 7 digits, party ids of 8 starting with 5.
    return { userId: 1_000_000 + (n % 9_000_000), partyId: 50_000_000 + (m % 10_000_000) };
  }

  async #save(): Promise<void> {
    await this.#store.adapterFor(MODEL).upsert(ID, { pids: this.list() });
  }
}
