// Integrations (issue 10 §5): an ID-porten client + its Altinn exchange + the flow settings, as the
// Dynamics "Web applications" page holds them. One is "default", set by environment variables
// (read-only here); any other is stored, added and edited on the page or through /api/integrations.
//
// This file is the public contract the page and the API share: the view, the input and its zod
// schema (so the form and the API validate alike), the words for a refused input, and the service.
import { z } from "@hono/zod-openapi";
import type { Caller } from "../identity/caller.ts";
import { invisibleProblem } from "../server/schemas/common.ts";

export const CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic", "private_key_jwt"] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
export const EXCHANGE_MODES = ["auto", "manual"] as const;

/** The environment-configured integration's name (config.ts's DEFAULT_INTEGRATION). */
export const CONFIGURED_INTEGRATION = "default";
/** What a VAT client registers (config.ts's VAT_SCOPES): the default scope of a new integration. */
export const DEFAULT_SCOPE = "openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending altinn:instances.read altinn:instances.write";

/** Ranges, in seconds. A year is what Dynamics registers and the longest ID-porten grants. */
export const LIMITS = {
  authorizationLifetimeSeconds: { min: 60, max: 31_536_000, default: 31_536_000 },
  loginTimeoutSeconds: { min: 30, max: 3_600, default: 600 },
  refreshTokenLifetimeSeconds: { min: 10, max: 31_536_000, default: 600 },
} as const;

/** The environment variables that set the "default" integration (named when a change to it is refused). */
export const CONFIGURATION_VARIABLES = [
  "IDPORTEN_ISSUER",
  "IDPORTEN_CLIENT_ID",
  "IDPORTEN_CLIENT_AUTH",
  "IDPORTEN_CLIENT_SECRET",
  "IDPORTEN_SCOPE",
  "IDPORTEN_REDIRECT_URI",
  "IDPORTEN_REGISTERED_REDIRECT_URIS",
  "IDPORTEN_REFRESH_TOKEN_LIFETIME_SECONDS",
  "ALTINN_EXCHANGE_URL",
  "AUTHORIZATION_LIFETIME_SECONDS",
  "LOGIN_TIMEOUT_SECONDS",
  "EXCHANGE_MODE",
] as const;

/** The non-secret part of an integration, with every default applied. */
export interface IntegrationSettings {
  idporten: {
    issuer: string;
    clientId: string;
    clientAuth: ClientAuthMethod;
    clientKeyId: string | null;
    redirectUri: string;
    registeredRedirectUris: string[];
    scope: string;
    refreshTokenLifetimeSeconds: number | null;
  };
  altinn: { exchangeUrl: string };
  authorizationLifetimeSeconds: number;
  loginTimeoutSeconds: number;
  exchangeMode: "auto" | "manual";
}

/** What the page and the API show of an integration: its settings, whether a secret is held (never the secret), the live redirect check. */
export interface IntegrationView extends Omit<IntegrationSettings, "idporten"> {
  name: string;
  /** "configuration": the environment's "default" (read-only here); "stored": added on the page or through the API. */
  source: "configuration" | "stored";
  idporten: IntegrationSettings["idporten"] & {
    /** A client secret (client_secret_*) or private key (private_key_jwt) is held. Its value is never shown. */
    clientSecretSet: boolean;
  };
  /** The live check of the redirect URL against this server's callback URL: a warning to show, not a refusal. */
  redirectCheck: { ok: boolean; detail?: string };
  /** Bumped by every change; an update naming an older one is refused (409). 0 for the configured one. */
  revision: number;
  updatedAt: string | null;
}

const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/**
 * A URL a credential travels to: https, plain http only to this machine (config.ts's secureUrl).
 * Returns what is wrong, or undefined.
 */
export function secureUrlProblem(value: string, carries: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be an absolute URL (https://…), got "${value.slice(0, 100)}"`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.includes(url.hostname)) return undefined;
  if (url.protocol === "http:") return `must be https (${carries}, so plain http is only accepted for localhost), got "${value.slice(0, 100)}"`;
  return `must be an https URL, got "${value.slice(0, 100)}"`;
}

const httpUrlProblem = (value: string): string | undefined => {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? undefined : `must be an http(s) URL, got "${value.slice(0, 100)}"`;
  } catch {
    return `must be an absolute URL, got "${value.slice(0, 100)}"`;
  }
};

