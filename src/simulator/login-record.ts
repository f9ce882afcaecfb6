// What an id_token tells about the login a grant came from, beyond what oidc-provider keeps on its
// tokens (acr, amr, auth_time): the `locale` asked for (ui_locales) and the SSO session's `sid`.
// Kept per grant in the simulator's store — sealed on disk like the grant, gone with it (the entry
// carries the grantId, so revoking or expiring the grant removes it) — so a refresh issues an
// id_token that says the same.

import type { SimulatorStore } from "./adapter.ts";

/** ID-porten's languages; `locale` is the first of ui_locales it knows, else nb. */
const LOCALES = ["nb", "nn", "en", "se"];
const MODEL = "LoginRecord";

export interface LoginRecord {
  locale: string;
  sid: string | undefined;
}

export function localeFor(uiLocales: string | undefined): string {
  return uiLocales?.split(" ").find((tag) => LOCALES.includes(tag)) ?? "nb";
}

export class LoginRecords {
  readonly #store: SimulatorStore;

  constructor(store: SimulatorStore) {
    this.#store = store;
  }

  async save(grantId: string, record: LoginRecord, ttlSeconds: number): Promise<void> {
    await this.#store.adapterFor(MODEL).upsert(grantId, { grantId, ...record }, ttlSeconds);
  }

  async find(grantId: string | undefined): Promise<LoginRecord | undefined> {
    if (!grantId) return undefined;
    const payload = await this.#store.adapterFor(MODEL).find(grantId);
    return payload ? { locale: String(payload.locale), sid: payload.sid as string | undefined } : undefined;
  }
}
