// The authorization machine as the engine hosts it: its actors wired to the real clients, its
// public view (never a token or secret), and its refusals explained in words (409/403/422).
import type { AnyMachineSnapshot } from "xstate";
import type { Clock } from "../clock.ts";
import { AuthflowError } from "../errors.ts";
import type { RegisteredMachine } from "../engine/machine-registry.ts";
import { AUTHORIZATION_MACHINE, authorizationMachine } from "../machines/authorization-machine.ts";
import { createDeadlineActor } from "../machines/deadline-actor.ts";
import { bindingRefusal, checkRedirectUrl, holdsBinding, maskPid, startedAttempt } from "../machines/authorization-rules.ts";
import { PUBLIC_EVENTS, type AuthorizationContext, type RedirectSetup } from "../machines/authorization-types.ts";
import { activeStates, grantState, grantSubstate, isBusy, loginState, publicState } from "../machines/authorization-state.ts";
import { keepAliveAt } from "../machines/authorization-machine.ts";
import { fromPromise } from "xstate";
import type { IdportenClient } from "../idporten/idporten-client.ts";
import type { AltinnExchangeInput, AltinnToken, CodeExchangeInput, RefreshInput, RevocationInput, TokenSet } from "../machines/authorization-types.ts";
import { toFlowError } from "../machines/flow-error.ts";
import { DEFAULT_INTEGRATION } from "../config.ts";

export interface AuthorizationFlowDeps {
  clock: Clock;
  idporten: Pick<IdportenClient, "exchangeCode" | "refresh" | "revoke">;
  altinn: { exchange(input: AltinnExchangeInput): Promise<AltinnToken> };
  /**
   * How an outbound call is made (the engine's `runCall`): only once the state that starts it is
   * written — a code exchange and a one-time refresh spend their credential, so the store must know
   * a call may have left before it leaves — and never twice for one answer.
   */
  runCall?: <T>(system: unknown, callId: string, input: unknown, call: () => Promise<T>) => Promise<T>;
  /** An authorization that ends within this many days needs a person (attentionFrom). */
  warningDays?: number;
  /**
   * The clients of the flow's integration (its actors' input names it; absent means "default").
   * Without it every flow uses `idporten` and `altinn` above.
   */
  integrations?: (name: string | undefined) => Promise<FlowClients>;
}

export interface FlowClients {
  idporten: Pick<IdportenClient, "exchangeCode" | "refresh" | "revoke">;
  altinn: { exchange(input: AltinnExchangeInput): Promise<AltinnToken> };
}

/**
 * A client secret (or key) refused for a stored integration: its words name the integration and
 * where its secret is changed (not IDPORTEN_CLIENT_SECRET). The error code stays, so the flow
 * still asks a person (attention) and keeps its authorization.
 */
export function nameIntegrationInRefusal(error: unknown, integration: string | undefined): unknown {
  if (integration === undefined || integration === DEFAULT_INTEGRATION) return error;
  const oauth = toFlowError(error);
  if (oauth.error !== "invalid_client" && oauth.error !== "unauthorized_client") return error;
  const where =
    `integration "${integration}": its client secret (or key) is stored on this server, not in IDPORTEN_CLIENT_SECRET. ` +
    `Renew it at Digdir's self-service and enter it on the integration (the Integrations page, or PUT /api/integrations/${integration} with idporten.clientSecret); no restart is needed.`;
  // The hint too: the general one says to set IDPORTEN_CLIENT_SECRET and restart, which does nothing for a stored integration (review).
  return { error: oauth.error, error_description: `${oauth.error_description} — ${where}`, hint: `The client secret (or key) of ${where} The authorization itself is still good.` };
}

/** An integration that cannot be used (deleted, or its secret does not open): said in the flow's lastError. */
function integrationUnavailable(error: unknown, integration: string | undefined): unknown {
  if (!(error instanceof AuthflowError)) return error;
  return { error: "integration_unavailable", error_description: `Integration "${integration ?? DEFAULT_INTEGRATION}" cannot be used: ${error.detail}` };
}

const iso = (ms: number | null | undefined) => (typeof ms === "number" ? new Date(ms).toISOString() : null);

