// What the page and /api/integrations call (IntegrationService): list, read, add, edit, delete an
// integration, and its audit trail. Checks who may change integrations, validates with the shared
// zod schemas, seals the client secret (bound to the integration's name), refuses a stale edit
// (409), keeps "default" read-only (it is set by environment variables), refuses to delete an
// integration flows still use, and writes every change to the audit trail (field names only).
import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import { AuthflowError } from "../errors.ts";
import type { Caller } from "../identity/caller.ts";
import { loadClientKey } from "../idporten/idporten-client.ts";
import type { IntegrationRegistry } from "./integration-registry.ts";
import { credentialBinding, IntegrationConflict, type IntegrationRecord, type IntegrationSettings, type IntegrationStore } from "./integration-store.ts";
import {
  CONFIGURATION_VARIABLES,
  CONFIGURED_INTEGRATION,
  DEFAULT_SCOPE,
  describeIssues,
  fieldLabel,
  fieldProblems,
  integrationCreateSchema,
  integrationNameSchema,
  integrationUpdateSchema,
  LIMITS,
  type IntegrationAuditEntry,
  type IntegrationCreateInput,
  type IntegrationService,
  type IntegrationUpdateInput,
  type IntegrationView,
} from "./integration-types.ts";

export interface IntegrationServiceOptions {
  store: IntegrationStore;
  registry: IntegrationRegistry;
  box: SecretBox;
  clock: Clock;
  /** The environment's integration ("default"): its settings and whether a secret/key is configured. */
  configured: { settings: IntegrationSettings; credentialSet: boolean };
  /** How many flows use the integration (all of them, not a page). */
  flowsUsing(name: string): Promise<number>;
  /**
   * How many of them hold something from the integration's issuer and client: an authorization
   * (idportenAuthorized, altinnAuthorized), a login in progress, or tokens still to revoke. Without
   * it, every flow using the integration is counted.
   */
  flowsHolding?(name: string): Promise<number>;
  /** After a change (an add, an edit, a delete: the fields it changed): e.g. flows whose secret was refused try again with the new one. */
  changed?(name: string, fields: string[]): void;
  log?(line: string): void;
}

/**
 * Who may change integrations: an integration's secret and every flow's tokens go wherever its
 * issuer and exchange URL say, so only an API client that may act for everyone (as API_TOKEN's) or a
 * person named in INTEGRATION_ADMINS (the embedded demo's user is one).
 */
export function checkMayChangeIntegrations(caller: Caller): void {
  if (caller.mayChangeIntegrations) return;
  const detail =
    caller.kind === "person"
      ? `You may read the integrations but not change them: that is for the people named in INTEGRATION_ADMINS.`
      : `API client "${caller.client}" may read integrations but not change them: that needs a client whose reach is every legal entity and every user ("*" for both, as API_TOKEN's), or a person named in INTEGRATION_ADMINS.`;
  throw new AuthflowError("forbidden_user", 403, detail, { extra: { client: caller.client } });
}

/** A refused input: one sentence per field in `detail`, and each in `errors` (as the API's other validation problems). */
export function invalidInput(issues: Parameters<typeof describeIssues>[0]): AuthflowError {
  const errors = fieldProblems(issues).map((p) => ({ in: "body", field: p.field, detail: p.message }));
  return new AuthflowError("bad_request", 400, describeIssues(issues), { extra: { errors } });
}
const invalid = invalidInput;

function fieldError(field: string, message: string): AuthflowError {
  return new AuthflowError("bad_request", 400, message, { extra: { errors: [{ in: "body", field, detail: message }] } });
}

/** Every leaf field of the settings, dotted ("idporten.scope"), with its value as JSON. */
function flatten(value: unknown, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) for (const [k, v] of flatten(inner, prefix ? `${prefix}.${key}` : key)) out.set(k, v);
  } else {
    out.set(prefix, JSON.stringify(value ?? null));
  }
  return out;
}

