// One authorization on the page: where it stands in words, what it holds (never a token), what went
// wrong in words a person acts on, and the buttons its state takes from the signed-in person.
import type { FlowView } from "../flows/authorization-service.ts";
import { pageActions, type PageAction } from "./actions.ts";
import { formatDate, formatTime, orgNo, relative } from "./format.ts";
import { TEXTS, type Lang, type Texts } from "./i18n.ts";

export interface CardContext {
  lang: Lang;
  /** PUBLIC_URL's path: every link starts with it. */
  base: string;
  user: string;
  csrf: string;
  now: number;
  /** A refusal or failure of this person's last click on this card, already in words. */
  notice?: { kind: "error" | "ok"; text: string } | undefined;
  /** The code lifetime of the flow's integration in seconds, for the invalid_grant explanation (null: not known). */
  codeLifetimeSeconds?: number | null;
}

type View = FlowView & {
  legalEntity: string;
  integration: string;
  authorizationState: string;
  substate: string | null;
  boundUser: string | null;
  pendingUser: string | null;
  authorizationUrl: string | null;
  loginDeadline: string | null;
  codeReceived: boolean;
  idporten: { grantedScope: string; accessTokenExpiresAt: string | null; pid: string | null; acr: string | null } | null;
  altinn: { expiresAt: string | null } | null;
  authorizationExpiresAt: string | null;
  lastError: { error: string; error_description: string; hint?: string } | null;
  attention: { error: string } | null;
  needsAttention?: Array<{ reason: string; detail: string }>;
};

/** What went wrong last, said so a person knows what to do next. */
export function explainLastError(view: View, t: Texts, codeLifetime: string): string | null {
  // A refused client secret needs a person even when a later call succeeded: attention first.
  if (view.attention && ["invalid_client", "unauthorized_client"].includes(view.attention.error)) return t.explain.client(view.integration);
  const error = view.lastError;
  if (!error) return null;
  if (error.error === "invalid_grant") {
    // A code exchange refused (the login ended) vs a renewal refused (the authorization ended).
    return view.authorizationState === "expired" ? t.explain.invalid_grant_refresh : t.explain.invalid_grant_code(codeLifetime);
  }
  if (error.error === "invalid_client" || error.error === "unauthorized_client") return t.explain.client(view.integration);
  return `${error.error_description}${error.hint ? ` ${error.hint}` : ""}`;
}