/** The flow view of DESIGN §4, without id and times (the record adds those). Never a token, a secret or a full pid. */
export function summarize(snapshot: AnyMachineSnapshot): Record<string, unknown> {
  const ctx = snapshot.context as AuthorizationContext;
  const auth = ctx.authorization;
  const awaiting = ctx.attempt !== null && ctx.attempt.response === null;
  return {
    legalEntity: ctx.legalEntity,
    integration: ctx.integration,
    state: publicState(snapshot),
    substate: grantSubstate(snapshot),
    // The authorization itself, also while a login is in progress (then `state` is the login's).
    authorizationState: grantState(snapshot),
    activeStates: activeStates(snapshot),
    boundUser: ctx.boundUser,
    pendingUser: ctx.attempt?.user ?? null,
    // The login link on this server (it binds the browser); ID-porten's own URL, state and nonce never leave the sealed snapshot.
    authorizationUrl: awaiting ? (ctx.attempt!.login?.url ?? null) : null,
    loginOpened: awaiting ? ctx.attempt!.login?.browserBinding != null : null,
    codeReceived: ctx.attempt?.response != null,
    idporten: auth
      ? { grantedScope: auth.idporten.grantedScope, accessTokenExpiresAt: iso(auth.idporten.accessTokenExpiresAt), pid: maskPid(auth.idporten.pid), acr: auth.idporten.acr }
      : null,
    altinn: auth?.altinn ? { expiresAt: iso(auth.altinn.expiresAt) } : null,
    authorizedAt: iso(auth?.authorizedAt),
    authorizationExpiresAt: iso(auth?.expiresAt),
    loginDeadline: awaiting ? iso(ctx.attempt!.loginDeadline) : null,
    attention: ctx.attention ? { error: ctx.attention.error, error_description: ctx.attention.error_description, hint: ctx.attention.hint ?? null, since: iso(ctx.attention.since) } : null,
    pendingRevocations: ctx.revocations.length,
    lastError: ctx.lastError,
  };
}

/** Why the machine did not take `event`: the same guards, asked again, in words. */
export function explainRefusal(snapshot: AnyMachineSnapshot, event: { type: string; [key: string]: unknown }): AuthflowError {
  const ctx = snapshot.context as AuthorizationContext;
  const state = publicState(snapshot);
  const sub = grantSubstate(snapshot);
  const where = sub ? `${state} (${sub})` : state;
  const accepted = new Set<string>(snapshot._nodes.flatMap((node) => node.ownEvents as string[]));
  const acceptedNow = PUBLIC_EVENTS.filter((e) => accepted.has(e));
  const user = typeof event.user === "string" ? event.user : "";

  if (!accepted.has(event.type)) {
    return new AuthflowError("event_not_accepted", 409, `${event.type} is not accepted while the flow is ${where}. Accepted now: ${acceptedNow.join(", ") || "none"}.`, {
      extra: { state, acceptedEvents: acceptedNow },
    });
  }
  if (event.type === "AUTHORIZE") {
    const check = checkRedirectUrl(event.redirect as RedirectSetup);
    if (!check.ok) return new AuthflowError("guard_refused", 422, check.detail, { extra: { guard: "redirectUrlRegistered" } });
  }
  if (event.type === "EXCHANGE_CODE") {
    if (ctx.attempt?.response == null) {
      return new AuthflowError("event_not_accepted", 409, "No authorization code is held yet: the person must complete the ID-porten login first (open authorizationUrl).", { extra: { state } });
    }
    if (!startedAttempt(ctx, user)) {
      return new AuthflowError("forbidden_user", 403, `The login was started by "${ctx.attempt.user}"; only that user may exchange its code.`, { extra: { guard: "userBinding" } });
    }
  }
  if (["EXCHANGE_ALTINN", "RENEW", "REVOKE"].includes(event.type) && !holdsBinding(ctx, user)) {
    return new AuthflowError("forbidden_user", 403, bindingRefusal(ctx, user), { extra: { guard: "userBinding" } });
  }
  if (event.type === "RENEW" && ctx.authorization && !ctx.authorization.idporten.refreshToken) {
    return new AuthflowError("event_not_accepted", 409, "There is no refresh token to renew with (the client lacks the refresh_token grant). Authorize again when the access token expires.", {
      extra: { state },
    });
  }
  return new AuthflowError("event_not_accepted", 409, `${event.type} is not accepted while the flow is ${where}.`, { extra: { state, acceptedEvents: acceptedNow } });
}