function changedFields(before: IntegrationSettings | null, after: IntegrationSettings | null): string[] {
  const a = before ? flatten(before) : new Map<string, string>();
  const b = after ? flatten(after) : new Map<string, string>();
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

export class StoredIntegrationService implements IntegrationService {
  readonly #o: IntegrationServiceOptions;
  /** Changes to one integration are made one at a time in this process (the store's revision check covers other instances). */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: IntegrationServiceOptions) {
    this.#o = options;
  }

  async list(): Promise<IntegrationView[]> {
    const stored = await this.#o.store.list();
    return [this.#configuredView(), ...stored.filter((r) => r.name !== CONFIGURED_INTEGRATION).map((r) => this.#view(r))];
  }

  async get(name: string): Promise<IntegrationView> {
    if (name === CONFIGURED_INTEGRATION) return this.#configuredView();
    return this.#view(await this.#existing(name));
  }

  async create(input: IntegrationCreateInput, by: Caller): Promise<IntegrationView> {
    checkMayChangeIntegrations(by);
    const parsed = integrationCreateSchema.safeParse(input);
    if (!parsed.success) throw invalid(parsed.error.issues);
    const { name } = parsed.data;
    if (name === CONFIGURED_INTEGRATION) throw this.#configuredRefusal("add");
    return this.#serial(name, async () => {
      if (await this.#o.store.get(name)) {
        throw new AuthflowError("conflict", 409, `An integration named "${name}" exists already. Edit it (PUT /api/integrations/${name}) or choose another name.`);
      }
      const settings = settingsOf(parsed.data);
      const sealedCredential = await this.#sealCredential(name, settings, parsed.data.idporten, null);
      const now = new Date(this.#o.clock.now()).toISOString();
      const record: IntegrationRecord = { name, revision: 1, createdAt: now, updatedAt: now, settings, sealedCredential };
      const changed = [...changedFields(null, settings), ...(sealedCredential ? [credentialField(settings)] : [])].sort();
      try {
        await this.#o.store.save(record, null, this.#auditEntry(name, "create", by, changed));
      } catch (error) {
        if (error instanceof IntegrationConflict) throw new AuthflowError("conflict", 409, `An integration named "${name}" was just added by someone else. Reload and edit it instead.`);
        throw error;
      }
      this.#o.registry.forget(name);
      this.#o.log?.(`integration ${name}: created by ${who(by)}`);
      this.#o.changed?.(name, changed);
      return this.#view(record);
    });
  }

  async update(name: string, input: IntegrationUpdateInput, by: Caller, expectedRevision?: number): Promise<IntegrationView> {
    checkMayChangeIntegrations(by);
    if (name === CONFIGURED_INTEGRATION) throw this.#configuredRefusal("change");
    const parsed = integrationUpdateSchema.safeParse(input);
    if (!parsed.success) throw invalid(parsed.error.issues);
    if (parsed.data.name !== undefined && parsed.data.name !== name) {
      throw fieldError("name", `Name (name) is "${parsed.data.name}" but the integration edited is "${name}": an integration cannot be renamed; add one under the new name and delete this one.`);
    }
    return this.#serial(name, async () => {
      const stored = await this.#existing(name);
      expectedRevision ??= parsed.data.revision;
      if (expectedRevision !== undefined && expectedRevision !== stored.revision) throw staleEdit(name, expectedRevision, stored.revision);
      const settings = settingsOf(parsed.data);
      await this.#checkGrantsKept(name, stored.settings, settings);
      checkCredentialGivenAgain(stored.settings, settings, parsed.data.idporten);
      const sealedCredential = await this.#sealCredential(name, settings, parsed.data.idporten, stored);
      const changed = changedFields(stored.settings, settings);
      if (sealedCredential !== stored.sealedCredential) changed.push(credentialField(settings));
      if (changed.length === 0) return this.#view(stored);
      const record: IntegrationRecord = { ...stored, revision: stored.revision + 1, updatedAt: new Date(this.#o.clock.now()).toISOString(), settings, sealedCredential };
      try {
        await this.#o.store.save(record, stored.revision, this.#auditEntry(name, "update", by, changed.sort()));
      } catch (error) {
        if (error instanceof IntegrationConflict) {
          if (error.storedRevision === null) throw notFound(name);
          throw staleEdit(name, expectedRevision ?? stored.revision, error.storedRevision);
        }
        throw error;
      }
      this.#o.registry.forget(name);
      this.#o.log?.(`integration ${name}: ${changed.join(", ")} changed by ${who(by)} (revision ${record.revision})`);
      this.#o.changed?.(name, changed);
      return this.#view(record);
    });
  }

  async remove(name: string, by: Caller): Promise<void> {
    checkMayChangeIntegrations(by);
    if (name === CONFIGURED_INTEGRATION) throw this.#configuredRefusal("delete");
    await this.#serial(name, () =>
      this.#o.registry.deleting(name, async () => {
        const stored = await this.#existing(name);
        // Counted by the store once no instance can create a flow for it until the removal is done.
        const mayRemove = async () => {
          const flows = await this.#o.flowsUsing(name);
          if (flows === 0) return;
          throw new AuthflowError(
            "conflict",
            409,
            `Integration "${name}" is used by ${flows} flow${flows === 1 ? "" : "s"}; it cannot be deleted while a flow uses it: their renewals and revocations go through its client, and an idle or expired flow can be authorized again with it. Change it instead (PUT /api/integrations/${name}).`,
            { extra: { flows } },
          );
        };
        try {
          await this.#o.store.remove(name, stored.revision, this.#auditEntry(name, "delete", by, []), mayRemove);
        } catch (error) {
          if (error instanceof IntegrationConflict) {
            if (error.storedRevision === null) throw notFound(name);
            throw new AuthflowError("conflict", 409, `Integration "${name}" was changed meanwhile (now revision ${error.storedRevision}); look at it again before deleting it.`);
          }
          throw error;
        }
        this.#o.registry.forget(name);
        this.#o.log?.(`integration ${name}: deleted by ${who(by)}`);
        this.#o.changed?.(name, []);
      }),
    );
  }

  async audit(name: string): Promise<IntegrationAuditEntry[]> {
    if (name !== CONFIGURED_INTEGRATION && !integrationNameSchema.safeParse(name).success) throw notFound(name);
    return this.#o.store.readAudit(name);
  }

  /**
   * A flow's refresh token (and a pending login's code) belong to the issuer and client that issued
   * them: changing either would end every such flow's authorization on its next renewal, and send
   * those tokens to the new issuer. Refused (409) while any flow holds one.
   */
  async #checkGrantsKept(name: string, before: IntegrationSettings, after: IntegrationSettings): Promise<void> {
    const moved = GRANT_FIELDS.filter((field) => valueAt(before, field) !== valueAt(after, field));
    if (moved.length === 0) return;
    const holding = this.#o.flowsHolding;
    const flows = holding ? await holding(name) : await this.#o.flowsUsing(name);
    if (flows === 0) return;
    const old = `${before.idporten.issuer}/${before.idporten.clientId}`;
    const counted = holding ? `hold${flows === 1 ? "s" : ""} grants from ${old}` : `use${flows === 1 ? "s" : ""} this integration (every flow is counted, whether or not it holds a grant from ${old})`;
    throw new AuthflowError(
      "conflict",
      409,
      `Integration "${name}": ${moved.map(fieldLabel).join(" and ")} cannot change: ${flows} flow${flows === 1 ? "" : "s"} ${counted}; their refresh tokens only work there. ` +
        `Add a new integration for the new client instead (or revoke those authorizations first). Nothing was changed.`,
      { extra: { flows, fields: moved } },
    );
  }

  async #existing(name: string): Promise<IntegrationRecord> {
    const record = integrationNameSchema.safeParse(name).success ? await this.#o.store.get(name) : undefined;
    if (!record) throw notFound(name);
    return record;
  }

  /** The sealed credential to keep: a new one given, else the stored one (write-only secret). */
  async #sealCredential(
    name: string,
    settings: IntegrationSettings,
    given: { clientSecret?: string | undefined; clientKey?: string | undefined },
    stored: IntegrationRecord | null,
  ): Promise<string | null> {
    const method = settings.idporten.clientAuth;
    const usesKey = method === "private_key_jwt";
    const fresh = usesKey ? given.clientKey : given.clientSecret;
    if (fresh !== undefined) {
      if (usesKey) await checkKey(fresh);
      // The same secret again is not a change (and keeps its sealed form and the audit quiet).
      if (stored?.sealedCredential && stored.settings.idporten.clientAuth === method) {
        const old = await this.#o.box.open(stored.sealedCredential, credentialBinding(name)).catch(() => null);
        if (old === fresh) return stored.sealedCredential;
      }
      return this.#o.box.seal(fresh, credentialBinding(name));
    }
    // Kept from before, if it is the same kind of credential (a secret is not a key).
    const storedUsesKey = stored?.settings.idporten.clientAuth === "private_key_jwt";
    if (stored?.sealedCredential && storedUsesKey === usesKey) return stored.sealedCredential;
    throw usesKey
      ? fieldError("idporten.clientKey", `Client key (idporten.clientKey) is required when the client authentication becomes private_key_jwt (the private key as a JWK or PEM).`)
      : fieldError("idporten.clientSecret", `Client secret (idporten.clientSecret) is required with ${method}: none is stored for this integration yet.`);
  }

  #auditEntry(name: string, action: IntegrationAuditEntry["action"], by: Caller, changed: string[]): IntegrationAuditEntry {
    return {
      at: new Date(this.#o.clock.now()).toISOString(),
      integration: name,
      action,
      client: by.client,
      user: by.kind === "person" && Array.isArray(by.users) ? (by.users[0] ?? null) : null,
      changed,
    };
  }

  #configuredRefusal(what: "add" | "change" | "delete"): AuthflowError {
    return new AuthflowError(
      "conflict",
      409,
      `Integration "${CONFIGURED_INTEGRATION}" is set by environment variables (${CONFIGURATION_VARIABLES.join(", ")}); to ${what} it, change them and restart the service. Add other integrations under other names.`,
      { extra: { source: "configuration" } },
    );
  }

  #configuredView(): IntegrationView {
    const { settings, credentialSet } = this.#o.configured;
    return {
      name: CONFIGURED_INTEGRATION,
      source: "configuration",
      ...viewSettings(settings, credentialSet),
      redirectCheck: this.#o.registry.redirectCheck(settings),
      revision: 0,
      updatedAt: null,
    };
  }

  #view(record: IntegrationRecord): IntegrationView {
    return {
      name: record.name,
      source: "stored",
      ...viewSettings(record.settings, record.sealedCredential !== null),
      redirectCheck: this.#o.registry.redirectCheck(record.settings),
      revision: record.revision,
      updatedAt: record.updatedAt,
    };
  }

  #serial<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return run;
  }
}

