// What the HTTP layer asks of authorization flows: create, view, drive, the browser's callback,
// and "a valid Altinn token for user X". ID-porten specifics live here, not in the generic engine.
import type { AnyMachineSnapshot } from "xstate";
import type { Clock } from "../clock.ts";
import { AuthflowError } from "../errors.ts";
import type { FlowEngine } from "../engine/flow-engine.ts";
import type { AuditEntry, FlowRow } from "../store/flow-store.ts";
import type { IdportenClient } from "../idporten/idporten-client.ts";
import { AUTHORIZATION_MACHINE } from "../machines/authorization-machine.ts";
import { bindingRefusal, holdsBinding } from "../machines/authorization-rules.ts";
import type { AttemptSettings, Authorization, AuthorizationContext, FlowError, LastLogin, RedirectSetup } from "../machines/authorization-types.ts";
import { toFlowError } from "../machines/flow-error.ts";
import { sha256Hex, type Sha256 } from "../crypto/secrets.ts";
import { storeUnreachable } from "../store/store-unreachable.ts";
import type { OutcomeKind } from "../server/login-messages.ts";
import { grantState, isBusy, loginState, publicState } from "../machines/authorization-state.ts";
import { explainRefusal } from "./authorization-flow.ts";

/**
 * A token this close to its expiry is renewed before it is handed out: a minute, or a quarter of the
 * token's lifetime when that is shorter (a 10 s token is still handed out, with 2.5 s to spare).
 */
export function expiryMarginMs(lifetimeMs: number): number {
  return Math.max(0, Math.min(60_000, lifetimeMs / 4));
}

export interface AuthorizationServiceOptions {
  engine: FlowEngine;
  idporten: Pick<IdportenClient, "prepareAuthorization" | "authorizationRedirect">;
  clock: Clock;
  integration: string;
  /** This server's public base URL: login links are made under it. */
  publicUrl: string;
  redirect: RedirectSetup;
  settings: AttemptSettings;
  /** How long a request may wait for the flow's outbound calls to settle. */
  settleTimeoutMs: number;
  /** An authorization that ends within this many days says so (0: never). */
  warningDays?: number;
  /** Integrations other than `integration` (the configured one); without it, flows can use only that one. */
  integrations?: IntegrationResolver;
  /** The runtime's SHA-256 for the login's browser binding (default WebCrypto's, ≈40 µs of CPU a call on Node against node:crypto's 1). */
  sha256?: Sha256;
}

/** What a flow's integration gives a login: its ID-porten client, redirect set-up and settings. */
export interface IntegrationSetup {
  idporten: Pick<IdportenClient, "prepareAuthorization" | "authorizationRedirect">;
  redirect: RedirectSetup;
  settings: AttemptSettings;
}

export interface IntegrationResolver {
  /** The named integration, current; throws (422 in words) for one that does not exist. */
  runtime(name: string): Promise<IntegrationSetup>;
  /** Runs a flow's creation while the integration cannot be deleted (and refuses an unknown one). */
  use<T>(name: string, create: () => Promise<T>): Promise<T>;
}

export type FlowView = Record<string, unknown> & { id: string; state: string };

/** An event from a caller: `client` names who sent it (an API client, or "page") in the audit trail. */
export type ClientEvent =
  | { type: "AUTHORIZE"; user: string; client?: string; uiLocale?: string; acr?: string }
  | { type: "EXCHANGE_CODE" | "EXCHANGE_ALTINN" | "RENEW" | "REVOKE"; user: string; client?: string };

export interface TokenAnswer {
  altinnToken: string;
  expiresAt: string;
  idportenAccessToken: string;
  idportenAccessTokenExpiresAt: string;
}

/** What a login page says: a kind of outcome (worded per language by the page), the provider's words, whose login. */
export interface CallbackOutcome {
  status: number;
  kind: OutcomeKind;
  detail?: string;
  flowId?: string;
  legalEntity?: string;
  uiLocale?: string | null;
}

/** Opening a login link: on to ID-porten with a cookie that binds this browser, or a page that says why not. */
export type LoginLinkOutcome = { redirect: string; cookie: { name: string; value: string; maxAgeSeconds: number } } | CallbackOutcome;