export function FlowCard(props: { view: FlowView; ctx: CardContext }) {
  const view = props.view as View;
  const { lang, user, csrf, now } = props.ctx;
  const t = TEXTS[lang];
  const actions = pageActions(view, user);
  const held = view.boundUser !== null && view.boundUser !== user;
  const stateWords = t.states[view.state] ?? view.state;
  const sub = view.substate ? t.substates[view.substate] : undefined;
  const lifetime = props.ctx.codeLifetimeSeconds;
  const explanation = explainLastError(view, t, typeof lifetime === "number" ? t.seconds(lifetime) : t.aShortTime);
  const expiring = view.needsAttention?.find((a) => a.reason === "authorization_expiring");
  const id = `flow-${view.id}`;
  return (
    <article class={`flow state-${view.state}`} id={id} aria-labelledby={`${id}-title`} data-flow={view.id} data-legal-entity={view.legalEntity} data-integration={view.integration}>
      <h3 id={`${id}-title`}>
        {orgNo(view.legalEntity)} <span class="integration">· {view.integration}</span>
      </h3>
      <p class="state" data-state={view.state}>
        <span class="badge">{stateWords}</span> {sub && <span class="sub">{sub}</span>} <code>{view.state}</code>
      </p>
      <dl>
        <dt>{t.boundUser}</dt>
        <dd data-field="boundUser">{view.boundUser ?? t.nobody}</dd>
        {view.idporten && (
          <>
            <dt>{t.person}</dt>
            <dd data-field="person">{view.idporten.pid ?? "—"}</dd>
            <dt>{t.scope}</dt>
            <dd data-field="scope">
              <ul class="scopes">
                {view.idporten.grantedScope.split(" ").filter(Boolean).map((s) => (
                  <li>
                    <code>{s}</code>
                  </li>
                ))}
              </ul>
            </dd>
            <dt>{t.accessExpires}</dt>
            <dd data-field="accessExpires">
              {formatTime(view.idporten.accessTokenExpiresAt)} <span class="rel">({relative(view.idporten.accessTokenExpiresAt, now, lang)})</span>
            </dd>
          </>
        )}
        {view.altinn && (
          <>
            <dt>{t.altinnExpires}</dt>
            <dd data-field="altinnExpires">
              {formatTime(view.altinn.expiresAt)} <span class="rel">({relative(view.altinn.expiresAt, now, lang)})</span>
            </dd>
          </>
        )}
        {view.authorizationExpiresAt && (
          <>
            <dt>{t.authorizationExpires}</dt>
            <dd data-field="authorizationExpires" class={expiring ? "warn" : undefined}>
              {formatDate(view.authorizationExpiresAt)} {expiring && <strong> {t.warnEnds(formatDate(view.authorizationExpiresAt))}</strong>}
            </dd>
          </>
        )}
      </dl>
      {view.state === "awaitingCode" && view.pendingUser && (
        <p class="pending">
          {view.codeReceived && view.pendingUser === user ? t.codeWaiting : t.pending(view.pendingUser, formatTime(view.loginDeadline))}{" "}
          {view.pendingUser === user && view.authorizationUrl && !view.codeReceived && <a href={view.authorizationUrl}>{t.openLogin}</a>}
        </p>
      )}
      {held && (
        <p class="held" role="note">
          {t.heldBy(view.boundUser!)}
        </p>
      )}
      {explanation && (
        <div class="error" data-error={(view.attention ?? view.lastError)!.error}>
          <strong>{t.lastError}:</strong> <span>{explanation}</span>
          <small>
            {" "}
            ({(view.attention ?? view.lastError)!.error})
          </small>
        </div>
      )}
      {props.ctx.notice && (
        <p class={`notice ${props.ctx.notice.kind}`} role={props.ctx.notice.kind === "error" ? "alert" : "status"}>
          {props.ctx.notice.kind === "error" && <strong>{t.errorTitle}: </strong>}
          {props.ctx.notice.text}
        </p>
      )}
      <Actions view={view} actions={actions} t={t} csrf={csrf} lang={lang} base={props.ctx.base} />
    </article>
  );
}

function Actions(props: { view: View; actions: PageAction[]; t: Texts; csrf: string; lang: Lang; base: string }) {
  const { view, actions, t, csrf } = props;
  const base = `${props.base}/flows/${view.id}`;
  const button = (action: Exclude<PageAction, "authorize">, label: string, danger = false) =>
    actions.includes(action) && (
      <form method="post" action={`${base}/${action}`} class="inline">
        <input type="hidden" name="_csrf" value={csrf} />
        <button type="submit" class={danger ? "danger" : undefined} data-action={action}>
          {label}
        </button>
      </form>
    );
  return (
    <div class="actions">
      {actions.includes("authorize") && (
        <form method="post" action={`${base}/authorize`} class="authorize">
          <input type="hidden" name="_csrf" value={csrf} />
          <label>
            {t.uiLocale}{" "}
            <select name="uiLocale">
              <option value="nb" selected={props.lang === "nb"}>
                Bokmål (nb)
              </option>
              <option value="nn">Nynorsk (nn)</option>
              <option value="en" selected={props.lang === "en"}>
                English (en)
              </option>
              <option value="se">Sámegiella (se)</option>
            </select>
          </label>{" "}
          <label>
            {t.acr}{" "}
            <select name="acr">
              <option value="idporten-loa-substantial">{t.acrSubstantial}</option>
              <option value="idporten-loa-high">{t.acrHigh}</option>
            </select>
          </label>{" "}
          <button type="submit" class="primary" data-action="authorize">
            {view.state === "awaitingCode" ? t.getCodeAgain : t.getCode}
          </button>
        </form>
      )}
      {button("exchangeCode", t.getToken)}
      {button("exchangeAltinn", t.getAltinn)}
      {button("renew", t.renew)}
      {button("revoke", t.revoke, true)}
    </div>
  );
}
