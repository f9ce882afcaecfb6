// Storage for oidc-provider's models (grants, sessions, codes, refresh tokens, interactions).
// oidc-provider's own memory adapter keeps 1,000 entries and forgets everything on restart; this
// one keeps every entry in memory until it expires and, with a directory, also one file per entry
// so a restart loses nothing — as ID-porten's grants would survive one.
//
// On disk nothing is in clear: a file is named by the SHA-256 of its key (an opaque token's id IS
// the token) and holds only the expiry and the entry sealed with the SecretBox. Each file is
// written atomically, and writes to one key happen in order.

import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex, type SecretBox } from "../crypto/secrets.ts";
import { writeFileAtomic } from "./files.ts";
import type { Adapter, AdapterPayload } from "./oidc-types.ts";

interface Entry {
  model: string;
  id: string;
  payload: AdapterPayload;
  /** Epoch milliseconds; Infinity when oidc-provider gave no lifetime. */
  expiresAt: number;
}

interface StoredFile {
  expiresAt: number | null;
  sealed: string;
}

/**
 * Entries outlive their `exp` a little so the provider can still tell "expired" from "not found"
 * (both answer invalid_grant; only the log line differs).
 */
const GRACE_MS = 60_000;

/** Every this many writes, entries past their expiry leave memory and disk. */
const SWEEP_EVERY = 100;

const epochSeconds = () => Math.floor(Date.now() / 1000);

export class SimulatorStore {
  readonly #entries = new Map<string, Entry>();
  readonly #writes = new Map<string, Promise<void>>();
  readonly #dir: string | undefined;
  readonly #box: SecretBox | undefined;
  #writesSinceSweep = 0;

  private constructor(dir: string | undefined, box: SecretBox | undefined) {
    this.#dir = dir;
    this.#box = box;
  }

  static inMemory(): SimulatorStore {
    return new SimulatorStore(undefined, undefined);
  }