export function authorizationFlowMachine(deps: AuthorizationFlowDeps): RegisteredMachine {
  // Every outbound call goes through the engine's runCall when there is one: it leaves only once the
  // state that starts it is written, once per answer, and (shared store) under this instance's lease.
  const run = <T>(system: unknown, callId: string, input: unknown, call: () => Promise<T>) =>
    deps.runCall ? deps.runCall(system, callId, input, call) : call();
  // The flow's integration's clients ("default": the configured ones), resolved when the call leaves.
  const clients = async (integration: string | undefined): Promise<FlowClients> => {
    if (!deps.integrations || integration === undefined || integration === DEFAULT_INTEGRATION) return deps;
    try {
      return await deps.integrations(integration);
    } catch (error) {
      throw integrationUnavailable(error, integration);
    }
  };
  // Every call to ID-porten names a stored integration in a refusal of its secret (review: the
  // revocation's and the code exchange's said to set IDPORTEN_CLIENT_SECRET, as only the refresh's did not).
  const naming = <T>(integration: string | undefined, call: Promise<T>): Promise<T> =>
    call.catch((error: unknown) => Promise.reject(nameIntegrationInRefusal(error, integration)));
  const logic = authorizationMachine.provide({
    actors: {
      deadline: createDeadlineActor(deps.clock),
      exchangeCode: fromPromise<TokenSet, CodeExchangeInput>(({ input, system, self }) =>
        run(system, self.id, input, async () => naming(input.integration, (await clients(input.integration)).idporten.exchangeCode(input))),
      ),
      refreshIdporten: fromPromise<TokenSet, RefreshInput>(({ input, system, self }) =>
        run(system, self.id, input, async () => naming(input.integration, (await clients(input.integration)).idporten.refresh(input.refreshToken))),
      ),
      exchangeAltinn: fromPromise<AltinnToken, AltinnExchangeInput>(({ input, system, self }) =>
        run(system, self.id, input, async () => (await clients(input.integration)).altinn.exchange(input)),
      ),
      revokeToken: fromPromise<unknown, RevocationInput>(({ input, system, self }) =>
        run(system, self.id, input, async () => naming(input.integration, (await clients(input.integration)).idporten.revoke(input.refreshToken))),
      ),
    },
  });
  const warningMs = (deps.warningDays ?? 0) * 86_400_000;
  return {
    name: AUTHORIZATION_MACHINE.name,
    version: AUTHORIZATION_MACHINE.version,
    logic,
    stateName: publicState,
    summarize,
    refusal: explainRefusal,
    // A revocation under way counts too, for the engine (not for callers, who never wait for one):
    // its call is leased, so another instance that reloads the flow in `revoking` waits for the
    // answer instead of calling again (review: one REVOKE, two calls, on the instance not holding it).
    busy: (snapshot) => isBusy(snapshot) || (snapshot.value as { revocation?: string }).revocation === "revoking",
    // What lives at ID-porten must not be lost track of: an authorization (its refresh token) and a
    // revocation ID-porten has not confirmed stop a delete, with what to do.
    deletable: (snapshot) => {
      const ctx = snapshot.context as AuthorizationContext;
      if (ctx.authorization) {
        return new AuthflowError(
          "flow_in_use",
          409,
          `The flow holds ${ctx.boundUser ? `${ctx.boundUser}'s` : "an"} authorization: send REVOKE first (it ends the authorization and revokes its refresh token at ID-porten), then delete the flow.`,
          { extra: { state: publicState(snapshot) } },
        );
      }
      if (ctx.revocations.length > 0) {
        const last = ctx.revocations.find((r) => r.lastError !== null)?.lastError ?? null;
        return new AuthflowError(
          "flow_in_use",
          409,
          `ID-porten has not yet confirmed the revocation of ${ctx.revocations.length} refresh token(s) this flow owes${last ? ` (last try: ${last.error})` : ""}; it is retried with backoff. Delete the flow once it is done: deleted now, the token would live on at ID-porten with no record of it here.`,
          { extra: { state: publicState(snapshot), pendingRevocations: ctx.revocations.length, retryAfterSeconds: 30 } },
        );
      }
      return null;
    },
    // The login link is a capability (opened first, it binds that browser): in views, never in the store's clear summary.
    unstoredSummaryFields: ["authorizationUrl"],
    nextDeadline,
    attentionFrom: (snapshot) => {
      const ctx = snapshot.context as AuthorizationContext;
      if (ctx.attention) return ctx.attention.since;
      if (grantState(snapshot) === "expired") return 0;
      return ctx.authorization && warningMs > 0 ? ctx.authorization.expiresAt - warningMs : null;
    },
    // Upkeep that changed nothing a person sees: a keep-alive renewal, the renewal or Altinn
    // exchange a token call needed, and their answers. A person's RENEW, a failure, and any of
    // them that changed what a person sees stay entries of their own for good.
    // A failure repeated by the retries of upkeep is routine too (its first stays an entry of its own):
    // a renewal refused until a person renews the client secret, retried with backoff up to once an
    // hour, wrote an entry an hour for as long as the authorization lived (8,700 a year; seen in review).
    routine: (event, before, after) =>
      ((ROUTINE_EVENTS.has(event.type) || (event.upkeep === true && (event.type === "RENEW" || event.type === "EXCHANGE_ALTINN"))) && whatAPersonSees(before) === whatAPersonSees(after)) ||
      repeatedFailure(event, before, after),
    auditDetail: (snapshot, event) => {
      // The login's audit entry names the person who logged in, masked (a new person for the same user shows here).
      if (event.type !== "xstate.done.actor.exchangeCode") return undefined;
      const pid = (event as { output?: { pid?: string | null } }).output?.pid ?? null;
      return { person: maskPid(pid) };
    },
  };
}

