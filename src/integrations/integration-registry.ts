// The integrations as the flows use them: for a name, the ID-porten and Altinn clients, the redirect
// set-up and the settings a login starts with. "default" comes from configuration (built at
// start-up); a stored one is built when first needed and cached by name and revision, so an edit
// (from this instance or another sharing the database) is picked up at the next use.
//
// It also keeps a deletion from racing a flow's creation in this process: while a flow is being
// created for an integration, that integration is not deleted, and once a deletion has begun no
// flow is created for it.
import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import { AuthflowError } from "../errors.ts";
import { createAltinnClient } from "../altinn/altinn-client.ts";
import { createIdportenClient, loadClientKey, type IdportenClient } from "../idporten/idporten-client.ts";
import { checkRedirectUrl } from "../machines/authorization-rules.ts";
import type { AltinnExchangeInput, AltinnToken, AttemptSettings, RedirectSetup } from "../machines/authorization-types.ts";
import { credentialBinding, IntegrationConflict, type IntegrationRecord, type IntegrationSettings, type IntegrationStore } from "./integration-store.ts";
import { CONFIGURED_INTEGRATION } from "./integration-types.ts";

export interface AltinnExchanger {
  exchange(input: AltinnExchangeInput): Promise<AltinnToken>;
}

/** One integration, ready for a flow: its clients, its redirect set-up and the settings a login starts with. */
export interface IntegrationRuntime {
  name: string;
  revision: number;
  idporten: IdportenClient;
  altinn: AltinnExchanger;
  redirect: RedirectSetup;
  settings: AttemptSettings;
}

/** The environment's integration, as service.ts built it. */
export interface ConfiguredIntegration {
  settings: IntegrationSettings;
  credentialSet: boolean;
  idporten: IdportenClient;
  altinn: AltinnExchanger;
}

export interface IntegrationRegistryOptions {
  configured: ConfiguredIntegration;
  store: IntegrationStore;
  box: SecretBox;
  /** This server's callback URL: what the redirect URI must equal. */
  callbackUrl: string;
  clock: Clock;
  timeoutMs: number;
  prompt?: "login";
}

/** The settings a login starts with (the machine's AttemptSettings). */
export function attemptSettingsOf(settings: IntegrationSettings): AttemptSettings {
  return {
    exchangeMode: settings.exchangeMode,
    loginTimeoutSeconds: settings.loginTimeoutSeconds,
    authorizationLifetimeSeconds: settings.authorizationLifetimeSeconds,
    ...(settings.idporten.refreshTokenLifetimeSeconds ? { keepAliveSeconds: settings.idporten.refreshTokenLifetimeSeconds } : {}),
  };
}

export class IntegrationRegistry {
  readonly #o: IntegrationRegistryOptions;
  readonly #configured: IntegrationRuntime;
  /** Stored integrations' runtimes, by name; each knows the revision it was built from. */
  readonly #cache = new Map<string, Promise<IntegrationRuntime>>();
  /** Flows being created per integration, and the integrations being deleted. */
  readonly #creating = new Map<string, number>();
  readonly #deleting = new Set<string>();
  #drained: Array<() => void> = [];