function viewSettings(settings: IntegrationSettings, credentialSet: boolean): Pick<IntegrationView, "idporten" | "altinn" | "authorizationLifetimeSeconds" | "loginTimeoutSeconds" | "exchangeMode"> {
  return {
    idporten: { ...settings.idporten, registeredRedirectUris: [...settings.idporten.registeredRedirectUris], clientSecretSet: credentialSet },
    altinn: { ...settings.altinn },
    authorizationLifetimeSeconds: settings.authorizationLifetimeSeconds,
    loginTimeoutSeconds: settings.loginTimeoutSeconds,
    exchangeMode: settings.exchangeMode,
  };
}

/** The input with every default applied; never a secret. */
function settingsOf(input: IntegrationUpdateInput): IntegrationSettings {
  const id = input.idporten;
  const clientAuth = id.clientAuth ?? "client_secret_post";
  return {
    idporten: {
      issuer: id.issuer.replace(/\/+$/, ""),
      clientId: id.clientId,
      clientAuth,
      clientKeyId: clientAuth === "private_key_jwt" ? (id.clientKeyId ?? null) : null,
      redirectUri: id.redirectUri,
      registeredRedirectUris: id.registeredRedirectUris && id.registeredRedirectUris.length > 0 ? [...id.registeredRedirectUris] : [id.redirectUri],
      scope: (id.scope ?? DEFAULT_SCOPE).trim().split(/\s+/).join(" "),
      refreshTokenLifetimeSeconds: id.refreshTokenLifetimeSeconds === undefined ? LIMITS.refreshTokenLifetimeSeconds.default : id.refreshTokenLifetimeSeconds,
    },
    altinn: { exchangeUrl: input.altinn.exchangeUrl },
    authorizationLifetimeSeconds: input.authorizationLifetimeSeconds ?? LIMITS.authorizationLifetimeSeconds.default,
    loginTimeoutSeconds: input.loginTimeoutSeconds ?? LIMITS.loginTimeoutSeconds.default,
    exchangeMode: input.exchangeMode ?? "auto",
  };
}

