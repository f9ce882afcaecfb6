// The integration form's flat fields → the API's input (the same zod schema then checks both).
// Empty fields are left out, so the service's defaults apply and an empty secret keeps the stored one.
import type { AuthflowError } from "../errors.ts";
import type { FieldProblem, IntegrationInput } from "../integrations/integration-types.ts";

export const INTEGRATION_FORM_FIELDS = [
  "name",
  "issuer",
  "clientId",
  "clientAuth",
  "clientSecret",
  "redirectUri",
  "registeredRedirectUris",
  "scope",
  "refreshTokenLifetimeSeconds",
  "exchangeUrl",
  "authorizationLifetimeSeconds",
  "loginTimeoutSeconds",
  "exchangeMode",
] as const;

/** What was typed (secrets left out), to show again beside the problems. */
export function typedValues(form: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of INTEGRATION_FORM_FIELDS) if (field !== "clientSecret" && typeof form[field] === "string") values[field] = form[field]!;
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
  const idporten: Record<string, unknown> = {
    issuer: text("issuer") ?? "",
    clientId: text("clientId") ?? "",
    clientAuth: text("clientAuth"),
    clientSecret: form.clientSecret ? form.clientSecret : undefined,
    redirectUri: text("redirectUri") ?? "",
    registeredRedirectUris: registered.length ? registered : undefined,
    scope: text("scope"),
    refreshTokenLifetimeSeconds: numberOrText(form.refreshTokenLifetimeSeconds),
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
