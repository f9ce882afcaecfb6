// The integration points, as Dynamics' "Web applications" page has them: "NO ID-porten" (issuer,
// client, its authentication — a secret or, with private_key_jwt, a private key and its key id; the
// secret and key masked and write-only —, redirect URL with a live check, scope, lifetimes, a refresh
// token lifetime of none included) and "NO Altinn" (exchange URL). The configured one is shown;
// stored ones are edited here, and an edit sends back what it shows, so it changes only what was changed.
import { CLIENT_AUTH_METHODS, LIMITS, type FieldProblem, type IntegrationView } from "../integrations/integration-types.ts";
import { TEXTS, type Lang, type Texts } from "./i18n.ts";
import { NO_REFRESH_EXPIRY } from "./integration-form.ts";

export interface IntegrationFormState {
  /** The integration the form was for ("" for a new one), what was typed, and what was wrong. */
  name: string;
  values: Record<string, string>;
  problems: FieldProblem[];
  /** Fields whose typed values were too long to carry back (the flash cookie's size): the form says so. */
  leftOut?: string[];
  /** Problems left out for the same reason. */
  moreProblems?: number;
}

export function IntegrationsSection(props: { base: string; canEdit: boolean; integrations: IntegrationView[]; lang: Lang; csrf: string; form?: IntegrationFormState | undefined; saved?: string | undefined }) {
  const t = TEXTS[props.lang];
  const newForm = props.form && props.form.name === "" ? props.form : undefined;
  return (
    <section aria-labelledby="integrations-title" class="integrations">
      <h2 id="integrations-title">{t.integrations}</h2>
      <p class="lead">{t.integrationsLead}</p>
      {props.saved && (
        <p class="notice ok" role="status">
          {t.saved} ({props.saved})
        </p>
      )}
      {props.integrations.map((integration) => (
        <IntegrationCard base={props.base} canEdit={props.canEdit} integration={integration} t={t} csrf={props.csrf} form={props.form?.name === integration.name ? props.form : undefined} />
      ))}
      {props.canEdit ? (
        <details open={newForm !== undefined}>
          <summary>{t.addIntegration}</summary>
          <IntegrationForm base={props.base} t={t} csrf={props.csrf} form={newForm} />
        </details>
      ) : (
        <>
          {props.form && props.form.problems.length > 0 && (
            <p class="notice error" role="alert">
              {t.errorTitle}: {props.form.problems.map((p) => p.message).join(" ")}
            </p>
          )}
          <p class="note">{t.integrationAdminsOnly}</p>
        </>
      )}
    </section>
  );
}

function IntegrationCard(props: { base: string; canEdit: boolean; integration: IntegrationView; t: Texts; csrf: string; form?: IntegrationFormState | undefined }) {
  const { integration: i, t } = props;
  const id = `integration-${i.name}`;
  return (
    <article class="integration" id={id} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{i.name}</h3>
      {i.source === "configuration" && <p class="note">{t.fromConfig}</p>}
      <div class="columns">
        <section aria-label="NO ID-porten">
          <h4>NO ID-porten</h4>
          <dl>
            <dt>{t.issuer}</dt>
            <dd>
              <code>{i.idporten.issuer}</code>
            </dd>
            <dt>{t.clientId}</dt>
            <dd>
              <code>{i.idporten.clientId}</code>
            </dd>
            <dt>{t.clientAuth}</dt>
            <dd data-field="clientAuth">
              <code>{i.idporten.clientAuth}</code>
            </dd>
            <dt>{i.idporten.clientAuth === "private_key_jwt" ? t.clientKey : t.clientSecret}</dt>
            <dd data-field="clientSecret">{i.idporten.clientSecretSet ? `•••••••• ${t.secretSet}` : t.secretNotSet}</dd>
            {i.idporten.clientAuth === "private_key_jwt" && (
              <>
                <dt>{t.clientKeyId}</dt>
                <dd data-field="clientKeyId">
                  <code>{i.idporten.clientKeyId ?? "—"}</code>
                </dd>
              </>
            )}
            <dt>{t.redirectUrl}</dt>
            <dd>
              <code>{i.idporten.redirectUri}</code>
              <p class={i.redirectCheck.ok ? "check ok" : "check bad"} data-field="redirectCheck">
                {i.redirectCheck.ok ? `✓ ${t.redirectOk}` : `✗ ${i.redirectCheck.detail ?? ""}`}
              </p>
            </dd>
            <dt>{t.registeredRedirects}</dt>
            <dd>
              <ul>
                {i.idporten.registeredRedirectUris.map((u) => (
                  <li>
                    <code>{u}</code>
                  </li>
                ))}
              </ul>
            </dd>
            <dt>Scope</dt>
            <dd>
              <code>{i.idporten.scope}</code>
            </dd>
            <dt>{t.lifetimes}</dt>
            <dd>
              {t.authorizationLifetime}: {i.authorizationLifetimeSeconds} · {t.loginTimeout}: {i.loginTimeoutSeconds} · {t.refreshLifetime}: <span data-field="refreshTokenLifetimeSeconds">{i.idporten.refreshTokenLifetimeSeconds ?? t.refreshNone}</span>
            </dd>
            <dt>{t.exchangeMode}</dt>
            <dd>{i.exchangeMode === "manual" ? t.exchangeManual : t.exchangeAuto}</dd>
          </dl>
        </section>
        <section aria-label="NO Altinn">
          <h4>NO Altinn</h4>
          <dl>
            <dt>{t.altinnUrl}</dt>
            <dd>
              <code>{i.altinn.exchangeUrl}</code>
            </dd>
          </dl>
        </section>
      </div>
      {i.source === "stored" && props.canEdit && (
        <details open={props.form !== undefined}>
          <summary>
            {t.edit} {i.name}
          </summary>
          <IntegrationForm base={props.base} t={t} csrf={props.csrf} integration={i} form={props.form} />
        </details>
      )}
    </article>
  );
}

