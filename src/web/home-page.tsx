// The page a person completes the authorization on: the authorizations per legal entity (with
// their buttons) and the integration points. The state moves without a reload (app.js, SSE).
import type { FlowView } from "../flows/authorization-service.ts";
import type { IntegrationView } from "../integrations/integration-types.ts";
import { FlowCard, type CardContext } from "./flow-card.tsx";
import { orgNo } from "./format.ts";
import { TEXTS, type Lang } from "./i18n.ts";
import { IntegrationsSection, type IntegrationFormState } from "./integrations-section.tsx";
import { Layout } from "./layout.tsx";

export interface HomeProps {
  /** PUBLIC_URL's path: every link starts with it. */
  base: string;
  lang: Lang;
  user: { user: string; name: string };
  csrf: string;
  now: number;
  flows: FlowView[];
  /** There are more flows than the page shows. */
  moreFlows?: boolean;
  /** "Find a legal entity": what was typed, and the organisation number it is (null when it is none). */
  find?: { typed: string; legalEntity: string | null } | undefined;
  integrations: IntegrationView[];
  /** The signed-in person may add and change integrations (INTEGRATION_ADMINS). */
  canEditIntegrations: boolean;
  /** The outcome of the person's last action, shown where it happened. */
  notice?: { flowId?: string; kind: "error" | "ok"; text: string } | undefined;
  create?: { legalEntity: string; error: string } | undefined;
  integrationForm?: IntegrationFormState | undefined;
  integrationSaved?: string | undefined;
  /** Per integration: how long its codes live (seconds), when known (the simulator's; ID-porten does not document it). */
  codeLifetimes: Record<string, number | null>;
}

export function HomePage(props: HomeProps) {
  const t = TEXTS[props.lang];
  const shownFor = props.find?.legalEntity ?? undefined;
  const findProblem = props.find && props.find.legalEntity === null ? t.findProblem(props.find.typed) : undefined;
  const byEntity = new Map<string, FlowView[]>();
  for (const flow of props.flows) {
    const entity = flow.legalEntity as string;
    byEntity.set(entity, [...(byEntity.get(entity) ?? []), flow]);
  }
  const cardContext = (flow: FlowView): CardContext => ({
    lang: props.lang,
    base: props.base,
    user: props.user.user,
    csrf: props.csrf,
    now: props.now,
    notice: props.notice && props.notice.flowId === flow.id ? props.notice : undefined,
    codeLifetimeSeconds: props.codeLifetimes[flow.integration as string] ?? null,
  });
  return (
    <Layout lang={props.lang} title={t.authorizations} user={props.user} csrf={props.csrf} path="/" base={props.base}>
      <h1>{t.authorizations}</h1>
      <p id="live-status" class="live" role="status" aria-live="polite" data-live-text={t.live} data-signed-out-text={t.liveSignedOut}></p>
      {props.notice && !props.notice.flowId && (
        <p class={`notice ${props.notice.kind}`} role={props.notice.kind === "error" ? "alert" : "status"}>
          {props.notice.text}
        </p>
      )}
      <section aria-labelledby="new-title" class="new">
        <h2 id="new-title">{t.newAuthorization}</h2>
        <form method="post" action={`${props.base}/flows`} class="create">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <OrgNumberField id="legalEntity" label={t.legalEntity} value={props.create?.legalEntity ?? ""} problem={props.create?.error} required />
          <p class="field">
            <label for="integration">{t.integration}</label>
            <select id="integration" name="integration">
              {props.integrations.length === 0 && <option value="default">default</option>}
              {props.integrations.map((i) => (
                <option value={i.name}>{i.name}</option>
              ))}
            </select>
          </p>
          <button type="submit" class="primary">
            {t.create}
          </button>
        </form>
      </section>
      <section aria-labelledby="flows-title" class="flows" data-only={shownFor}>
        <h2 id="flows-title" class="visually-hidden">
          {t.authorizations}
        </h2>
        <form method="get" action={`${props.base}/`} class="find" role="search">
          <OrgNumberField
            id="find-legal-entity"
            label={t.find}
            value={shownFor ?? props.find?.typed ?? ""}
            problem={findProblem}
          />
          <button type="submit">{t.findButton}</button>
          {props.find && (
            <a href={`${props.base}/`} class="show-all">
              {t.showAll}
            </a>
          )}
        </form>
        {shownFor && <p class="note">{props.flows.length === 0 ? t.noneFor(orgNo(shownFor)) : t.shownFor(orgNo(shownFor))}</p>}
        {props.flows.length === 0 && !shownFor && <p>{t.none}</p>}
        {props.moreFlows && !shownFor && <p class="note">{t.moreFlows(props.flows.length)}</p>}
        {[...byEntity].map(([entity, flows]) => (
          <section class="entity" aria-label={orgNo(entity)} data-entity={entity}>
            {flows.map((flow) => (
              <FlowCard view={flow} ctx={cardContext(flow)} />
            ))}
          </section>
        ))}
      </section>
      <IntegrationsSection base={props.base} canEdit={props.canEditIntegrations} integrations={props.integrations} lang={props.lang} csrf={props.csrf} form={props.integrationForm} saved={props.integrationSaved} />
    </Layout>
  );
}

/** A field for an organisation number (name "legalEntity"), with its problem named beside it when there is one. */
function OrgNumberField(props: { id: string; label: string; value: string; problem?: string | undefined; required?: boolean }) {
  const problemId = `${props.id}-problem`;
  return (
    <p class={props.problem ? "field invalid" : "field"}>
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        name="legalEntity"
        inputmode="numeric"
        autocomplete="off"
        required={props.required}
        value={props.value}
        aria-invalid={props.problem ? "true" : undefined}
        aria-describedby={props.problem ? problemId : undefined}
      />
      {props.problem && (
        <span id={problemId} class="problem" role="alert">
          {props.problem}
        </span>
      )}
    </p>
  );
}
