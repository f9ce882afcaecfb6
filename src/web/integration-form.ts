// The integration form's flat fields → the API's input (the same zod schema then checks both).
// Empty fields are left out, so the service's defaults apply and an empty secret (or key) keeps the
// stored one. What the form shows of a stored integration comes back unchanged when the person
// changes nothing: an edit changes only what was changed (review: a null refresh token lifetime,
// shown empty, came back as the default 600; a private_key_jwt client came back as client_secret_post).
import type { AuthflowError } from "../errors.ts";
import type { FieldProblem, IntegrationInput } from "../integrations/integration-types.ts";

/** The checkbox that says the refresh token lifetime is none (null: tokens do not expire when unused, so no keep-alive). */
export const NO_REFRESH_EXPIRY = "refreshTokenNoExpiry";

/** The fields whose typed values are shown again after a refusal (never the secret nor the key). */
export const INTEGRATION_FORM_FIELDS = [
  "name",
  "issuer",
  "clientId",
  "clientAuth",
  "clientKeyId",
  "redirectUri",
  "registeredRedirectUris",
  "scope",
  "refreshTokenLifetimeSeconds",
  NO_REFRESH_EXPIRY,
  "exchangeUrl",
  "authorizationLifetimeSeconds",
  "loginTimeoutSeconds",
  "exchangeMode",
] as const;

/**
 * What was typed (the secret and key left out), to show again beside the problems — and the revision
 * the values were typed against, so the form shown again still names it: saving those values again
 * must be refused (409) if someone changed the integration meanwhile, not overwrite their change.
 */
export function typedValues(form: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of INTEGRATION_FORM_FIELDS) if (typeof form[field] === "string") values[field] = form[field]!;
  if (/^\d{1,15}$/.test(form.revision ?? "")) values.revision = form.revision!;
  return values;
}

const numberOrText = (text: string | undefined) => {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return undefined;
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed; // text is refused by the schema, in words
};

export function formToInput(form: Record<string, string>): Record<string, unknown> & Partial<IntegrationInput> {
  const text = (name: string) => {
    const value = (form[name] ?? "").trim();
    return value === "" ? undefined : value;
  };
  const registered = (form.registeredRedirectUris ?? "").split(/[\s,]+/).map((u) => u.trim()).filter(Boolean);
  const clientAuth = text("clientAuth");
  const idporten: Record<string, unknown> = {
    issuer: text("issuer") ?? "",
    clientId: text("clientId") ?? "",
    clientAuth,
    // Each given only when typed (write-only: empty keeps the stored one). One that does not go with
    // the method chosen is passed on, so the schema refuses it in words rather than it being dropped.
    clientSecret: form.clientSecret ? form.clientSecret : undefined,
    clientKey: (form.clientKey ?? "").trim() ? form.clientKey : undefined,
    // The key id only means something with a key (the service keeps none otherwise); the field stays on
    // the form when the method is switched away from private_key_jwt, so it is not passed then.
    clientKeyId: clientAuth === "private_key_jwt" ? text("clientKeyId") : undefined,
    redirectUri: text("redirectUri") ?? "",
    registeredRedirectUris: registered.length ? registered : undefined,
    scope: text("scope"),
    // null is "none" (no keep-alive), said with its own checkbox: an empty number field means the default.
    refreshTokenLifetimeSeconds: form[NO_REFRESH_EXPIRY] ? null : numberOrText(form.refreshTokenLifetimeSeconds),
  };
  const input: Record<string, unknown> = {
    name: text("name"),
    idporten: dropUndefined(idporten),
    altinn: { exchangeUrl: text("exchangeUrl") ?? "" },
    authorizationLifetimeSeconds: numberOrText(form.authorizationLifetimeSeconds),
    loginTimeoutSeconds: numberOrText(form.loginTimeoutSeconds),
    exchangeMode: text("exchangeMode"),
  };
  return dropUndefined(input) as Record<string, unknown> & Partial<IntegrationInput>;
}

/**
 * What only the form can get wrong (the API has one field for it): a refresh token lifetime typed
 * while "none" is ticked. Neither is chosen over the other: the person is asked.
 */
export function formProblems(form: Record<string, string>, bothRefreshLifetimes: string): FieldProblem[] {
  if (form[NO_REFRESH_EXPIRY] && (form.refreshTokenLifetimeSeconds ?? "").trim() !== "") return [{ field: "idporten.refreshTokenLifetimeSeconds", message: bothRefreshLifetimes }];
  return [];
}

function dropUndefined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

/**
 * A refusal from the service as the form's problems: each field it names (extra.errors, as the API
 * lists them) is shown at that field — e.g. "enter the client secret again" at idporten.clientSecret;
 * a refusal that names no field is shown above the form.
 */
export function refusalProblems(error: AuthflowError): FieldProblem[] {
  const errors = Array.isArray(error.extra?.errors) ? (error.extra.errors as Array<{ field?: unknown; detail?: unknown }>) : [];
  const named = errors.filter((e) => typeof e.field === "string" && e.field !== "" && typeof e.detail === "string").map((e) => ({ field: e.field as string, message: e.detail as string }));
  return named.length > 0 ? named : [{ field: "", message: error.detail }];
}
