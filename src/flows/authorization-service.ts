// What the HTTP layer asks of authorization flows: create, view, drive, the browser's callback,
// and "a valid Altinn token for user X". ID-porten specifics live here, not in the generic engine.
import type { AnyMachineSnapshot } from "xstate";
import type { Clock } from "../clock.ts";
import { AuthflowError } from "../errors.ts";
import type { FlowEngine } from "../engine/flow-engine.ts";
import type { AuditEntry, FlowRecord } from "../store/flow-store.ts";
import type { IdportenClient } from "../idporten/idporten-client.ts";
import { AUTHORIZATION_MACHINE } from "../machines/authorization-machine.ts";
import { bindingRefusal, holdsBinding } from "../machines/authorization-rules.ts";
import type { Attempt, AttemptSettings, AuthorizationContext, RedirectSetup } from "../machines/authorization-types.ts";
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
  idporten: IdportenClient;
  clock: Clock;
  integration: string;
  redirect: RedirectSetup;
  settings: AttemptSettings;
  /** How long a request may wait for the flow's outbound calls to settle. */
  settleTimeoutMs: number;
  /** An authorization that ends within this many days says so (0: never). */
  warningDays?: number;
}

export type FlowView = Record<string, unknown> & { id: string; state: string };

export type ClientEvent =
  | { type: "AUTHORIZE"; user: string; uiLocale?: string; acr?: string }
  | { type: "EXCHANGE_CODE" | "EXCHANGE_ALTINN" | "RENEW" | "REVOKE"; user: string };

export interface TokenAnswer {
  altinnToken: string;
  expiresAt: string;
  idportenAccessToken: string;
  idportenAccessTokenExpiresAt: string;
}

export interface CallbackOutcome {
  status: number;
  title: string;
  message: string;
  flowId?: string;
}

/** What needs a person, with the reason: a refused client secret, an authorization that ended or soon ends. */
export interface AttentionItem {
  reason: string;
  detail: string;
}