/** Where the client's credentials go: the secret (or a key's assertion) to the issuer with its client id, the ID-porten access token to the exchange URL. */
const DESTINATION_FIELDS = ["idporten.issuer", "idporten.clientId", "idporten.clientAuth", "altinn.exchangeUrl"] as const;
/** What a flow's refresh token is bound to. */
const GRANT_FIELDS = ["idporten.issuer", "idporten.clientId"] as const;

function valueAt(settings: IntegrationSettings, field: (typeof DESTINATION_FIELDS)[number]): string {
  if (field === "altinn.exchangeUrl") return settings.altinn.exchangeUrl;
  return settings.idporten[field.slice("idporten.".length) as "issuer" | "clientId" | "clientAuth"];
}

/**
 * The write-only secret is kept by an edit that leaves it out — but never sent somewhere new: an
 * edit that changes where the credentials go must carry the secret (or key) again.
 */
function checkCredentialGivenAgain(before: IntegrationSettings, after: IntegrationSettings, given: { clientSecret?: string | undefined; clientKey?: string | undefined }): void {
  const moved = DESTINATION_FIELDS.filter((field) => valueAt(before, field) !== valueAt(after, field));
  if (moved.length === 0) return;
  const usesKey = after.idporten.clientAuth === "private_key_jwt";
  if ((usesKey ? given.clientKey : given.clientSecret) !== undefined) return;
  const field = credentialField(after);
  const what = usesKey ? "client key" : "client secret";
  throw fieldError(
    field,
    `${fieldLabel(field)} must be entered again: ${moved.map(fieldLabel).join(", ")} changed, and a stored secret is never sent to a new issuer ` +
      `(nor an ID-porten access token to a new exchange URL on its strength). Enter the ${what} for ${after.idporten.issuer}/${after.idporten.clientId} again and save; nothing was changed.`,
  );
}