/** What needs a person, with the reason: a refused client secret, an authorization that ended or soon ends. */
export interface AttentionItem {
  reason: string;
  detail: string;
}

/** How often a token call asks the provider again for a flow that needs a person. */
const ASK_AGAIN_MS = 60_000;

/** The token call's answer for a flow that needs a person: what happened and what to do, not "try again". */
function needsAttention(attention: { error: string; error_description: string; hint?: string | undefined }, state: string): AuthflowError {
  return new AuthflowError("needs_attention", 409, `No valid tokens can be had until a person acts: ${attention.error_description}${attention.hint ? ` ${attention.hint}` : ""}`, {
    extra: { state, lastError: { error: attention.error, error_description: attention.error_description, ...(attention.hint ? { hint: attention.hint } : {}) } },
  });
}

export function toView(record: FlowRow, now?: number, warningDays = 0): FlowView {
  const view = { id: record.id, ...record.summary, createdAt: record.createdAt, updatedAt: record.updatedAt } as unknown as FlowView;
  return now === undefined ? view : { ...view, needsAttention: attentionOf(view, now, warningDays) };
}

function attentionOf(view: FlowView, now: number, warningDays: number): AttentionItem[] {
  const items: AttentionItem[] = [];
  const attention = view.attention as { error: string; error_description: string; hint: string | null } | null;
  if (attention) items.push({ reason: attention.error, detail: `${attention.error_description}${attention.hint ? ` ${attention.hint}` : ""}` });
  if (view.authorizationState === "expired") {
    items.push({ reason: "authorization_expired", detail: "The authorization has ended. The bound user must authorize again (AUTHORIZE, then log in with ID-porten)." });
  }
  const ends = typeof view.authorizationExpiresAt === "string" ? Date.parse(view.authorizationExpiresAt) : NaN;
  if (warningDays > 0 && Number.isFinite(ends) && ends > now && ends - now <= warningDays * 86_400_000) {
    const days = Math.ceil((ends - now) / 86_400_000);
    items.push({
      reason: "authorization_expiring",
      detail: `The authorization ends on ${new Date(ends).toISOString().slice(0, 10)} (in ${days} day${days === 1 ? "" : "s"}); it cannot be extended. Authorize again before then.`,
    });
  }
  return items;
}

export class AuthorizationService {
  #o: AuthorizationServiceOptions;
  /** One renewal at a time per flow, however many callers ask: they share this promise. */
  #renewals = new Map<string, Promise<void>>();
  /** When a token call last asked the provider again for a flow that needs a person (#mayAskAgain). */
  #askedAgain = new Map<string, number>();

  constructor(options: AuthorizationServiceOptions) {
    this.#o = options;
  }

