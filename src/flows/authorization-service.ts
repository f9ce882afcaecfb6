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
import type { AttemptSettings, AuthorizationContext, RedirectSetup } from "../machines/authorization-types.ts";
import { explainRefusal, topState } from "./authorization-flow.ts";

/** An Altinn token this close to its expiry is renewed before it is handed out. */
const EXPIRY_MARGIN_MS = 60_000;

export interface AuthorizationServiceOptions {
  engine: FlowEngine;
  idporten: IdportenClient;
  clock: Clock;
  integration: string;
  redirect: RedirectSetup;
  settings: AttemptSettings;
  /** How long a request may wait for the flow's outbound calls to settle. */
  settleTimeoutMs: number;
}

export type FlowView = Record<string, unknown> & { id: string; state: string };

export type ClientEvent =
  | { type: "AUTHORIZE"; user: string; uiLocale?: string; acr?: string }
  | { type: "EXCHANGE_CODE" | "EXCHANGE_ALTINN" | "RENEW" | "REVOKE"; user: string };

export interface CallbackOutcome {
  status: number;
  title: string;
  message: string;
  flowId?: string;
}

export function toView(record: FlowRecord): FlowView {
  return { id: record.id, ...record.summary, createdAt: record.createdAt, updatedAt: record.updatedAt } as unknown as FlowView;
}

/** States in which an outbound call is in flight: callers wait for them to end. */
const BUSY = new Set(["renewing", "exchangingAltinn", "deciding"]);
const isBusy = (snapshot: AnyMachineSnapshot) => {
  if (topState(snapshot) === "exchanging") return true;
  const value = snapshot.value;
  return typeof value === "object" && BUSY.has(String(Object.values(value)[0]));
};

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
    return toView(record);
  }

  async get(id: string): Promise<FlowView> {
    return toView(await this.#o.engine.get(id));
  }

  async list(filter: { legalEntity?: string; state?: string }): Promise<FlowView[]> {
    const records = await this.#o.engine.list();
    return records
      .filter((r) => r.machine === AUTHORIZATION_MACHINE.name)
      .map(toView)
      .filter((v) => (!filter.legalEntity || v.legalEntity === filter.legalEntity) && (!filter.state || v.state === filter.state))
      .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  }

  async send(id: string, event: ClientEvent): Promise<FlowView> {
    const engine = this.#o.engine;
    engine.snapshot(id); // 404 before any outbound work
    if (event.type === "AUTHORIZE") {
      // A renewal in flight finishes first (AUTHORIZE is not taken mid-renewal); then refuse a
      // misconfigured redirect URL or a state that does not take it, before talking to ID-porten.
      const probe = { type: "AUTHORIZE", at: 0, user: event.user, redirect: this.#o.redirect, request: {}, settings: this.#o.settings };
      const snapshot = topState(engine.snapshot(id)) === "exchanging" ? engine.snapshot(id) : await this.#settle(id);
      if (!snapshot.can(probe as never)) throw explainRefusal(snapshot, probe);
      const request = await this.#o.idporten.prepareAuthorization({ statePrefix: id, uiLocale: event.uiLocale, acr: event.acr });
      return toView(await engine.send(id, { type: "AUTHORIZE", user: event.user, request, redirect: this.#o.redirect, settings: this.#o.settings }));
    }
    const record = await engine.send(id, { type: event.type, user: event.user });
    // Answer with the outcome of the work the event started (exchange, renewal), not a half-way state.
    if (["EXCHANGE_CODE", "EXCHANGE_ALTINN", "RENEW"].includes(event.type)) {
      await this.#settle(id);
      return toView(await engine.get(id));
    }
    return toView(record);
  }

  /** The flow's recent transitions, oldest first. */
  async audit(id: string, limit = 20) {
    return this.#o.engine.audit(id, limit);
  }

  /** Calls `listener` with the new view and its transitions after each written change of the flow. */
  watch(id: string, listener: (view: FlowView, audit: AuditEntry[]) => void): () => void {
    this.#o.engine.snapshot(id); // 404 for an unknown flow
    return this.#o.engine.onTransition((notice) => {
      if (notice.flowId === id) listener(toView(notice.record), notice.audit);
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
    const ctx = settled.context as AuthorizationContext;
    const now = topState(settled);
    if (now === "awaitingCode") {
      return { status: 200, title: "Success", message: "The authorization code was received. Go back to your system and choose \"Get access token\" (EXCHANGE_CODE) now: the code is short-lived.", flowId };
    }
    if (ctx.lastError && now !== "altinnAuthorized") {
      return { status: 200, title: "Authorization failed", message: `${ctx.lastError.error_description}${ctx.lastError.hint ? ` ${ctx.lastError.hint}` : ""}`, flowId };
    }
    return { status: 200, title: "Success", message: "You are authorized. You can close this tab and go back to your system.", flowId };
  }

  /** A valid Altinn token for `user`, renewing first when needed. */
  async token(id: string, user: string): Promise<{ altinnToken: string; expiresAt: string }> {
    for (let step = 0; step < 4; step++) {
      const snapshot = this.#o.engine.snapshot(id);
      const ctx = snapshot.context as AuthorizationContext;
      const state = topState(snapshot);
      const auth = ctx.authorization;
      if (!auth) {
        if (state === "expired") {
          throw new AuthflowError("authorization_expired", 409, "The authorization has expired (its lifetime is over, or ID-porten refused to renew it). Authorize again: send AUTHORIZE and log in with ID-porten.", {
            extra: { state },
          });
        }
        throw new AuthflowError("not_authorized", 409, `The flow is ${state} and holds no authorization yet. Send AUTHORIZE and complete the ID-porten login first.`, { extra: { state } });
      }
      if (ctx.boundUser === null || !holdsBinding(ctx, user)) throw new AuthflowError("forbidden_user", 403, bindingRefusal(ctx, user));
      const now = this.#o.clock.now();
      if (auth.altinn && auth.altinn.expiresAt - EXPIRY_MARGIN_MS > now) {
        return { altinnToken: auth.altinn.token, expiresAt: new Date(auth.altinn.expiresAt).toISOString() };
      }
      if (step > 0 && ctx.lastError) {
        throw new AuthflowError("upstream_unavailable", 503, `No valid Altinn token could be had: ${ctx.lastError.error_description}`, { extra: { lastError: ctx.lastError } });
      }
      if (!auth.idporten.refreshToken && auth.idporten.accessTokenExpiresAt - EXPIRY_MARGIN_MS <= now) {
        throw new AuthflowError("authorization_expired", 409, "The access token has expired and this client has no refresh token to renew it. Authorize again: send AUTHORIZE and log in with ID-porten.", {
          extra: { state },
        });
      }
      if (state !== "idportenAuthorized" && state !== "altinnAuthorized") {
        throw new AuthflowError("not_authorized", 409, `A new login is in progress (${state}) and the earlier Altinn token has expired; it can be renewed once the login completes or times out.`, { extra: { state } });
      }
      await this.#renewOnce(id, user);
    }
    throw new AuthflowError("upstream_unavailable", 503, "No valid Altinn token could be had after renewing; try again shortly.");
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
        // A keep-alive renewal may just have done the work: do not rotate the refresh token again.
        if (auth.altinn && auth.altinn.expiresAt - EXPIRY_MARGIN_MS > now) return;
        const accessValid = auth.idporten.accessTokenExpiresAt - EXPIRY_MARGIN_MS > now;
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