  constructor(options: IntegrationRegistryOptions) {
    this.#o = options;
    const { configured } = options;
    this.#configured = {
      name: CONFIGURED_INTEGRATION,
      revision: 0,
      idporten: configured.idporten,
      altinn: configured.altinn,
      redirect: this.redirectOf(configured.settings),
      settings: attemptSettingsOf(configured.settings),
    };
  }

  get callbackUrl(): string {
    return this.#o.callbackUrl;
  }

  redirectOf(settings: IntegrationSettings): RedirectSetup {
    return { redirectUri: settings.idporten.redirectUri, registeredRedirectUris: settings.idporten.registeredRedirectUris, callbackUrl: this.#o.callbackUrl };
  }

  /** The live redirect check shown with an integration (a warning, not a refusal). */
  redirectCheck(settings: IntegrationSettings): { ok: boolean; detail?: string } {
    const check = checkRedirectUrl(this.redirectOf(settings));
    return check.ok ? { ok: true } : { ok: false, detail: check.detail };
  }

  /** The integration named, current as of its stored revision; 422 in words for one that does not exist. */
  async runtime(name: string | undefined): Promise<IntegrationRuntime> {
    const wanted = name ?? CONFIGURED_INTEGRATION;
    if (wanted === CONFIGURED_INTEGRATION) return this.#configured;
    const revision = await this.#o.store.revisionOf(wanted);
    if (revision === undefined) {
      this.#cache.delete(wanted);
      throw unknownIntegration(wanted);
    }
    const cached = this.#cache.get(wanted);
    if (cached) {
      const runtime = await cached.catch(() => undefined);
      if (runtime && runtime.revision === revision) return runtime;
      if (this.#cache.get(wanted) === cached) this.#cache.delete(wanted);
    }
    let building = this.#cache.get(wanted);
    if (!building) {
      building = this.#build(wanted);
      this.#cache.set(wanted, building);
      building.catch(() => {
        if (this.#cache.get(wanted) === building) this.#cache.delete(wanted);
      });
    }
    return building;
  }

  /** Drops a cached runtime (after an edit or a deletion): the next use builds it from the store. */
  forget(name: string): void {
    this.#cache.delete(name);
  }

  /** Runs `create` (a flow's creation) while `name` cannot be deleted; refused if it does not exist or is being deleted. */
  async use<T>(name: string, create: () => Promise<T>): Promise<T> {
    if (this.#deleting.has(name)) throw new AuthflowError("conflict", 409, `Integration "${name}" is being deleted; no new flow is created for it.`);
    this.#creating.set(name, (this.#creating.get(name) ?? 0) + 1);
    try {
      await this.runtime(name);
      // Other instances sharing the database are kept from removing it by the store (whileKept);
      // `create` must not call the integration store itself (its pool may be the one held).
      return await this.#o.store.whileKept(name, create).catch((error) => {
        throw error instanceof IntegrationConflict ? unknownIntegration(name) : error;
      });
    } finally {
      const left = (this.#creating.get(name) ?? 1) - 1;
      if (left > 0) this.#creating.set(name, left);
      else {
        this.#creating.delete(name);
        const waiting = this.#drained;
        this.#drained = [];
        for (const wake of waiting) wake();
      }
    }
  }

  /**
   * Runs `remove` with `name` closed to new flows and no creation of one under way in this process
   * (`remove` counts the flows that use it, then deletes or refuses).
   */
  async deleting<T>(name: string, remove: () => Promise<T>): Promise<T> {
    if (this.#deleting.has(name)) throw new AuthflowError("conflict", 409, `Integration "${name}" is already being deleted.`);
    this.#deleting.add(name);
    try {
      while ((this.#creating.get(name) ?? 0) > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
      return await remove();
    } finally {
      this.#deleting.delete(name);
    }
  }

  async #build(name: string): Promise<IntegrationRuntime> {
    const record = await this.#o.store.get(name);
    if (!record) throw unknownIntegration(name);
    return this.#runtimeOf(record);
  }

  async #runtimeOf(record: IntegrationRecord): Promise<IntegrationRuntime> {
    const { settings } = record;
    let credential = "";
    if (record.sealedCredential !== null) {
      try {
        credential = await this.#o.box.open(record.sealedCredential, credentialBinding(record.name));
      } catch (error) {
        throw new AuthflowError(
          "conflict",
          409,
          `The client secret of integration "${record.name}" does not open with this server's encryption key (${(error as Error).message}). Enter it again (PUT /api/integrations/${record.name} with idporten.clientSecret).`,
          { cause: error },
        );
      }
    }
    const method = settings.idporten.clientAuth;
    const idporten = createIdportenClient(
      {
        issuer: settings.idporten.issuer,
        clientId: settings.idporten.clientId,
        clientAuth: method,
        ...(method === "private_key_jwt" ? { clientKey: await loadClientKey(credential) } : { clientSecret: credential }),
        ...(settings.idporten.clientKeyId ? { clientKeyId: settings.idporten.clientKeyId } : {}),
        ...(this.#o.prompt ? { prompt: this.#o.prompt } : {}),
        scope: settings.idporten.scope,
        redirectUri: settings.idporten.redirectUri,
        timeoutMs: this.#o.timeoutMs,
      },
      this.#o.clock,
    );
    const altinn = createAltinnClient({ exchangeUrl: settings.altinn.exchangeUrl, timeoutMs: this.#o.timeoutMs, clock: this.#o.clock });
    return { name: record.name, revision: record.revision, idporten, altinn, redirect: this.redirectOf(settings), settings: attemptSettingsOf(settings) };
  }
}

function unknownIntegration(name: string): AuthflowError {
  return new AuthflowError("unknown_integration", 422, `Unknown integration "${name.slice(0, 60)}". GET /api/integrations lists the integrations; add it there first (POST /api/integrations).`, {
    extra: { integration: name.slice(0, 60) },
  });
}