  async create(legalEntity: string, integration: string | undefined, by: { user?: string | null; client?: string | null } = {}): Promise<FlowView> {
    const name = integration ?? this.#o.integration;
    const create = () => this.#o.engine.create(AUTHORIZATION_MACHINE.name, { legalEntity, integration: name }, by);
    if (name === this.#o.integration) return this.view(await create());
    if (!this.#o.integrations) {
      throw new AuthflowError("unknown_integration", 422, `Unknown integration "${name}". This server has one integration: "${this.#o.integration}".`);
    }
    return this.view(await this.#o.integrations.use(name, create));
  }

  /** A flow's integration: the configured one, or a stored one (current as of its revision). */
  async #setup(integration: string | undefined): Promise<IntegrationSetup> {
    const name = integration ?? this.#o.integration;
    if (name === this.#o.integration || !this.#o.integrations) return this.#o;
    return this.#o.integrations.runtime(name);
  }

  /** How many flows (of any state) use the integration: all pages of the store's list, counted. */
  async flowsUsing(integration: string): Promise<number> {
    let count = 0;
    for (let after: string | undefined, page; (page = await this.#o.engine.list({ machine: AUTHORIZATION_MACHINE.name, limit: 500, ...(after ? { after } : {}) })); ) {
      count += page.items.filter((row) => (row.summary.integration ?? this.#o.integration) === integration).length;
      if (!page.next) break;
      after = page.next;
    }
    return count;
  }

  /**
   * How many flows using the integration hold something from its issuer and client: an
   * authorization (idportenAuthorized, altinnAuthorized), a login in progress (its code is that
   * client's), or tokens still to revoke there. Read off each flow's stored summary (MAC-checked by the list).
   */
  async flowsHolding(integration: string): Promise<number> {
    let count = 0;
    for (let after: string | undefined, page; (page = await this.#o.engine.list({ machine: AUTHORIZATION_MACHINE.name, limit: 500, ...(after ? { after } : {}) })); ) {
      count += page.items.filter((row) => (row.summary.integration ?? this.#o.integration) === integration && holdsGrant(row.summary)).length;
      if (!page.next) break;
      after = page.next;
    }
    return count;
  }

  /** The public view of a stored record, with what needs a person as of now. */
  view(record: FlowRow): FlowView {
    return toView(record, this.#o.clock.now(), this.#o.warningDays ?? 0);
  }

  async get(id: string): Promise<FlowView> {
    return this.view(await this.#o.engine.get(id));
  }

  /** A page of flows, filtered and paginated in the store (oldest first); `next` is the cursor of the following page. */
  async list(filter: { legalEntity?: string; legalEntities?: readonly string[]; state?: string; attention?: boolean; limit?: number; after?: string; newestFirst?: boolean }): Promise<{ flows: FlowView[]; next: string | null }> {
    const page = await this.#o.engine.list({
      machine: AUTHORIZATION_MACHINE.name,
      ...(filter.legalEntity ? { legalEntity: filter.legalEntity } : {}),
      ...(filter.legalEntities ? { legalEntities: filter.legalEntities } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.attention !== undefined ? { attention: filter.attention, attentionAt: this.#o.clock.now() } : {}),
      limit: filter.limit ?? 100,
      ...(filter.after ? { after: filter.after } : {}),
      ...(filter.newestFirst ? { newestFirst: true } : {}),
    });
    return { flows: page.items.map((r) => this.view(r)), next: page.next };
  }

  /**
   * After a restart: flows whose renewal was refused for a reason only a person can fix (the client
   * secret) try again at once, so a service restarted with a working secret resumes them without a new login.
   */
  async resumeAttention(integration?: string): Promise<number> {
    let resumed = 0;
    const rows: FlowRow[] = [];
    for (let after: string | undefined, page; (page = await this.#o.engine.list({ machine: AUTHORIZATION_MACHINE.name, attention: true, attentionAt: this.#o.clock.now(), limit: 500, ...(after ? { after } : {}) })); ) {
      rows.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    const waitsForAPerson = (attention: { error?: string } | null | undefined) => Boolean(attention && ["invalid_client", "unauthorized_client"].includes(attention.error ?? ""));
    for (const record of rows) {
      if (!waitsForAPerson(record.summary.attention as { error?: string } | null | undefined)) continue;
      if (integration !== undefined && (record.summary.integration ?? this.#o.integration) !== integration) continue;
      const snapshot = await this.#o.engine.current(record.id);
      // A renewal refused for the secret tries again; so does a revocation refused for it (once the
      // authorization has ended, that is what the attention is about).
      const type = ["KEEP_ALIVE", "REVOCATION_RETRY"].find((t) => snapshot.can({ type: t, at: this.#o.clock.now() } as never));
      if (type === undefined) continue;
      // Not again on a flow another instance resumed meanwhile (a lost race reloads it and asks).
      const stillWanted = (s: AnyMachineSnapshot) => waitsForAPerson((s.context as AuthorizationContext).attention);
      await this.#o.engine.send(record.id, { type }, { stillWanted }).then(() => resumed++, () => undefined);
    }
    return resumed;
  }

  async send(id: string, event: ClientEvent): Promise<FlowView> {
    const engine = this.#o.engine;
    // No separate existence check: the first look at the flow below (current, settle or send)
    // answers 404, or 410 for a damaged flow, before any outbound work — and with a shared store
    // each look is a read of the stored revision.
    if (event.type === "AUTHORIZE") {
      // Refuse a misconfigured redirect URL or a state that does not take it before talking to ID-porten.
      // The login runs beside the authorization, so a renewal in flight does not have to finish first.
      // The flow's own integration gives the client, the redirect set-up and the settings.
      const snapshot = (await engine.current(id));
      const setup = await this.#setup((snapshot.context as AuthorizationContext).integration);
      const probe = { type: "AUTHORIZE", at: 0, user: event.user, redirect: setup.redirect, request: {}, settings: setup.settings };
      if (!snapshot.can(probe as never)) throw explainRefusal(snapshot, probe);
      const request = await setup.idporten.prepareAuthorization({ statePrefix: id, uiLocale: event.uiLocale, acr: event.acr });
      // The link the person opens is on this server: it binds their browser, then sends it on to ID-porten.
      const loginId = `${id}.${randomSecret()}`;
      const login = { loginId, url: `${this.#o.publicUrl}/login/${loginId}`, uiLocale: event.uiLocale ?? null };
      return this.view(await engine.send(id, { type: "AUTHORIZE", user: event.user, ...by(event.client), request, redirect: setup.redirect, settings: setup.settings, login }));
    }
    // REVOKE waits for a refresh or code exchange in flight: its answer must land first, so that
    // the refresh token handed to ID-porten for revocation is the live one.
    if (event.type === "REVOKE") await this.#settle(id);
    const record = await engine.send(id, { type: event.type, user: event.user, ...by(event.client) });
    // Answer with the outcome of the work the event started (exchange, renewal), not a half-way state.
    if (["EXCHANGE_CODE", "EXCHANGE_ALTINN", "RENEW"].includes(event.type)) {
      await this.#settle(id);
      return this.view(await engine.get(id));
    }
    return this.view(record);
  }

  /** The flow's recent transitions, oldest first. */
  async audit(id: string, limit = 20) {
    return this.#o.engine.audit(id, limit);
  }

  /**
   * The listener gets the new view and its transitions after each written change (`remote`: made by
   * another instance, transitions not included), and `null` once the flow is gone (deleted here or on
   * another instance, or set aside there).
   */
  watch(id: string, listener: (view: FlowView | null, audit: AuditEntry[], remote: boolean) => void): () => void {
    return this.#o.engine.onTransition((notice) => {
      if (notice.flowId === id) listener(notice.deleted ? null : this.view(notice.record), notice.audit, notice.remote === true);
    });
  }

  /**
   * Deletes the flow with its audit trail (DELETE /api/flows/{id}). Refused (409 flow_in_use) while
   * it holds an authorization, a revocation ID-porten has not confirmed, or a call under way: what
   * lives at ID-porten must not be lost track of — REVOKE first.
   */
  async delete(id: string, by: { user?: string | null; client?: string | null } = {}): Promise<void> {
    // A REVOKE sent just before is usually still asking ID-porten: its answer is waited for (as
    // long as a call may take), so REVOKE then DELETE works in one go when ID-porten answers.
    const calling = (s: AnyMachineSnapshot) => isBusy(s) || (s.value as { revocation?: unknown }).revocation === "revoking";
    await this.#o.engine.waitFor(id, (s) => !calling(s), this.#o.settleTimeoutMs).catch((error: unknown) => {
      if (error instanceof AuthflowError && error.status === 404) throw error;
      // Not settled in time: the delete below says what holds it.
    });
    await this.#o.engine.delete(id, by);
  }

  /**
   * The person opens the login link (`authorizationUrl`): this browser is bound to the login — a
   * cookie holds a secret, the flow its hash — and is sent on to ID-porten (the request pushed now,
   * with PAR, when the provider offers it). The link works once, in one browser.
   */
  async openLogin(loginId: string, loginHint: string | undefined): Promise<LoginLinkOutcome> {
    const flowId = loginId.split(".")[0] ?? "";
    const used: CallbackOutcome = { status: 410, kind: "linkUsed" };
    let snapshot: AnyMachineSnapshot;
    try {
      snapshot = await this.#o.engine.current(flowId);
    } catch (error) {
      if (isNoSuchFlow(error)) return used;
      throw error; // the store could not answer: the link is not used up, and the page says to try again
    }
    const ctx = snapshot.context as AuthorizationContext;
    const attempt = ctx.attempt;
    const page = { flowId, legalEntity: ctx.legalEntity, uiLocale: attempt?.login?.uiLocale ?? null };
    if (!attempt?.login || !timingSafeEqual(attempt.login.loginId, loginId) || attempt.login.browserBinding !== null || attempt.response !== null) {
      return { ...used, ...page };
    }
    let redirect: string;
    try {
      redirect = await (await this.#setup(ctx.integration)).idporten.authorizationRedirect(attempt.request, loginHint ? { loginHint } : {});
    } catch (error) {
      // A stored integration is read from the database: its trouble is not ID-porten's.
      if (storeUnreachable(error) !== null) throw error;
      const oauth = toFlowError(error);
      const detail = `${oauth.error_description}${oauth.hint ? ` ${oauth.hint}` : ""}`;
      // No answer, or a passing fault: the link stays unused, and the person can try it again.
      if ((error as { lost?: boolean }).lost === true || oauth.error === "temporarily_unavailable") return { status: 502, kind: "linkFailed", detail, ...page };
      // ID-porten refused the request itself (a scope the client is not registered for, a refused
      // client): no retry can help, so the login ends here, with ID-porten's words in lastError.
      await this.#o.engine.send(flowId, { type: "LOGIN_REFUSED", loginId, error: oauth }).catch(() => undefined);
      return { status: 400, kind: "failed", detail, ...page };
    }
    const secret = randomSecret();
    try {
      await this.#o.engine.send(flowId, { type: "LOGIN_OPENED", loginId, browserBinding: await sha256Hex(secret, this.#o.sha256) });
    } catch (error) {
      // Another browser opened it a moment earlier, or the login ended meanwhile.
      if (error instanceof AuthflowError && error.status === 409) return { ...used, ...page };
      // Opened, but the store has not taken it yet (it is kept and written when it can): the browser
      // goes on with its cookie, or a reload would find the link used. Should the process die before
      // the write, the binding is lost and the callback is refused — it fails closed.
      if (!(error instanceof AuthflowError && error.code === "persist_failed" && error.extra?.kept === true)) throw error;
    }
    const maxAgeSeconds = Math.max(1, Math.ceil((attempt.loginDeadline - this.#o.clock.now()) / 1000));
    return { redirect, cookie: { name: loginCookieName(flowId), value: secret, maxAgeSeconds } };
  }

  /** The browser's return from ID-porten. The flow is named by the prefix of `state`; the browser by its login cookie. */
  async callback(params: URLSearchParams, cookie: (name: string) => string | undefined = () => undefined): Promise<CallbackOutcome> {
    const state = params.get("state") ?? "";
    const flowId = state.split(".")[0] ?? "";
    const error = params.get("error");
    const code = params.get("code");
    if (!state || (!code && !error)) return { status: 400, kind: "notLoginResponse" };
    let snapshot: AnyMachineSnapshot;
    try {
      snapshot = await this.#o.engine.current(flowId);
    } catch (error) {
      if (isNoSuchFlow(error)) return { status: 400, kind: "unknownLogin" };
      throw error; // the store could not answer: the code is not spent, and the page says to reload
    }
    const ctx = snapshot.context as AuthorizationContext;
    const secret = cookie(loginCookieName(flowId));
    const browserBinding = secret ? await sha256Hex(secret, this.#o.sha256) : null;
    const event = {
      type: "CALLBACK",
      state,
      callbackUrl: this.#o.redirect.callbackUrl,
      browserBinding,
      ...(code ? { code } : {}),
      ...(params.get("iss") ? { iss: params.get("iss")! } : {}),
      ...(error ? { error, error_description: params.get("error_description") ?? error } : {}),
    };
    const attempt = ctx.attempt;
    const page = { flowId, legalEntity: ctx.legalEntity, uiLocale: attempt?.login?.uiLocale ?? null };
    if (!snapshot.can({ ...event, at: 0 } as never)) {
      // A reload of a finished login, in the browser that did it: its outcome again, not an error.
      const last = ctx.lastLogin;
      if (last && last.state === state && browserBinding !== null && last.browserBinding === browserBinding) {
        return { ...loginOutcome(snapshot, last), ...page, uiLocale: last.uiLocale };
      }
      // This login, but not this browser: refused in words, and nothing changes.
      if (attempt && attempt.request.state === state && !attempt.callbackConsumed) return { status: 403, kind: "otherBrowser", ...page };
      return { status: 400, kind: "alreadyUsed", ...page };
    }
    // The login this callback answers: the page tells the truth about it, not about the flow.
    const answered = attempt!;
    try {
      await this.#o.engine.send(flowId, event);
    } catch (error) {
      // Defensive: a copy of the callback that passed the check above but lost the race inside the
      // engine's per-flow lock is refused there (409); it gets the same page, not an error document.
      if (error instanceof AuthflowError && error.status === 409) return { status: 400, kind: "alreadyUsed", ...page };
      // Made, but the store has not taken it yet: the engine keeps it and writes it (then exchanges
      // the code) once it can. Not made (an earlier change still waits for the store): reload later.
      if (error instanceof AuthflowError && error.code === "persist_failed") {
        return error.extra?.kept === true ? { status: 202, kind: "held", ...page } : { status: 503, kind: "storeUnavailable", ...page };
      }
      throw error;
    }
    if (error) {
      const description = params.get("error_description");
      return { status: 200, kind: "notCompleted", detail: `ID-porten answered "${error}"${description ? `: ${description}` : ""}.`, ...page };
    }
    let settled: AnyMachineSnapshot;
    try {
      settled = await this.#settle(flowId);
    } catch {
      return { status: 202, kind: "slow", ...page };
    }
    const ended = (settled.context as AuthorizationContext).lastLogin;
    const outcome = ended && ended.state === answered.request.state ? loginOutcome(settled, ended) : { status: 200, kind: "codeReceived" as const };
    return { ...outcome, ...page };
  }

  /** Valid tokens for `user`: the Altinn token (submission) and the ID-porten access token (validation), renewing first when needed. */
  async token(id: string, user: string, client?: string): Promise<TokenAnswer> {
    // No separate existence check first: current() answers 404/410 itself, and with a shared store
    // each look at a flow is a read of its stored revision (the token call's one query).
    for (let step = 0; step < 4; step++) {
      // A change the store has not taken yet (a renewal's answer held through a full disk) is not handed out.
      await this.#o.engine.written(id, this.#o.settleTimeoutMs);
      const snapshot = (await this.#o.engine.current(id));
      const ctx = snapshot.context as AuthorizationContext;
      const state = publicState(snapshot);
      const auth = ctx.authorization;
      if (!auth) {
        if (grantState(snapshot) === "expired") {
          throw new AuthflowError("authorization_expired", 409, "The authorization has expired (its lifetime is over, or ID-porten refused to renew it). Authorize again: send AUTHORIZE and log in with ID-porten.", {
            extra: { state, lastError: ctx.lastError },
          });
        }
        // A code being exchanged is a moment away from an authorization: wait for it, as for a renewal.
        if (state === "exchanging" && step < 3) {
          await this.#settle(id);
          continue;
        }
        // A login under way: following "send AUTHORIZE" would replace it and spend its link (review).
        if (ctx.attempt) {
          throw new AuthflowError(
            "not_authorized",
            409,
            `The flow is ${state} and holds no authorization yet: "${ctx.attempt.user}"'s login is pending — it must be completed at the authorizationUrl AUTHORIZE answered. Send AUTHORIZE again only to start over (it replaces that login).`,
            { extra: { state } },
          );
        }
        throw new AuthflowError("not_authorized", 409, `The flow is ${state} and holds no authorization yet. Send AUTHORIZE and complete the ID-porten login first.`, { extra: { state } });
      }
      if (ctx.boundUser === null || !holdsBinding(ctx, user)) throw new AuthflowError("forbidden_user", 403, bindingRefusal(ctx, user));
      // The same rule the renewal is decided by (and re-checked by after a lost race): upkeep().
      const { accessValid, due } = upkeep(auth, this.#o.clock.now());
      if (due === null && auth.altinn) {
        return {
          altinnToken: auth.altinn.token,
          expiresAt: new Date(auth.altinn.expiresAt).toISOString(),
          idportenAccessToken: auth.idporten.accessToken,
          idportenAccessTokenExpiresAt: new Date(auth.idporten.accessTokenExpiresAt).toISOString(),
        };
      }
      if (auth.altinn === null && auth.settings.exchangeMode === "manual") {
        throw new AuthflowError(
          "not_authorized",
          409,
          'The ID-porten login is done, but in manual mode the Altinn step waits for you: send EXCHANGE_ALTINN ("NO Altinn: get access token") first.',
          { extra: { state } },
        );
      }
      // What needs a person (a refused client secret, a person Altinn refuses) is asked again at most
      // once a minute per flow: each token call asked again, and an ERP that obeyed Retry-After asked
      // forever — against Altinn each ask is an exchange, and Altinn locks a person out (review).
      if (ctx.attention && (step > 0 || !this.#mayAskAgain(id))) throw needsAttention(ctx.attention, state);
      if (step > 0 && ctx.lastError) {
        // Altinn's lockout (429) lasts longer than a moment: asked again in seconds, it only lasts longer.
        const retryAfterSeconds = ctx.lastError.error === "altinn_locked_out" ? 60 : 5;
        throw new AuthflowError("upstream_unavailable", 503, `No valid tokens could be had: ${ctx.lastError.error_description}${ctx.lastError.hint ? ` ${ctx.lastError.hint}` : ""}`, { extra: { lastError: ctx.lastError, retryAfterSeconds } });
      }
      if (!auth.idporten.refreshToken && !accessValid) {
        throw new AuthflowError("authorization_expired", 409, "The access token has expired and this client has no refresh token to renew it. Authorize again: send AUTHORIZE and log in with ID-porten.", {
          extra: { state },
        });
      }
      await this.#renewOnce(id, user, client);
    }
    throw new AuthflowError("upstream_unavailable", 503, "No valid tokens could be had after renewing; try again shortly.", { extra: { retryAfterSeconds: 5 } });
  }

  /**
   * Whether a token call may ask the provider again for a flow that needs a person: once a minute
   * per flow here. A caller is told 409 (no Retry-After) meanwhile, so a client does not poll; one
   * whose person has just been mended (registered at Altinn, a new secret) gets its tokens from the
   * next call. The machine's own retries of Altinn keep a longer backoff (altinnRetryMs).
   */
  #mayAskAgain(id: string): boolean {
    const now = Date.now();
    const last = this.#askedAgain.get(id);
    if (last !== undefined && now - last < ASK_AGAIN_MS) return false;
    // Kept small: entries older than the minute say nothing.
    if (this.#askedAgain.size >= 1000) for (const [key, at] of this.#askedAgain) if (now - at >= ASK_AGAIN_MS) this.#askedAgain.delete(key);
    this.#askedAgain.set(id, now);
    return true;
  }

  #renewOnce(id: string, user: string, client?: string): Promise<void> {
    let running = this.#renewals.get(id);
    if (!running) {
      running = (async () => {
        const snapshot = await this.#settle(id);
        // A keep-alive renewal may just have done the work: do not rotate the refresh token again.
        const type = upkeepDue(snapshot, this.#o.clock.now());
        if (type === null) return;
        if (!snapshot.can({ type, at: this.#o.clock.now(), user } as never)) return;
        try {
          // Another instance may renew between this look and the write: the event is applied only
          // while the flow still needs it (a lost race reloads the flow and asks again), so a
          // renewal just made elsewhere is not followed by a second one.
          // `upkeep`: asked for by a token call, not by a person — its audit entry is routine (folded after a while).
          await this.#o.engine.send(id, { type, user, ...by(client), upkeep: true }, { stillWanted: (s) => upkeepDue(s, this.#o.clock.now()) === type });
        } catch (error) {
          // A timer moved the flow between the check and the send: token() looks again.
          if (error instanceof AuthflowError && error.code === "event_not_accepted") return;
          throw error;
        }
        await this.#settle(id);
      })().finally(() => this.#renewals.delete(id));
      this.#renewals.set(id, running);
    }
    return running;
  }

  /** Waits until the flow's outbound calls have finished (or the settle timeout passes). */
  #settle(id: string): Promise<AnyMachineSnapshot> {
    return this.#o.engine.waitFor(id, (s) => !isBusy(s), this.#o.settleTimeoutMs);
  }
}

/** The flow is not there (404) or was set aside as damaged (410): anything else is the store's trouble, not the link's. */
function isNoSuchFlow(error: unknown): boolean {
  return error instanceof AuthflowError && (error.status === 404 || error.status === 410);
}

/**
 * What a flow's tokens need now, judged on `snapshot` at `now`: nothing (both valid for at least
 * the margin), a new Altinn token (the ID-porten access token is still good), or a renewal.
 */
function upkeepDue(snapshot: AnyMachineSnapshot, now: number): "EXCHANGE_ALTINN" | "RENEW" | null {
  const auth = (snapshot.context as AuthorizationContext).authorization;
  return auth ? upkeep(auth, now).due : null;
}

/** The rule itself: whether the ID-porten access token is good for at least the margin, and what is due. */
function upkeep(auth: Authorization, now: number): { accessValid: boolean; due: "EXCHANGE_ALTINN" | "RENEW" | null } {
  const margin = expiryMarginMs(auth.idporten.accessTokenExpiresAt - auth.idporten.refreshedAt);
  const accessValid = auth.idporten.accessTokenExpiresAt - margin > now;
  if (auth.altinn && accessValid && auth.altinn.expiresAt - margin > now) return { accessValid, due: null };
  return { accessValid, due: auth.altinn === null && accessValid ? "EXCHANGE_ALTINN" : "RENEW" };
}

/**
 * What the person who came back from ID-porten is told: the outcome of *their* login (`login`),
 * which is not the flow's state when an earlier authorization is still there.
 */
function loginOutcome(settled: AnyMachineSnapshot, login: LastLogin): CallbackOutcome {
  const ctx = settled.context as AuthorizationContext;
  const words = (e: FlowError | null) => (e ? `${e.error_description}${e.hint ? ` ${e.hint}` : ""}` : "");
  if (!login.succeeded) return { status: 200, kind: login.error?.error === "access_denied" ? "notCompleted" : "failed", detail: words(login.error) };
  const auth = ctx.authorization;
  const ours = auth !== null && ctx.boundUser === login.user && auth.authorizedAt >= login.startedAt;
  // Taken over once a renewal in flight lands; or replaced since by an even newer login.
  if (!ours) return ctx.replacement?.user === login.user ? { status: 200, kind: "success" } : { status: 200, kind: "failed", detail: words(ctx.lastError) };
  if (grantState(settled) === "altinnAuthorized") return { status: 200, kind: "success" };
  if (auth.settings.exchangeMode === "manual" && auth.altinn === null && !ctx.lastError) return { status: 200, kind: "loggedIn" };
  return { status: 200, kind: "altinnFailed", detail: words(ctx.lastError) };
}

/** The caller's name on an event, for the audit trail (absent for the engine's own timers). */
const by = (client: string | undefined) => (client ? { client } : {});

function randomSecret(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings without leaking where they differ through timing. */
function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** One cookie per flow, so a browser that opens two logins (two legal entities) keeps both. */
export const loginCookieName = (flowId: string) => `authflow_login_${flowId.replace(/[^A-Za-z0-9-]/g, "")}`;

/** A flow's summary says it holds a grant, a login in progress, or tokens to revoke. */
function holdsGrant(summary: Record<string, unknown>): boolean {
  return (
    summary.authorizationState === "idportenAuthorized" ||
    summary.authorizationState === "altinnAuthorized" ||
    summary.state === "idportenAuthorized" || // a summary written before authorizationState was kept
    summary.state === "altinnAuthorized" ||
    summary.state === "awaitingCode" ||
    summary.state === "exchanging" ||
    (typeof summary.pendingRevocations === "number" && summary.pendingRevocations > 0)
  );
}