/** Refuses control and invisible characters and half characters (invisibleProblem, as a user id does), before any trimming (so none is dropped silently). */
const printable = <T extends z.ZodString>(schema: T): T =>
  schema.superRefine((value, ctx) => {
    const problem = invisibleProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem, abort: true });
  }) as T;

const text = (what: string, max: number) =>
  printable(z.string({ error: (issue) => (issue.input === undefined ? `is required (${what})` : `must be text (${what})`) }))
    .trim()
    .min(1, { error: `must not be empty (${what})` })
    .max(max, { error: `must be at most ${max} characters` });

const seconds = (what: keyof typeof LIMITS) =>
  z
    .number({ error: `must be a whole number of seconds from ${LIMITS[what].min} to ${LIMITS[what].max}` })
    .int({ error: `must be a whole number of seconds from ${LIMITS[what].min} to ${LIMITS[what].max}` })
    .min(LIMITS[what].min, { error: `must be at least ${LIMITS[what].min} seconds` })
    .max(LIMITS[what].max, { error: `must be at most ${LIMITS[what].max} seconds (a year)` });

/** A stored integration's name: a lowercase slug, 1–40 characters. */
export const INTEGRATION_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const integrationNameSchema = z
  .string({ error: "is required: a lowercase name such as \"acme-test\"" })
  .regex(INTEGRATION_NAME, { error: 'must be 1–40 lowercase letters, digits and hyphens, not starting or ending with a hyphen (such as "acme-test")' });

