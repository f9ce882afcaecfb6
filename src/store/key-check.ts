// Every process that opens a store must seal with the one ENCRYPTION_KEY its flows are sealed with.
// A process started with another key opens no flow, and a flow that does not open is set aside as
// damaged — with a shared store, for every instance: a review saw one GET on an instance with a
// wrong key move a healthy flow into flow_damage, after which the rightly keyed instances answered
// 410 and its keep-alive stopped; with lowdb, a lost DATA_DIR/encryption.key (a new one is then
// generated) did the same to each flow read. So the store keeps a check value — an HMAC under the
// key, which tells nothing of the key — and a process whose key does not give it refuses to start,
// before it opens any flow. A store without a check value gets this key's only once start-up has
// opened everything (service.ts calls record() last): a start that fails on the way (the embedded
// simulator's keys do not open, say) leaves the store as it was, so the right key still starts it.
import type { SecretBox } from "../crypto/secrets.ts";
import { sealBinding } from "../engine/flow-engine.ts";
import { KeyCheckUnusableError, type FlowRecord, type FlowStore } from "./flow-store.ts";

/** Start-up failure with words for a person (lifecycle/startup-failure.ts: exit 2, the setup is wrong). */
export class EncryptionKeyMismatchError extends Error {
  override name = "EncryptionKeyMismatchError";
}

/** What the check value is the MAC of: versioned, so a later scheme can tell its own. */
const CHECK_INPUT = "authflow/encryption-key-check/v1";
/** What a check value looks like: an HMAC-SHA-256 in base64url. */
const CHECK_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** A store from before the check: how many of its flows (or, with none, its sealed credentials) are tried before the key is taken for wrong. */
const TRIED = 5;

export interface KeyCheckPlace {
  /** The store, for the message ("DATA_DIR /srv/data", "PostgreSQL (DATABASE_URL)"). */
  where: string;
  /** Where its check value is kept (DATA_DIR/key-check's path, or store_facts' row). */
  checkAt: string;
  /** Where the key came from ("ENCRYPTION_KEY", or DATA_DIR/encryption.key's path). */
  keySource: string;
  /** The key file this start generated (DATA_DIR/encryption.key was missing), if it did. */
  generated?: string;
}

/** A value sealed with the store's key, and the additional data it was sealed with: one more witness of the key. */
export interface SealedSample {
  sealed: string;
  /** undefined: sealed with no additional data. */
  binding: string | undefined;
}

export interface KeyCheck {
  /**
   * Records this key's check value if the store has none yet — called once start-up has opened
   * everything. A store with no flows must first open one of `samples` (its sealed integration
   * credentials), if it has any. Refuses as the check does.
   */
  record(samples?: () => Promise<SealedSample[]>): Promise<void>;
}

/**
 * Refuses (EncryptionKeyMismatchError) unless `box`'s key is the store's: the recorded check value,
 * or — for a store from before the check — one of its first flows that opens with the key (a
 * damaged flow or two do not make the key wrong). Records nothing: see KeyCheck.record.
 */
export async function checkEncryptionKey(store: Pick<FlowStore, "readKeyCheck" | "recordKeyCheck" | "list" | "get">, box: SecretBox, place: KeyCheckPlace): Promise<KeyCheck> {
  const expected = await box.mac(CHECK_INPUT);
  const recorded = await store.readKeyCheck();
  if (recorded !== undefined) {
    compare(recorded, expected, place);
    return { record: async () => {} };
  }
  const { items } = await store.list({ limit: TRIED });
  if (items.length > 0 && !(await opensOne(items.map((row) => () => store.get(row.id).then((record) => record && flowSamples(record))), box))) {
    throw mismatch(place, `it opens none of the store's first ${items.length} flow(s)`);
  }
  return {
    record: async (samples) => {
      const sealed = items.length === 0 && samples ? (await samples()).slice(0, TRIED) : [];
      if (sealed.length > 0 && !(await opensOne(sealed.map((sample) => async () => [sample]), box))) {
        throw mismatch(place, `the store has no flows, and it opens none of its first ${sealed.length} stored integration credential(s)`);
      }
      compare(await store.recordKeyCheck(expected), expected, place); // another process may have recorded its own first
    },
  };
}

function compare(recorded: string, expected: string, place: KeyCheckPlace): void {
  if (!CHECK_VALUE.test(recorded)) {
    throw new KeyCheckUnusableError(
      `${place.checkAt} is not an encryption-key check value (${recorded === "" ? "it is empty" : "edited by hand, or written by something else"}); ` +
        "delete it, and the next start records the check value of the key it starts with — that must be the key the store's flows are sealed with",
    );
  }
  if (recorded !== expected) throw mismatch(place, "the store's check value was made with another key");
}

/**
 * A flow's snapshot opens with the key: with its binding, or without one — a flow of the first
 * release was sealed with no additional data; the engine no longer opens such a flow (README
 * "Upgrading from the first release"), but the key that sealed it is the store's all the same.
 */
const flowSamples = (record: FlowRecord): SealedSample[] => [
  { sealed: record.sealedSnapshot, binding: sealBinding(record) },
  { sealed: record.sealedSnapshot, binding: undefined },
];

async function opensOne(candidates: Array<() => Promise<SealedSample[] | undefined>>, box: SecretBox): Promise<boolean> {
  for (const candidate of candidates) {
    for (const { sealed, binding } of (await candidate()) ?? []) {
      try {
        await box.open(sealed, binding);
        return true;
      } catch {
        // damaged, or sealed with another key: the next one tells
      }
    }
  }
  return false;
}

function mismatch(place: KeyCheckPlace, why: string): EncryptionKeyMismatchError {
  const outcome = place.generated
    ? `This start generated that key just now (${place.generated} was missing): put the store's key there, or set ENCRYPTION_KEY to it`
    : "Nothing was changed";
  return new EncryptionKeyMismatchError(
    `the encryption key (${place.keySource}) is not the one the flows in ${place.where} are sealed with (${why}); ` +
      `every instance and every restart must use the same ENCRYPTION_KEY — start with the key the store was written with. ${outcome}`,
  );
}