const credentialField = (settings: IntegrationSettings) => (settings.idporten.clientAuth === "private_key_jwt" ? "idporten.clientKey" : "idporten.clientSecret");

/** A private key given inline (never a path: this server does not read files named in a request). */
async function checkKey(text: string): Promise<void> {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("-----BEGIN")) {
    throw fieldError("idporten.clientKey", "Client key (idporten.clientKey) must be the private key itself: a JWK (JSON) or a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----).");
  }
  try {
    await loadClientKey(trimmed);
  } catch (error) {
    const why = (error as Error).message.replace(/IDPORTEN_CLIENT_KEY:?\s*/g, "");
    throw fieldError("idporten.clientKey", `Client key (idporten.clientKey) is not a usable private key: ${why}`);
  }
}

function notFound(name: string): AuthflowError {
  return new AuthflowError("not_found", 404, `No integration named "${name.slice(0, 60)}". GET /api/integrations lists them.`);
}

function staleEdit(name: string, based: number, stored: number): AuthflowError {
  return new AuthflowError(
    "conflict",
    409,
    `Integration "${name}" was changed by someone else since you loaded it (you edited revision ${based}; it is now at revision ${stored}). Load it again, redo your change, and save.`,
    { extra: { revision: stored } },
  );
}

const who = (by: Caller) => (by.kind === "person" && Array.isArray(by.users) ? `${by.users[0]} (page)` : `API client ${by.client}`);