export function toView(record: FlowRecord, now?: number, warningDays = 0): FlowView {
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

  constructor(options: AuthorizationServiceOptions) {
    this.#o = options;
  }

  async create(legalEntity: string, integration: string | undefined): Promise<FlowView> {
    if (integration !== undefined && integration !== this.#o.integration) {
      throw new AuthflowError("bad_request", 422, `Unknown integration "${integration}". This server has one integration: "${this.#o.integration}".`);
    }
    const record = await this.#o.engine.create(AUTHORIZATION_MACHINE.name, { legalEntity, integration: this.#o.integration });
    return this.view(record);
  }

  /** The public view of a stored record, with what needs a person as of now. */
  view(record: FlowRecord): FlowView {
    return toView(record, this.#o.clock.now(), this.#o.warningDays ?? 0);
  }

  async get(id: string): Promise<FlowView> {
    return this.view(await this.#o.engine.get(id));
  }

  async list(filter: { legalEntity?: string; state?: string; attention?: boolean }): Promise<FlowView[]> {
    const records = await this.#o.engine.list();
    return records
      .filter((r) => r.machine === AUTHORIZATION_MACHINE.name)
      .map((r) => this.view(r))
      .filter((v) => (!filter.legalEntity || v.legalEntity === filter.legalEntity) && (!filter.state || v.state === filter.state))
      .filter((v) => filter.attention === undefined || (v.needsAttention as AttentionItem[]).length > 0 === filter.attention)
      .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  }

  /**
   * After a restart: flows whose renewal was refused for a reason only a person can fix (the client
   * secret) try again at once, so a service restarted with a working secret resumes them without a new login.
   */
  async resumeAttention(): Promise<number> {
    let resumed = 0;
    for (const record of await this.#o.engine.list()) {
      const attention = record.summary.attention as { error?: string } | null | undefined;
      if (!attention || !["invalid_client", "unauthorized_client"].includes(attention.error ?? "")) continue;
      const snapshot = this.#o.engine.snapshot(record.id);
      if (!snapshot.can({ type: "KEEP_ALIVE", at: this.#o.clock.now() } as never)) continue;
      await this.#o.engine.send(record.id, { type: "KEEP_ALIVE" }).then(() => resumed++, () => undefined);
    }
    return resumed;
  }

  async send(id: string, event: ClientEvent): Promise<FlowView> {
    const engine = this.#o.engine;
    await engine.exists(id); // 404 (or 410 for a damaged flow) before any outbound work
    if (event.type === "AUTHORIZE") {
      // Refuse a misconfigured redirect URL or a state that does not take it before talking to ID-porten.
      // The login runs beside the authorization, so a renewal in flight does not have to finish first.
      const probe = { type: "AUTHORIZE", at: 0, user: event.user, redirect: this.#o.redirect, request: {}, settings: this.#o.settings };
      const snapshot = engine.snapshot(id);
      if (!snapshot.can(probe as never)) throw explainRefusal(snapshot, probe);
      const request = await this.#o.idporten.prepareAuthorization({ statePrefix: id, uiLocale: event.uiLocale, acr: event.acr });
      return this.view(await engine.send(id, { type: "AUTHORIZE", user: event.user, request, redirect: this.#o.redirect, settings: this.#o.settings }));
    }
    // REVOKE waits for a refresh or code exchange in flight: its answer must land first, so that
    // the refresh token handed to ID-porten for revocation is the live one.
    if (event.type === "REVOKE") await this.#settle(id);
    const record = await engine.send(id, { type: event.type, user: event.user });
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

  /** Calls `listener` with the new view and its transitions after each written change of the flow. */
  watch(id: string, listener: (view: FlowView, audit: AuditEntry[]) => void): () => void {
    this.#o.engine.snapshot(id); // 404 for an unknown flow
    return this.#o.engine.onTransition((notice) => {
      if (notice.flowId === id) listener(this.view(notice.record), notice.audit);
    });
  }

  /** The browser's return from ID-porten. The flow is named by the prefix of `state`. */
  async callback(params: URLSearchParams): Promise<CallbackOutcome> {
    const state = params.get("state") ?? "";
    const flowId = state.split(".")[0] ?? "";
    const error = params.get("error");
    const code = params.get("code");
    if (!state || (!code && !error)) {
      return { status: 400, title: "Not a login response", message: "This address receives the browser back from ID-porten; the request has no state and no code." };
    }
    let snapshot: AnyMachineSnapshot;
    try {
      snapshot = this.#o.engine.snapshot(flowId);
    } catch {
      return { status: 400, title: "Unknown login", message: "This login response does not belong to any authorization in progress. Start again from your system." };
    }
    const event = {
      type: "CALLBACK",
      state,
      callbackUrl: this.#o.redirect.callbackUrl,
      ...(code ? { code } : {}),
      ...(params.get("iss") ? { iss: params.get("iss")! } : {}),
      ...(error ? { error, error_description: params.get("error_description") ?? error } : {}),
    };
    const refused: CallbackOutcome = {
      status: 400,
      title: "Login already used or not in progress",
      message: "This login response was already used, or belongs to an earlier or another login. Nothing was changed. Start a new authorization if you need one.",
      flowId,
    };
    if (!snapshot.can({ ...event, at: 0 } as never)) return refused;
    // The login this callback answers: the page tells the truth about it, not about the flow.
    const attempt = (snapshot.context as AuthorizationContext).attempt!;
    try {
      await this.#o.engine.send(flowId, event);
    } catch (error) {
      // Defensive: a copy of the callback that passed the check above but lost the race inside the
      // engine's per-flow lock is refused there (409); it gets the same page, not an error document.
      if (error instanceof AuthflowError && error.status === 409) return refused;
      throw error;
    }
    if (error) {
      return { status: 200, title: "Login not completed", message: `ID-porten answered "${error}"${params.get("error_description") ? `: ${params.get("error_description")}` : ""}. No authorization was given.`, flowId };
    }
    let settled: AnyMachineSnapshot;
    try {
      settled = await this.#settle(flowId);
    } catch {
      return { status: 202, title: "Code received", message: "The authorization code was received and is being exchanged; ID-porten is slow to answer. Your system will show the result.", flowId };
    }
    return loginOutcome(settled, attempt, flowId);
  }

  /** Valid tokens for `user`: the Altinn token (submission) and the ID-porten access token (validation), renewing first when needed. */
  async token(id: string, user: string): Promise<TokenAnswer> {
    await this.#o.engine.exists(id);
    for (let step = 0; step < 4; step++) {
      // A change the store has not taken yet (a renewal's answer held through a full disk) is not handed out.
      await this.#o.engine.written(id, this.#o.settleTimeoutMs);
      const snapshot = this.#o.engine.snapshot(id);
      const ctx = snapshot.context as AuthorizationContext;
      const state = publicState(snapshot);
      const auth = ctx.authorization;
      if (!auth) {
        if (grantState(snapshot) === "expired") {
          throw new AuthflowError("authorization_expired", 409, "The authorization has expired (its lifetime is over, or ID-porten refused to renew it). Authorize again: send AUTHORIZE and log in with ID-porten.", {
            extra: { state, lastError: ctx.lastError },
          });
        }
        throw new AuthflowError("not_authorized", 409, `The flow is ${state} and holds no authorization yet. Send AUTHORIZE and complete the ID-porten login first.`, { extra: { state } });
      }
      if (ctx.boundUser === null || !holdsBinding(ctx, user)) throw new AuthflowError("forbidden_user", 403, bindingRefusal(ctx, user));
      const now = this.#o.clock.now();
      const margin = expiryMarginMs(auth.idporten.accessTokenExpiresAt - auth.idporten.refreshedAt);
      const accessValid = auth.idporten.accessTokenExpiresAt - margin > now;
      if (auth.altinn && accessValid && auth.altinn.expiresAt - margin > now) {
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
      if (step > 0 && ctx.lastError) {
        throw new AuthflowError("upstream_unavailable", 503, `No valid tokens could be had: ${ctx.lastError.error_description}`, { extra: { lastError: ctx.lastError, retryAfterSeconds: 5 } });
      }
      if (!auth.idporten.refreshToken && !accessValid) {
        throw new AuthflowError("authorization_expired", 409, "The access token has expired and this client has no refresh token to renew it. Authorize again: send AUTHORIZE and log in with ID-porten.", {
          extra: { state },
        });
      }
      await this.#renewOnce(id, user);
    }
    throw new AuthflowError("upstream_unavailable", 503, "No valid tokens could be had after renewing; try again shortly.", { extra: { retryAfterSeconds: 5 } });
  }

  #renewOnce(id: string, user: string): Promise<void> {
    let running = this.#renewals.get(id);
    if (!running) {
      running = (async () => {
        const snapshot = await this.#settle(id);
        const ctx = snapshot.context as AuthorizationContext;
        const auth = ctx.authorization;
        if (!auth) return;
        const now = this.#o.clock.now();
        const margin = expiryMarginMs(auth.idporten.accessTokenExpiresAt - auth.idporten.refreshedAt);
        const accessValid = auth.idporten.accessTokenExpiresAt - margin > now;
        // A keep-alive renewal may just have done the work: do not rotate the refresh token again.
        if (auth.altinn && accessValid && auth.altinn.expiresAt - margin > now) return;
        const type = auth.altinn === null && accessValid ? "EXCHANGE_ALTINN" : "RENEW";
        if (!snapshot.can({ type, at: now, user } as never)) return;
        try {
          await this.#o.engine.send(id, { type, user });
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

/**
 * What the person who came back from ID-porten is told: the outcome of *their* login (`attempt`),
 * which is not the flow's state when an earlier authorization is still there.
 */
function loginOutcome(settled: AnyMachineSnapshot, attempt: Attempt, flowId: string): CallbackOutcome {
  const ctx = settled.context as AuthorizationContext;
  const login = loginState(settled);
  if (login === "awaitingCode" && ctx.attempt?.request.state === attempt.request.state) {
    return { status: 200, title: "Code received", message: 'The authorization code was received. Go back to your system and choose "Get access token" (EXCHANGE_CODE) now: the code is short-lived.', flowId };
  }
  const auth = ctx.authorization;
  const replaced = ctx.replacement?.user === attempt.user;
  const ours = replaced || (auth !== null && ctx.boundUser === attempt.user && auth.authorizedAt >= attempt.startedAt);
  if (!ours) {
    const why = ctx.lastError ? `${ctx.lastError.error_description}${ctx.lastError.hint ? ` ${ctx.lastError.hint}` : ""}` : "The login did not complete.";
    return { status: 200, title: "Authorization failed", message: why, flowId };
  }
  if (replaced || grantState(settled) === "altinnAuthorized") {
    return { status: 200, title: "Success", message: "You are authorized. You can close this tab and go back to your system.", flowId };
  }
  if (auth!.settings.exchangeMode === "manual" && !ctx.lastError) {
    return { status: 200, title: "Logged in", message: 'You are logged in with ID-porten. Go back to your system and choose "NO Altinn: get access token" (EXCHANGE_ALTINN).', flowId };
  }
  const why = ctx.lastError ? `${ctx.lastError.error_description}${ctx.lastError.hint ? ` ${ctx.lastError.hint}` : ""}` : "";
  return { status: 200, title: "Altinn step failed", message: `The ID-porten login succeeded, but the Altinn token exchange did not: ${why}`.trim(), flowId };
}