/** The add/edit form: flat fields, the API's shape assembled on the server (web/integration-form.ts). */
function IntegrationForm(props: { base: string; t: Texts; csrf: string; integration?: IntegrationView; form?: IntegrationFormState | undefined }) {
  const { t, integration: i } = props;
  const key = i ? i.name : "new";
  const typed = props.form?.values ?? {};
  const value = (field: string, stored: string | number | null | undefined) => typed[field] ?? (stored === null || stored === undefined ? "" : String(stored));
  const problems = props.form?.problems ?? [];
  const problemOf = (...fields: string[]) => problems.find((p) => fields.some((f) => p.field === f || p.field.startsWith(`${f}.`)));
  const field = (name: string, label: string, apiFields: string[], stored: string | number | null | undefined, options: { type?: string; required?: boolean; hint?: string; placeholder?: string } = {}) => {
    const id = `${key}-${name}`;
    const problem = problemOf(...apiFields);
    return (
      <p class={problem ? "field invalid" : "field"}>
        <label for={id}>{label}</label>
        <input
          id={id}
          name={name}
          type={options.type ?? "text"}
          value={options.type === "password" ? "" : value(name, stored)}
          required={options.required}
          placeholder={options.placeholder}
          autocomplete={options.type === "password" ? "new-password" : "off"}
          aria-invalid={problem ? "true" : undefined}
          aria-describedby={problem || options.hint ? `${id}-help` : undefined}
        />
        {(problem || options.hint) && (
          <span id={`${id}-help`} class={problem ? "problem" : "hint"}>
            {problem ? problem.message : options.hint}
          </span>
        )}
      </p>
    );
  };
  return (
    <form method="post" action={i ? `${props.base}/integrations/${i.name}` : `${props.base}/integrations`} class="integration-form" novalidate>
      <input type="hidden" name="_csrf" value={props.csrf} />
      {/* The revision the values shown were typed against (after a refusal), else the one shown: a save of values typed before someone else's change is refused (409), never written over it. */}
      {i && <input type="hidden" name="revision" value={/^\d+$/.test(typed.revision ?? "") ? typed.revision : String(i.revision)} />}
      {problems.length > 0 && (
        <p class="notice error" role="alert">
          {t.errorTitle}: {problems.map((p) => p.message).join(" ")}
          {props.form?.moreProblems ? ` ${t.moreProblems(props.form.moreProblems)}` : ""}
        </p>
      )}
      {props.form?.leftOut && props.form.leftOut.length > 0 && (
        <p class="notice error" role="alert" data-field="leftOut">
          {t.leftOut(props.form.leftOut.map((f) => formFieldLabel(f, t)))}
        </p>
      )}
      {!i && field("name", t.name, ["name"], "", { required: true, placeholder: "acme-test" })}
      <fieldset>
        <legend>NO ID-porten</legend>
        {field("issuer", t.issuer, ["idporten.issuer"], i?.idporten.issuer, { required: true, placeholder: "https://test.idporten.no" })}
        {field("clientId", t.clientId, ["idporten.clientId"], i?.idporten.clientId, { required: true })}
        <p class="field">
          <label for={`${key}-clientAuth`}>{t.clientAuth}</label>
          <select id={`${key}-clientAuth`} name="clientAuth">
            {CLIENT_AUTH_METHODS.map((m) => (
              <option value={m} selected={value("clientAuth", i?.idporten.clientAuth ?? "client_secret_post") === m}>
                {m}
              </option>
            ))}
          </select>
        </p>
        {field("clientSecret", t.clientSecret, ["idporten.clientSecret"], "", { type: "password", hint: i?.idporten.clientSecretSet && i.idporten.clientAuth !== "private_key_jwt" ? t.secretKeep : t.secretHint })}
        {/* Write-only, as the secret: a key given is sealed and never shown back (the box is always empty). */}
        <p class={problemOf("idporten.clientKey") ? "field invalid" : "field"}>
          <label for={`${key}-clientKey`}>{t.clientKey}</label>
          <textarea id={`${key}-clientKey`} name="clientKey" rows={2} autocomplete="off" spellcheck={false} aria-invalid={problemOf("idporten.clientKey") ? "true" : undefined} aria-describedby={`${key}-clientKey-help`}></textarea>
          <span id={`${key}-clientKey-help`} class={problemOf("idporten.clientKey") ? "problem" : "hint"}>
            {problemOf("idporten.clientKey")?.message ?? (i?.idporten.clientSecretSet && i.idporten.clientAuth === "private_key_jwt" ? t.keyKeep : t.keyHint)}
          </span>
        </p>
        {field("clientKeyId", t.clientKeyId, ["idporten.clientKeyId"], i?.idporten.clientKeyId, { hint: t.keyIdHint })}
        {field("redirectUri", t.redirectUrl, ["idporten.redirectUri"], i?.idporten.redirectUri, { required: true })}
        <p class={problemOf("idporten.registeredRedirectUris") ? "field invalid" : "field"}>
          <label for={`${key}-registered`}>{t.registeredRedirects}</label>
          <textarea id={`${key}-registered`} name="registeredRedirectUris" rows={2} aria-describedby={`${key}-registered-help`}>
            {value("registeredRedirectUris", i?.idporten.registeredRedirectUris.join("\n"))}
          </textarea>
          <span id={`${key}-registered-help`} class={problemOf("idporten.registeredRedirectUris") ? "problem" : "hint"}>
            {problemOf("idporten.registeredRedirectUris")?.message ?? t.onePerLine}
          </span>
        </p>
        {field("scope", "Scope", ["idporten.scope"], i?.idporten.scope)}
        {field("refreshTokenLifetimeSeconds", t.refreshLifetime, ["idporten.refreshTokenLifetimeSeconds"], i?.idporten.refreshTokenLifetimeSeconds, { type: "number", hint: t.refreshDefault(LIMITS.refreshTokenLifetimeSeconds.default) })}
        {/* "None" (null) has a box of its own: an empty number field is the default, so null shown as empty came back as 600. */}
        <p class="field">
          <label for={`${key}-${NO_REFRESH_EXPIRY}`}>
            <input id={`${key}-${NO_REFRESH_EXPIRY}`} name={NO_REFRESH_EXPIRY} type="checkbox" value="on" checked={props.form ? typed[NO_REFRESH_EXPIRY] !== undefined : i?.idporten.refreshTokenLifetimeSeconds === null} /> {t.noKeepAlive}
          </label>
        </p>
      </fieldset>
      <fieldset>
        <legend>NO Altinn</legend>
        {field("exchangeUrl", t.altinnUrl, ["altinn.exchangeUrl"], i?.altinn.exchangeUrl, { required: true })}
      </fieldset>
      <fieldset>
        <legend>{t.lifetimes}</legend>
        {field("authorizationLifetimeSeconds", t.authorizationLifetime, ["authorizationLifetimeSeconds"], i?.authorizationLifetimeSeconds, { type: "number" })}
        {field("loginTimeoutSeconds", t.loginTimeout, ["loginTimeoutSeconds"], i?.loginTimeoutSeconds, { type: "number" })}
        <p class="field">
          <label for={`${key}-exchangeMode`}>{t.exchangeMode}</label>
          <select id={`${key}-exchangeMode`} name="exchangeMode">
            <option value="auto" selected={value("exchangeMode", i?.exchangeMode ?? "auto") === "auto"}>
              {t.exchangeAuto}
            </option>
            <option value="manual" selected={value("exchangeMode", i?.exchangeMode) === "manual"}>
              {t.exchangeManual}
            </option>
          </select>
        </p>
      </fieldset>
      <button type="submit" class="primary">
        {i ? t.save : t.addIntegration}
      </button>
    </form>
  );
}

/** A form field's label as the form shows it (for "too long to show again: …"). */
function formFieldLabel(field: string, t: Texts): string {
  const labels: Record<string, string> = {
    name: t.name,
    issuer: t.issuer,
    clientId: t.clientId,
    clientAuth: t.clientAuth,
    clientKeyId: t.clientKeyId,
    redirectUri: t.redirectUrl,
    registeredRedirectUris: t.registeredRedirects,
    scope: "Scope",
    refreshTokenLifetimeSeconds: t.refreshLifetime,
    exchangeUrl: t.altinnUrl,
    authorizationLifetimeSeconds: t.authorizationLifetime,
    loginTimeoutSeconds: t.loginTimeout,
    exchangeMode: t.exchangeMode,
  };
  return labels[field] ?? field;
}