/**
 * A retry of upkeep that failed as the one before it did: the same error after a failed renewal (the
 * provider's words differ by their correlation id), or a revocation retried again, with nothing else
 * a person sees changed. The failure that began the run is not (it changed the last error, or the
 * revocation had not failed before).
 */
function repeatedFailure(event: { type: string }, before: AnyMachineSnapshot, after: AnyMachineSnapshot): boolean {
  const was = before.context as AuthorizationContext;
  if (event.type === "xstate.error.actor.refreshIdporten") {
    // Upkeep's retries only: a person's RENEW and what it met stay entries of their own.
    return was.authorization?.renewalByUpkeep === true && (was.authorization.renewalFailures ?? 0) > 0 && was.lastError !== null && whatAPersonSees(before, "code only") === whatAPersonSees(after, "code only");
  }
  if (event.type === "xstate.error.actor.exchangeAltinn") {
    // Altinn refusing again as it did (the keep-alive's retry of a person it does not know).
    const attention = (after.context as AuthorizationContext).attention;
    return was.attention !== null && attention !== null && (attention.tries ?? 1) > 1 && attention.error === was.attention.error && whatAPersonSees(before, "code only") === whatAPersonSees(after, "code only");
  }
  if (event.type === "xstate.error.actor.revokeToken") {
    // The entry whose call was out (marked `trying`; the head in a snapshot written before the mark).
    const tried = was.revocations.find((r) => r.trying === true) ?? was.revocations[0];
    const now = tried && (after.context as AuthorizationContext).revocations.find((r) => r.refreshToken === tried.refreshToken);
    // The same revocation failed before, and fails again as it did (its token, if still owed, with the same error).
    return !!tried && tried.failures > 0 && (now === undefined || now.lastError?.error === tried.lastError?.error) && whatAPersonSees(before) === whatAPersonSees(after);
  }
  return false;
}

/** Events whose audit entries are routine when they change nothing a person sees (see `routine` above). */
// REVOCATION_RETRY: a revocation tried again (hourly, for as long as its token could be used) wrote an
// entry each time, never folded (review: 8,760 a year for a revocation ID-porten keeps refusing).
const ROUTINE_EVENTS = new Set(["KEEP_ALIVE", "REVOCATION_RETRY", "xstate.done.actor.refreshIdporten", "xstate.done.actor.exchangeAltinn"]);

/**
 * What a person reading the flow sees of it, beyond what upkeep moves by its nature (token expiry
 * times, the renewing substate): the state — the login's and, behind a pending login, the
 * authorization's own — who it is bound to and who is logging in, whose authorization it is, what
 * needs attention and the last error. Upkeep that moves any of these (the Altinn token that first
 * completes an authorization, a renewal whose answer hands it to the person who just logged in, the
 * renewal that ends a failure) is not routine.
 */
function whatAPersonSees(snapshot: AnyMachineSnapshot, lastError: "whole" | "code only" = "whole"): string {
  const ctx = snapshot.context as AuthorizationContext;
  const idporten = ctx.authorization?.idporten;
  return JSON.stringify([
    publicState(snapshot),
    grantState(snapshot),
    ctx.boundUser,
    ctx.attempt?.user ?? null,
    idporten ? [idporten.pid, idporten.acr, idporten.grantedScope] : null,
    ctx.authorization?.altinn ? true : false,
    ctx.attention ? [ctx.attention.error, ctx.attention.since] : null,
    lastError === "whole" ? ctx.lastError : (ctx.lastError?.error ?? null),
    ctx.revocations.length,
  ]);
}

/** The flow's earliest timer: the login's deadline, the authorization's end, the keep-alive, a revocation's retry. */
export function nextDeadline(snapshot: AnyMachineSnapshot): number | null {
  const ctx = snapshot.context as AuthorizationContext;
  const times: number[] = [];
  if (loginState(snapshot) === "awaitingCode" && ctx.attempt) times.push(ctx.attempt.loginDeadline);
  const grant = grantState(snapshot);
  if ((grant === "idportenAuthorized" || grant === "altinnAuthorized") && ctx.authorization) {
    times.push(ctx.authorization.expiresAt);
    if (grantSubstate(snapshot) === "ready") {
      const keepAlive = keepAliveAt(ctx);
      if (keepAlive !== null) times.push(keepAlive);
    }
  }
  const value = snapshot.value as { revocation?: string };
  // Waiting for its retry, or caught mid-call by a crash (due at once: revoking is idempotent).
  if ((value.revocation === "waiting" || value.revocation === "revoking") && ctx.revocations[0]) times.push(ctx.revocations[0].nextAt);
  return times.length ? Math.min(...times) : null;
}