const idportenShape = {
  issuer: text("the ID-porten issuer, such as https://test.idporten.no", 500).superRefine((value, ctx) => {
    const problem = secureUrlProblem(value, "the client's credentials travel to it");
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  clientId: text("the client id registered at Digdir", 200),
  clientAuth: z.enum(CLIENT_AUTH_METHODS, { error: `must be one of ${CLIENT_AUTH_METHODS.join(", ")}` }).optional(),
  /** Write-only. Absent on update: the stored one is kept. */
  // Not trimmed, and not changed: a secret is what Digdir issued, byte for byte. A control character,
  // or a space or line break at either end (what a paste brings along), is refused in words rather
  // than stored to fail at ID-porten as invalid_client (review: "ab\u0000cd" was stored).
  clientSecret: printable(z.string({ error: "must be text" }))
    .min(1, { error: "must not be empty (leave the field out to keep the stored secret)" })
    .max(1000, { error: "must be at most 1000 characters" })
    .refine((value) => value.trim() === value, { error: "must not begin or end with a space or line break (check what was pasted)" })
    .optional(),
  /** Write-only, private_key_jwt: the private key as a JWK (JSON) or PEM. Absent on update: the stored one is kept. */
  clientKey: z.string({ error: "must be text" }).min(1, { error: "must not be empty (leave the field out to keep the stored key)" }).max(20_000, { error: "must be at most 20000 characters" }).optional(),
  clientKeyId: printable(z.string({ error: "must be text" })).trim().min(1, { error: "must not be empty" }).max(200, { error: "must be at most 200 characters" }).optional(),
  redirectUri: text("the redirect URI registered at Digdir, such as https://erp.example/callback", 500).superRefine((value, ctx) => {
    const problem = httpUrlProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** The client's registered redirect URIs at Digdir; defaults to [redirectUri]. */
  registeredRedirectUris: z
    .array(printable(z.string({ error: "must be text" })).max(500, { error: "must be at most 500 characters" }), { error: "must be a list of URLs" })
    .max(20, { error: "must list at most 20 URLs" })
    .optional(),
  scope: printable(z.string({ error: "must be text (space-separated scopes)" })).max(1000, { error: "must be at most 1000 characters" }).optional(),
  /** null: the provider's refresh tokens do not expire of inactivity (no keep-alive). */
  refreshTokenLifetimeSeconds: seconds("refreshTokenLifetimeSeconds").nullable().optional(),
};

const inputShape = {
  idporten: z.strictObject(idportenShape, { error: (issue) => (issue.input === undefined ? "is required: the ID-porten client" : "must be an object") }),
  altinn: z.strictObject(
    {
      exchangeUrl: text("Altinn's token exchange URL", 500).superRefine((value, ctx) => {
        const problem = secureUrlProblem(value, "the ID-porten access token travels in it");
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    },
    { error: (issue) => (issue.input === undefined ? "is required: Altinn's token exchange" : "must be an object") },
  ),
  authorizationLifetimeSeconds: seconds("authorizationLifetimeSeconds").optional(),
  loginTimeoutSeconds: seconds("loginTimeoutSeconds").optional(),
  exchangeMode: z.enum(EXCHANGE_MODES, { error: 'must be "auto" or "manual"' }).optional(),
};

type InputShape = z.infer<z.ZodObject<typeof inputShape>>;

/** Checks across fields (the same for create and update; create adds the secret's presence). */
function crossChecks(value: InputShape, ctx: z.RefinementCtx, creating: boolean): void {
  const id = value.idporten;
  const scopes = (id.scope ?? DEFAULT_SCOPE).trim().split(/\s+/).filter(Boolean);
  if (!scopes.includes("openid")) ctx.addIssue({ code: "custom", path: ["idporten", "scope"], message: `must include "openid" (space-separated scopes), got "${(id.scope ?? "").slice(0, 200)}"` });
  (id.registeredRedirectUris ?? []).forEach((uri, i, all) => {
    if (all.indexOf(uri) !== i) ctx.addIssue({ code: "custom", path: ["idporten", "registeredRedirectUris", i], message: `lists "${uri.slice(0, 200)}" twice` });
    const problem = httpUrlProblem(uri);
    if (problem) ctx.addIssue({ code: "custom", path: ["idporten", "registeredRedirectUris", i], message: problem });
  });
  if (id.registeredRedirectUris && id.registeredRedirectUris.length > 0 && !id.registeredRedirectUris.includes(id.redirectUri)) {
    ctx.addIssue({
      code: "custom",
      path: ["idporten", "redirectUri"],
      message: `must be one of the registered redirect URIs (${id.registeredRedirectUris.map((u) => `"${u}"`).join(", ")}), compared exactly; got "${id.redirectUri}"`,
    });
  }
  const method = id.clientAuth ?? "client_secret_post";
  if (method === "private_key_jwt") {
    if (id.clientSecret !== undefined) ctx.addIssue({ code: "custom", path: ["idporten", "clientSecret"], message: "is not used with private_key_jwt: give clientKey and clientKeyId instead" });
    if (!id.clientKeyId) ctx.addIssue({ code: "custom", path: ["idporten", "clientKeyId"], message: "is required with private_key_jwt (the key's kid as registered at Digdir)" });
    if (creating && id.clientKey === undefined) ctx.addIssue({ code: "custom", path: ["idporten", "clientKey"], message: "is required with private_key_jwt (the private key as a JWK or PEM)" });
  } else {
    if (id.clientKey !== undefined) ctx.addIssue({ code: "custom", path: ["idporten", "clientKey"], message: `is only used with private_key_jwt, not with ${method}` });
    if (creating && id.clientSecret === undefined) ctx.addIssue({ code: "custom", path: ["idporten", "clientSecret"], message: `is required with ${method} (the client secret from Digdir's self-service)` });
  }
  const authorization = value.authorizationLifetimeSeconds ?? LIMITS.authorizationLifetimeSeconds.default;
  const refresh = id.refreshTokenLifetimeSeconds;
  if (typeof refresh === "number" && refresh > authorization) {
    ctx.addIssue({ code: "custom", path: ["idporten", "refreshTokenLifetimeSeconds"], message: `must not be longer than the authorization lifetime (${authorization} seconds)` });
  }
}

/** PUT /api/integrations/:name — every field but the name (it is in the path) and the write-only secret. */
export const integrationUpdateSchema = z
  .strictObject({
    ...inputShape,
    name: integrationNameSchema.optional(),
    /** The revision the edit is based on (as shown with the integration): a newer stored one answers 409. */
    revision: z.number({ error: "must be the integration's revision number as shown with it" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).optional(),
  })
  .superRefine((value, ctx) => crossChecks(value, ctx, false));

/** POST /api/integrations — a new stored integration; its client secret (or key) is required. */
export const integrationCreateSchema = z
  .strictObject({ ...inputShape, name: integrationNameSchema })
  .superRefine((value, ctx) => crossChecks(value, ctx, true));

export type IntegrationUpdateInput = z.infer<typeof integrationUpdateSchema>;
export type IntegrationCreateInput = z.infer<typeof integrationCreateSchema>;
/** The input of create/update: defaults are applied by the service (scope, lifetimes, mode, method). */
export type IntegrationInput = IntegrationUpdateInput;

/** One refusal of an input: the field (dotted path, as the form names it) and what to fix. */
export interface FieldProblem {
  field: string;
  message: string;
}

const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  "idporten.issuer": "ID-porten issuer",
  "idporten.clientId": "Client id",
  "idporten.clientAuth": "Client authentication",
  "idporten.clientSecret": "Client secret",
  "idporten.clientKey": "Client key",
  "idporten.clientKeyId": "Client key id",
  "idporten.redirectUri": "Redirect URI",
  "idporten.registeredRedirectUris": "Registered redirect URIs",
  "idporten.scope": "Scope",
  "idporten.refreshTokenLifetimeSeconds": "Refresh token lifetime",
  "altinn.exchangeUrl": "Altinn exchange URL",
  authorizationLifetimeSeconds: "Authorization lifetime",
  loginTimeoutSeconds: "Login timeout",
  exchangeMode: "Exchange mode",
  revision: "Revision",
  idporten: "ID-porten client",
  altinn: "Altinn",
};

/** A field's name as a person reads it ("Redirect URI (idporten.redirectUri)"). */
export function fieldLabel(field: string): string {
  const base = field.replace(/\.\d+$/, "");
  const label = FIELD_LABELS[base];
  const index = /\.(\d+)$/.exec(field)?.[1];
  if (!label) return field || "The request";
  return `${label}${index !== undefined ? ` #${Number(index) + 1}` : ""} (${field})`;
}

/**
 * zod's issues as one sentence per field a person understands: "Redirect URI (idporten.redirectUri)
 * must be one of …". Unknown fields are named; only the first problem of each field is kept.
 */
export function fieldProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    const field = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const name = field ? `${field}.${key}` : key;
        if (seen.has(name)) continue;
        seen.add(name);
        problems.push({ field: name, message: `"${name}" is not a field of an integration${field ? ` ${field}` : ""}; remove it (the fields are described at /docs).` });
      }
      continue;
    }
    if (seen.has(field)) continue;
    seen.add(field);
    if (field === "" && issue.code === "invalid_type") {
      problems.push({ field, message: "The request body must be a JSON object with the integration's fields (name, idporten, altinn, …; described at /docs)." });
      continue;
    }
    const message = issue.message.startsWith("Invalid input") ? "is not valid here" : issue.message;
    problems.push({ field, message: `${fieldLabel(field)} ${message}${/[.!?]$/.test(message) ? "" : "."}` });
  }
  return problems;
}

/** The sentences of fieldProblems, joined: a problem document's `detail`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return fieldProblems(issues).map((p) => p.message).join(" ");
}

/** One change to an integration, in its audit trail. Secrets appear only by name ("clientSecret") in `changed`. */
export interface IntegrationAuditEntry {
  at: string;
  integration: string;
  action: "create" | "update" | "delete";
  /** The API client, or "page" for a signed-in person. */
  client: string;
  /** The signed-in person; null for an API client. */
  user: string | null;
  /** Field names (dotted), e.g. ["idporten.clientSecret", "exchangeMode"]; every field on create. */
  changed: string[];
}

/** What the page and the API call. Errors are AuthflowError (404, 409, 403, 400 with words). */
export interface IntegrationService {
  list(): Promise<IntegrationView[]>;
  get(name: string): Promise<IntegrationView>;
  create(input: IntegrationCreateInput, by: Caller): Promise<IntegrationView>;
  /** `expectedRevision`: the revision the edit was based on; a newer stored one answers 409. */
  update(name: string, input: IntegrationUpdateInput, by: Caller, expectedRevision?: number): Promise<IntegrationView>;
  remove(name: string, by: Caller): Promise<void>;
  audit(name: string): Promise<IntegrationAuditEntry[]>;
}