  /** Opens (or creates) a store in `dir`; returns it with how many files could not be opened. */
  static async open(dir: string, box: SecretBox): Promise<{ store: SimulatorStore; unreadable: number }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new SimulatorStore(dir, box);
    let unreadable = 0;
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (name.endsWith(".tmp")) {
        await rm(path, { force: true }); // left by a crash between write and rename
        continue;
      }
      if (!name.endsWith(".json")) continue;
      try {
        const file = JSON.parse(await readFile(path, "utf8")) as StoredFile;
        const expiresAt = file.expiresAt ?? Infinity;
        if (expiresAt <= Date.now()) {
          await rm(path, { force: true });
          continue;
        }
        const { model, id, payload } = JSON.parse(await box.open(file.sealed)) as Omit<Entry, "expiresAt">;
        store.#entries.set(keyOf(model, id), { model, id, payload, expiresAt });
      } catch {
        unreadable++;
      }
    }
    return { store, unreadable };
  }

  /** The adapter oidc-provider asks for, one per model name. */
  adapterFor(model: string): Adapter {
    return {
      upsert: async (id, payload, expiresIn) => {
        const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 + GRACE_MS : Infinity;
        await this.#set({ model, id, payload, expiresAt });
      },
      find: async (id) => this.#get(model, id)?.payload,
      findByUid: async (uid) => this.#find((entry) => entry.model === model && entry.payload.uid === uid)[0]?.payload,
      findByUserCode: async (userCode) =>
        this.#find((entry) => entry.model === model && entry.payload.userCode === userCode)[0]?.payload,
      consume: async (id) => {
        const entry = this.#get(model, id);
        // The first consumption counts: a refresh token reused within the grace (reuse-grace.ts)
        // is consumed again, and its grace must not start over.
        if (!entry || entry.payload.consumed) return;
        entry.payload.consumed = epochSeconds();
        entry.payload.consumedAt = Date.now();
        await this.#set(entry);
      },
      destroy: async (id) => this.#delete(model, id),
      revokeByGrantId: async (grantId) => {
        await Promise.all(this.#find((entry) => entry.payload.grantId === grantId).map((entry) => this.#delete(entry.model, entry.id)));
      },
    };
  }

  /** Sets `exp` of every live entry of a model to now; returns how many were live. */
  async expireAll(model: string): Promise<number> {
    const now = epochSeconds();
    const live = this.#find((entry) => entry.model === model && (entry.payload.exp ?? Infinity) > now);
    await Promise.all(live.map((entry) => this.#set({ ...entry, payload: { ...entry.payload, exp: now } })));
    return live.length;
  }

  /** Deletes every grant of an account and everything issued under it; returns how many grants. */
  async revokeAccount(accountId: string): Promise<number> {
    const grants = this.#find((entry) => entry.model === "Grant" && entry.payload.accountId === accountId);
    for (const grant of grants) {
      await this.adapterFor("Grant").revokeByGrantId(grant.id);
      await this.#delete("Grant", grant.id);
    }
    return grants.length;
  }

  /** Every live entry of a model (the simulator's run-time client registrations, read at start). */
  entriesOf(model: string): Array<{ id: string; payload: AdapterPayload }> {
    return this.#find((entry) => entry.model === model && entry.expiresAt > Date.now()).map((entry) => ({ id: entry.id, payload: entry.payload }));
  }

  /** Waits for every write under way (before a close). */
  async flush(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  #get(model: string, id: string): Entry | undefined {
    const key = keyOf(model, id);
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      void this.#persist(key, undefined).catch(() => {}); // a leftover file is skipped at the next start
      return undefined;
    }
    return entry;
  }

  #find(match: (entry: Entry) => boolean): Entry[] {
    const now = Date.now();
    return [...this.#entries.values()].filter((entry) => entry.expiresAt > now && match(entry));
  }

  async #set(entry: Entry): Promise<void> {
    const key = keyOf(entry.model, entry.id);
    this.#entries.set(key, entry);
    if (++this.#writesSinceSweep >= SWEEP_EVERY) this.#sweep();
    await this.#persist(key, entry);
  }

  /** Drops expired entries nobody asked for again (finished logins, spent codes, old sessions). */
  #sweep(): void {
    this.#writesSinceSweep = 0;
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) continue;
      this.#entries.delete(key);
      void this.#persist(key, undefined).catch(() => {}); // a leftover file is skipped at the next start
    }
  }

  async #delete(model: string, id: string): Promise<void> {
    const key = keyOf(model, id);
    this.#entries.delete(key);
    await this.#persist(key, undefined);
  }

  /** Writes (or removes) the file of one key after any earlier write to it. */
  #persist(key: string, entry: Entry | undefined): Promise<void> {
    const dir = this.#dir;
    const box = this.#box;
    if (!dir || !box) return Promise.resolve();
    // Serialized now: the payload object may change (consume) before the write runs.
    const plain = entry ? JSON.stringify({ model: entry.model, id: entry.id, payload: entry.payload }) : undefined;
    const expiresAt = entry && Number.isFinite(entry.expiresAt) ? entry.expiresAt : null;
    const write = async () => {
      const path = join(dir, `${await sha256Hex(key)}.json`);
      if (plain === undefined) {
        await rm(path, { force: true });
        return;
      }
      const file: StoredFile = { expiresAt, sealed: await box.seal(plain) };
      await writeFileAtomic(path, JSON.stringify(file));
    };
    const run = (this.#writes.get(key) ?? Promise.resolve()).then(write);
    const settled = run.catch(() => {}); // a failed write must not block later writes to the key
    this.#writes.set(key, settled);
    void settled.then(() => {
      if (this.#writes.get(key) === settled) this.#writes.delete(key);
    });
    return run;
  }
}

function keyOf(model: string, id: string): string {
  return `${model}:${id}`;
}
