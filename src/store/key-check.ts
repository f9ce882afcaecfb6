// Every process that opens a store must seal with the one ENCRYPTION_KEY its flows are sealed with.
// A process started with another key opens no flow, and a flow that does not open is set aside as
// damaged — with a shared store, for every instance: a review saw one GET on an instance with a
// wrong key move a healthy flow into flow_damage, after which the rightly keyed instances answered
// 410 and its keep-alive stopped; with lowdb, a lost DATA_DIR/encryption.key (a new one is then
// generated) did the same to each flow read. So the store keeps a check value — an HMAC under the
// key, which tells nothing of the key — and a process whose key does not give it refuses to start,
// before it opens any flow.
import type { SecretBox } from "../crypto/secrets.ts";
import { sealBinding } from "../engine/flow-engine.ts";
import type { FlowStore } from "./flow-store.ts";

/** Start-up failure with words for a person (lifecycle/startup-failure.ts: exit 2, the setup is wrong). */
export class EncryptionKeyMismatchError extends Error {
  override name = "EncryptionKeyMismatchError";
}

/** What the check value is the MAC of: versioned, so a later scheme can tell its own. */
const CHECK_INPUT = "authflow/encryption-key-check/v1";
/** A store from before the check: how many of its flows are tried before the key is taken for wrong. */
const FLOWS_TRIED = 5;

/**
 * Refuses (EncryptionKeyMismatchError) unless `box`'s key is the store's. A store with no check yet
 * records this key's — a store that holds flows only once the key opens one of them (a store from
 * before the check; a damaged flow or two do not make the key wrong). `where` names the store and
 * `keySource` where the key came from, for the message.
 */
export async function checkEncryptionKey(store: Pick<FlowStore, "readKeyCheck" | "recordKeyCheck" | "list" | "get">, box: SecretBox, where: string, keySource: string): Promise<void> {
  const expected = await box.mac(CHECK_INPUT);
  let recorded = await store.readKeyCheck();
  if (recorded === undefined) {
    const { items } = await store.list({ limit: FLOWS_TRIED });
    if (items.length > 0 && !(await opensOne(store, box, items.map((row) => row.id)))) {
      throw mismatch(where, keySource, `it opens none of the store's first ${items.length} flow(s)`);
    }
    recorded = await store.recordKeyCheck(expected); // another process may have recorded its own first
  }
  if (recorded !== expected) throw mismatch(where, keySource, "the store's check value was made with another key");
}

async function opensOne(store: Pick<FlowStore, "get">, box: SecretBox, ids: string[]): Promise<boolean> {
  for (const id of ids) {
    const record = await store.get(id);
    if (!record) continue;
    try {
      await box.open(record.sealedSnapshot, sealBinding(record));
      return true;
    } catch {
      // damaged, or sealed with another key: the next one tells
    }
  }
  return false;
}

function mismatch(where: string, keySource: string, why: string): EncryptionKeyMismatchError {
  return new EncryptionKeyMismatchError(
    `the encryption key (${keySource}) is not the one the flows in ${where} are sealed with (${why}); ` +
      "every instance and every restart must use the same ENCRYPTION_KEY — start with the key the store was written with. Nothing was changed",
  );
}
