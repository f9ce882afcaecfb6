// The authorization machine (DESIGN §2). Pure: every piece of I/O is a named actor that the service
// supplies with machine.provide(); time arrives on events (`at`) and from the injected clock in the
// timer actor.
//
// Three parallel regions, because they live side by side in the real world:
// - `grant`: the authorization itself — idle → idportenAuthorized → altinnAuthorized → expired, with
//   its keep-alive and renewals;
// - `login`: a login in progress — inactive → awaitingCode → exchanging. It runs *beside* the grant,
//   so a colleague's pending or abandoned login never stops the bound user's keep-alive, renewal or
//   token call (issue 8). Its failure, cancellation or timeout leaves the grant as it was; its success
//   hands the new tokens to the grant region, which takes them over as soon as it is not renewing
//   (a refresh in flight has spent its one-time token: its answer must land first).
// - `revocation`: refresh tokens owed a revocation at ID-porten (REVOKE, a replaced authorization),
//   retried with backoff until done, never blocking anything.
// The public state name (the API's `state`) is derived: the login's state while one is in progress,
// else the grant's (see publicState in authorization-state.ts).
//
// Invokes have ids of their own, so their done/error events read as words ("done: exchangeCode") in
// the audit trail and the inspector. Deadlines live in context as absolute times and are armed by the
// invoked `deadline` actor, which restarts with the remaining time whenever a snapshot is restored
// (xstate does not persist `after` timers, statelyai/xstate#5331) and chunks waits beyond
// setTimeout's 24.8-day limit (see clock.ts).
import { and, assign, fromCallback, fromPromise, not, raise, setup, stateIn } from "xstate";
import type {
  AltinnExchangeInput,
  AltinnToken,
  Attempt,
  Authorization,
  AuthorizationContext,
  AuthorizationEvent,
  AuthorizationInput,
  CodeExchangeInput,
  DeadlineInput,
  FlowError,
  LastLogin,
  PendingRevocation,
  RefreshInput,
  RevocationInput,
  TokenSet,
} from "./authorization-types.ts";
import { checkRedirectUrl, holdsBinding, startedAttempt } from "./authorization-rules.ts";
import { toFlowError } from "./flow-error.ts";

export const AUTHORIZATION_MACHINE = { name: "authorization", version: 2 } as const;

const notProvided = (name: string) => () => {
  throw new Error(`The actor "${name}" has no implementation: supply it with machine.provide({ actors })`);
};

type DoneTokens = { output: TokenSet };
type WithContext = { context: AuthorizationContext };

function idportenFrom(tokens: TokenSet, previousRefresh: string | null = null) {
  return {
    accessToken: tokens.accessToken,
    // A provider that does not rotate may omit the refresh token on refresh: keep the one we had.
    refreshToken: tokens.refreshToken ?? previousRefresh,
    idToken: tokens.idToken,
    grantedScope: tokens.scope,
    accessTokenExpiresAt: tokens.receivedAt + tokens.expiresIn * 1000,
    pid: tokens.pid,
    acr: tokens.acr,
    refreshedAt: tokens.receivedAt,
  };
}

function newAuthorization(tokens: TokenSet, settings: Authorization["settings"]): Authorization {
  return {
    idporten: idportenFrom(tokens),
    altinn: null,
    authorizedAt: tokens.receivedAt,
    expiresAt: tokens.receivedAt + settings.authorizationLifetimeSeconds * 1000,
    settings,
    renewalFailures: 0,
    lastRenewalAt: null,
    lostRetries: 0,
  };
}

/** After a failed renewal or revocation, wait 30 s, 60 s, 120 s … (at most an hour) before the next try. */
/** A revocation whose backoff would pass its token's end is tried once more this long before the end. */
export const REVOCATION_LAST_TRY_MS = 30_000;

/**
 * The revocations owed, the one due first at the head: the revocation region tries the head (review:
 * a REVOKE's own, due at once, was queued behind a replaced grant's on its backoff, up to an hour,
 * while the grant just revoked stayed usable). A stable sort: among equals the order they came in,
 * so the one being tried stays at the head when another is added.
 */
function earliestFirst(revocations: PendingRevocation[]): PendingRevocation[] {
  // The one whose call is out stays at the head (its invoke was made for it; review: a replaced
  // grant's revocation added meanwhile took the head, and the answer was recorded on it — dropped unrevoked).
  return [...revocations].sort((a, b) => Number(b.trying === true) - Number(a.trying === true) || a.nextAt - b.nextAt);
}

/** The entry whose call is out (the head when none is marked: a snapshot written before the mark). */
function tried(revocations: PendingRevocation[]): number {
  return Math.max(0, revocations.findIndex((r) => r.trying === true));
}

/**
 * The flow's attention once no revocation is owed on account of a refused client secret (one went
 * through, or was given up): a client refusal with no authorization left can only have come from a
 * revocation, and is over; any other attention stays.
 */
function revocationAttentionOver(context: AuthorizationContext): AuthorizationContext["attention"] {
  return context.authorization === null && clientRefusal(context.attention) ? null : context.attention;
}

/** How the hints of a refused client secret end (machines/flow-error.ts, flows/authorization-flow.ts), taken off where no authorization is left. */
const STILL_GOOD = /[;.]? [Tt]he authorization itself is still good\.?$/;

const clientRefusal = (error: { error: string } | null) => error !== null && ["invalid_client", "unauthorized_client"].includes(error.error);

export function renewalBackoffMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(30_000 * 2 ** (failures - 1), 3600_000);
}

/** Altinn refused the person or scope `tries` times in a row: ask again after 8 min, 16, 32 … at most a day. */
export function altinnRetryMs(tries: number): number {
  return Math.min(480_000 * 2 ** Math.max(0, tries - 1), 86_400_000);
}

/**
 * When to renew so the refresh token never dies of inactivity: at 80% of its window (at least 2 s
 * before its end). After a
 * failure, not before the backoff has passed (a failing provider must not be hammered) — but never
 * past the refresh token's own end: retries then halve the time that is left (at least a second
 * apart), so a failed keep-alive gets more tries while the token can still be used, instead of one
 * that lands after it died (found by the soak: one 5xx at 80% of a 30 s window cost the authorization).
 */
export function keepAliveAt(context: AuthorizationContext): number | null {
  const auth = context.authorization;
  const window = auth?.settings.keepAliveSeconds;
  if (!auth || !window || !auth.idporten.refreshToken) return null;
  // 80 % of the window, and at least 2 s before it ends (a short window leaves the timer, the
  // write that must precede the call and the round trip little room), never before its half.
  const due = auth.idporten.refreshedAt + Math.max(window * 500, Math.min(window * 800, window * 1000 - 2000));
  let at = due;
  const last = auth.lastRenewalAt;
  if (auth.renewalFailures > 0 && last !== null) {
    const backoff = last + renewalBackoffMs(auth.renewalFailures);
    const dies = auth.idporten.refreshedAt + window * 1000;
    at = Math.max(due, dies > last ? Math.min(backoff, last + Math.max(1000, (dies - last) / 2)) : backoff);
  }
  return at < auth.expiresAt ? at : null;
}

/**
 * The refresh token an authorization leaves behind for revocation, if it has one and it can still be
 * used: until the grant's end — or, with a refresh-token inactivity window (keepAliveSeconds), until
 * the token dies unused, which it does once it is no longer renewed. A revocation that keeps failing
 * is owed no longer than that (it was owed for the rest of the grant's year, each replaced login
 * adding one, in every write of the flow; seen in review).
 */
function revocationOf(auth: Authorization | null, reason: PendingRevocation["reason"], at: number): PendingRevocation[] {
  const token = auth?.idporten.refreshToken;
  const window = auth?.settings.keepAliveSeconds;
  const until = auth ? Math.min(auth.expiresAt, window ? auth.idporten.refreshedAt + window * 1000 : Infinity) : 0;
  if (!auth || !token || until <= at) return [];
  return [{ refreshToken: token, reason, failures: 0, nextAt: at, until, lastError: null }];
}

const errorOf = (event: unknown) => (event as { error?: unknown }).error;

function endedLogin(attempt: Attempt | null, succeeded: boolean, error: FlowError | null): LastLogin | null {
  if (!attempt) return null;
  return {
    user: attempt.user,
    state: attempt.request.state,
    startedAt: attempt.startedAt,
    browserBinding: attempt.login?.browserBinding ?? null,
    uiLocale: attempt.login?.uiLocale ?? null,
    succeeded,
    error,
  };
}

// Actor inputs shared by several states.
const authorizationDeadline = ({ context }: WithContext): DeadlineInput => ({ at: context.authorization?.expiresAt ?? null, event: "AUTHORIZATION_EXPIRED" });
const keepAliveDeadline = ({ context }: WithContext): DeadlineInput => ({ at: keepAliveAt(context), event: "KEEP_ALIVE" });
const refreshInput = ({ context }: WithContext): RefreshInput => ({ refreshToken: context.authorization!.idporten.refreshToken!, integration: context.integration });
const altinnInput = ({ context }: WithContext): AltinnExchangeInput => ({
  accessToken: context.authorization!.idporten.accessToken,
  accessTokenExpiresAt: context.authorization!.idporten.accessTokenExpiresAt,
  integration: context.integration,
});

/**
 * A renewal that failed. No answer (timeout, dropped connection): retried at once, once — the
 * provider may have rotated the token, and a reuse grace only lasts seconds. A refused grant ends the
 * authorization. A refused client (secret expired) needs a person: said, and retried with backoff.
 */
const renewalFailed = [
  { guard: "lostResponse", target: "renewing", reenter: true, actions: "countLostRetry" },
  { guard: "refusedGrant", target: "#authorization.grant.expired", actions: "expireAuthorization" },
  { guard: "clientRefused", target: "ready", actions: ["recordError", "countRenewalFailure", "needAttention"] },
  { target: "ready", actions: ["recordError", "countRenewalFailure"] },
] as const;

/**
 * An Altinn exchange that failed. Altinn refusing a fresh ID-porten token (401: a person it does not
 * know — in TT02 a test person not in its register; 403: no scope it accepts) is not mended by
 * asking again: the flow needs a person, and says so (review: such a flow was listed by nobody's
 * ?attention=true, and every token call asked Altinn again).
 */
const altinnFailed = [
  { guard: "altinnRefused", target: "ready", actions: ["recordError", "needAttention"] },
  { target: "ready", actions: "recordError" },
] as const;

/** While the grant is ready, a login that succeeded meanwhile takes over (re-entering the state re-arms its deadlines). */
const takeOverReplacement = { guard: "replacementHeld", target: "#authorization.grant.idportenAuthorized", reenter: true, actions: ["bindReplacement", "requeueRevocations"] } as const;

/**
 * The keep-alive and renewal states of an authorized state; `renewed` is where a successful refresh
 * goes, `more` adds events its `ready` takes.
 */
function upkeep<More extends object>(renewed: string, more: More) {
  return {
    ready: {
      invoke: { id: "keepAlive", src: "deadline", input: keepAliveDeadline },
      always: takeOverReplacement,
      on: {
        RENEW: { guard: and(["boundUser", "refreshable"]), target: "renewing", actions: "noteRenewalAttempt" },
        KEEP_ALIVE: { guard: and(["refreshable", "keepAliveDue"]), target: "renewing", actions: "noteRenewalAttempt" },
        ...more,
      },
    },
    // ID-porten refresh: a one-time refresh token rotates. Its answer is never thrown away (the
    // engine writes it before anything else happens; a login that succeeded meanwhile waits for it).
    renewing: {
      invoke: { id: "refreshIdporten", src: "refreshIdporten", input: refreshInput, onDone: { target: renewed, actions: "recordRenewed" }, onError: renewalFailed },
    },
  } as const;
}

export const authorizationMachine = setup({
  types: {
    context: {} as AuthorizationContext,
    events: {} as AuthorizationEvent,
    input: {} as AuthorizationInput,
  },
  actors: {
    exchangeCode: fromPromise<TokenSet, CodeExchangeInput>(notProvided("exchangeCode")),
    refreshIdporten: fromPromise<TokenSet, RefreshInput>(notProvided("refreshIdporten")),
    exchangeAltinn: fromPromise<AltinnToken, AltinnExchangeInput>(notProvided("exchangeAltinn")),
    revokeToken: fromPromise<unknown, RevocationInput>(notProvided("revokeToken")),
    deadline: fromCallback<AuthorizationEvent, DeadlineInput>(notProvided("deadline")),
  },
  guards: {
    redirectUrlRegistered: ({ event }) => event.type === "AUTHORIZE" && checkRedirectUrl(event.redirect).ok,
    boundUser: ({ context, event }) => "user" in event && typeof event.user === "string" && holdsBinding(context, event.user),
    attemptUser: ({ context, event }) => "user" in event && typeof event.user === "string" && startedAttempt(context, event.user),
    // The callback answers this login, on the redirect URI it used, in the browser that opened its
    // login link (a forged or replayed callback from elsewhere, code or error, changes nothing).
    callbackForThisAttempt: ({ context, event }) =>
      event.type === "CALLBACK" &&
      context.attempt !== null &&
      !context.attempt.callbackConsumed &&
      event.state === context.attempt.request.state &&
      event.callbackUrl === context.attempt.request.redirectUri &&
      (context.attempt.login === undefined || (context.attempt.login.browserBinding !== null && event.browserBinding === context.attempt.login.browserBinding)),
    loginLinkUnopened: ({ context, event }) =>
      (event.type === "LOGIN_OPENED" || event.type === "LOGIN_REFUSED") &&
      context.attempt?.login !== undefined &&
      context.attempt.login.browserBinding === null &&
      context.attempt.login.loginId === event.loginId,
    callbackHasError: ({ event }) => event.type === "CALLBACK" && typeof event.error === "string",
    callbackHasCode: ({ event }) => event.type === "CALLBACK" && typeof event.code === "string" && event.code.length > 0,
    autoExchange: ({ context }) => context.attempt?.settings.exchangeMode === "auto",
    autoAltinn: ({ context }) => context.authorization?.settings.exchangeMode === "auto",
    codeHeld: ({ context }) => context.attempt?.response != null,
    refreshable: ({ context }) => context.authorization?.idporten.refreshToken != null,
    // A keep-alive timed for tokens that have since been renewed (a timer of an older copy, an event
    // re-applied after a lost write race) renews nothing: one-time refresh tokens are not spent twice.
    // What needs a person (a refused secret, now fixed) is retried whenever asked.
    keepAliveDue: ({ context, event }) => {
      if (context.attention !== null && ["invalid_client", "unauthorized_client"].includes(context.attention.error)) return true;
      const due = keepAliveAt(context);
      return due !== null && typeof (event as { at?: unknown }).at === "number" && (event as { at: number }).at >= due;
    },
    replacementHeld: ({ context }) => context.replacement !== null,
    revocationDue: ({ context }) => context.revocations.length > 0,
    refusedGrant: ({ event }) => toFlowError(errorOf(event)).error === "invalid_grant",
    clientRefused: ({ event }) => ["invalid_client", "unauthorized_client"].includes(toFlowError(errorOf(event)).error),
    altinnRefused: ({ event }) => ["altinn_unauthorized", "altinn_forbidden"].includes(toFlowError(errorOf(event)).error),
    // After Altinn refused the person or scope, a renewal asks it again only once its backoff has
    // passed: at every keep-alive (every 8 minutes) it cost an exchange and an audit entry, 65,000 a
    // year for a person Altinn never knew (review). A person's EXCHANGE_ALTINN asks at once.
    altinnMayBeAsked: ({ context }) => {
      const attention = context.attention;
      if (!attention?.error.startsWith("altinn_") || attention.triedAt === undefined) return true;
      const at = context.authorization?.lastRenewalAt ?? attention.triedAt;
      return at - attention.triedAt >= altinnRetryMs(attention.tries ?? 1);
    },
    lostResponse: ({ context, event }) => (errorOf(event) as { lost?: unknown } | undefined)?.lost === true && (context.authorization?.lostRetries ?? 1) < 1,
  },
  actions: {
    startAttempt: assign(({ event }) => {
      if (event.type !== "AUTHORIZE") return {};
      const attempt: Attempt = {
        user: event.user,
        request: event.request,
        settings: event.settings,
        startedAt: event.at,
        loginDeadline: event.at + event.settings.loginTimeoutSeconds * 1000,
        response: null,
        callbackConsumed: false,
        ...(event.login ? { login: { loginId: event.login.loginId, url: event.login.url, browserBinding: null, uiLocale: event.login.uiLocale ?? null } } : {}),
      };
      return { attempt, lastError: null };
    }),
    bindBrowser: assign(({ context, event }) => {
      if (event.type !== "LOGIN_OPENED" || !context.attempt?.login) return {};
      return { attempt: { ...context.attempt, login: { ...context.attempt.login, browserBinding: event.browserBinding } } };
    }),
    keepCode: assign(({ context, event }) => {
      if (event.type !== "CALLBACK" || !context.attempt || !event.code) return {};
      const response = { code: event.code, state: event.state, ...(event.iss ? { iss: event.iss } : {}) };
      return { attempt: { ...context.attempt, response, callbackConsumed: true } };
    }),
    recordCallbackError: assign(({ context, event }) => {
      if (event.type !== "CALLBACK") return {};
      const error = toFlowError({ error: event.error, error_description: event.error_description ?? event.error });
      return { attempt: null, lastError: error, lastLogin: endedLogin(context.attempt, false, error) };
    }),
    recordLoginTimeout: assign(({ context }) => {
      const error = toFlowError({
        error: "login_timeout",
        error_description: context.attempt?.response
          ? "The authorization code was received but not exchanged (EXCHANGE_CODE, \"Get access token\") before the login timeout."
          : "The ID-porten login was not completed before the login timeout.",
      });
      return { attempt: null, lastError: error, lastLogin: endedLogin(context.attempt, false, error) };
    }),
    recordLoginRefused: assign(({ context, event }) => {
      if (event.type !== "LOGIN_REFUSED") return {};
      const error = toFlowError(event.error);
      return { attempt: null, lastError: error, lastLogin: endedLogin(context.attempt, false, error) };
    }),
    recordAttemptFailure: assign(({ context, event }) => {
      const error = toFlowError(errorOf(event));
      return { attempt: null, lastError: error, lastLogin: endedLogin(context.attempt, false, error) };
    }),
    /** The login succeeded: its tokens wait in `replacement` until the grant region takes them (at once unless it is renewing). */
    holdReplacement: assign(({ context, event }) => {
      const attempt = context.attempt!;
      return {
        attempt: null,
        replacement: { user: attempt.user, tokens: (event as unknown as DoneTokens).output, settings: attempt.settings },
        lastLogin: endedLogin(attempt, true, null),
        lastError: null,
      };
    }),
    bindReplacement: assign(({ context, event }) => {
      const replacement = context.replacement!;
      return {
        boundUser: replacement.user,
        replacement: null,
        authorization: newAuthorization(replacement.tokens, replacement.settings),
        // The authorization it replaces is ended at ID-porten too: a live one-year grant nobody uses is a liability.
        revocations: earliestFirst([...context.revocations, ...revocationOf(context.authorization, "replaced", event.at ?? replacement.tokens.receivedAt)]),
        attention: null,
        lastError: null,
      };
    }),
    recordRenewed: assign(({ context, event }) => {
      const tokens = (event as unknown as DoneTokens).output;
      const auth = context.authorization!;
      // A renewal mends what ID-porten refused, not what Altinn refused: that stays until an exchange
      // succeeds (a keep-alive cleared Altinn's attention without asking Altinn again: review).
      const altinns = (error: { error: string } | null) => error !== null && error.error.startsWith("altinn_");
      return {
        authorization: { ...auth, idporten: idportenFrom(tokens, auth.idporten.refreshToken), renewalFailures: 0, lostRetries: 0 },
        attention: altinns(context.attention) ? context.attention : null,
        lastError: altinns(context.lastError) ? context.lastError : null,
      };
    }),
    recordAltinn: assign(({ context, event }) => {
      const altinn = (event as unknown as { output: AltinnToken }).output;
      return { authorization: { ...context.authorization!, altinn }, attention: null, lastError: null };
    }),
    recordError: assign(({ event }) => ({ lastError: toFlowError(errorOf(event)) })),
    noteRenewalAttempt: assign(({ context, event }) => ({
      authorization: { ...context.authorization!, lastRenewalAt: event.at, lostRetries: 0, renewalByUpkeep: event.type === "KEEP_ALIVE" || (event as { upkeep?: unknown }).upkeep === true },
    })),
    countRenewalFailure: assign(({ context }) => ({
      authorization: { ...context.authorization!, renewalFailures: context.authorization!.renewalFailures + 1 },
    })),
    countLostRetry: assign(({ context }) => ({ authorization: { ...context.authorization!, lostRetries: context.authorization!.lostRetries + 1 } })),
    needAttention: assign(({ context, event }) => {
      const error = toFlowError(errorOf(event));
      // An actor's error event carries no time; the renewal it ends was started at lastRenewalAt,
      // and an Altinn exchange right after a login at the login's tokens' receipt.
      const auth = context.authorization;
      const triedAt = auth?.lastRenewalAt ?? auth?.idporten.refreshedAt ?? 0;
      const again = context.attention?.error === error.error;
      return { attention: { ...error, since: context.attention?.since ?? triedAt, triedAt, tries: (again ? (context.attention!.tries ?? 1) : 0) + 1 } };
    }),
    expireAuthorization: assign(({ event }) => {
      const refused = event.type !== "AUTHORIZATION_EXPIRED" ? toFlowError(errorOf(event)) : null;
      return {
        authorization: null,
        attention: null,
        lastError: {
          error: "authorization_expired",
          error_description: refused
            ? `ID-porten refused to renew the authorization (${refused.error}: ${refused.error_description}). The grant has ended: its lifetime is over, it was revoked, ` +
              `or its one-time refresh token was already spent by a renewal whose answer was lost (a crash or a timeout).`
            : "The authorization lifetime is over.",
          hint: "Authorize again: send AUTHORIZE and log in with ID-porten.",
        },
      };
    }),
    revoke: assign(({ context, event }) => ({
      boundUser: null,
      attempt: null,
      replacement: null,
      authorization: null,
      // A revocation still owed that ID-porten refused for the client secret keeps the flow's
      // attention (review: REVOKE cleared it, and the flow was listed nowhere until that one's next
      // try, up to an hour on).
      attention: clientRefusal(context.attention) && context.revocations.some((owed) => clientRefusal(owed.lastError)) ? context.attention : null,
      lastError: null,
      revocations: earliestFirst([...context.revocations, ...revocationOf(context.authorization, "revoked", event.at)]),
    })),
    // A revocation ID-porten took proves the client's secret works again: the attention its refusal
    // set (no authorization is left to have set it otherwise) is over.
    // The replaced grant's revocation may be due before the one the retry timer waits for (review:
    // it waited out the other's backoff, up to an hour, the grant it replaced usable meanwhile).
    requeueRevocations: raise(({ context }) => ({ type: "REVOCATIONS_CHANGED" as const, at: context.revocations[0]?.nextAt ?? 0 })),
    dropRevocation: assign(({ context }) => ({
      revocations: context.revocations.filter((_, i) => i !== tried(context.revocations)),
      attention: revocationAttentionOver(context),
    })),
    stampRevocationTry: assign(({ context, event }) => {
      const [first, ...rest] = context.revocations;
      return first ? { revocations: [{ ...first, triedAt: event.at, trying: true }, ...rest.map(({ trying: _, ...r }) => r)] } : {};
    }),
    deferRevocation: assign(({ context, event }) => {
      const at = tried(context.revocations);
      if (!context.revocations[at]) return {};
      const { trying: _, ...first } = context.revocations[at];
      const rest = context.revocations.filter((_, i) => i !== at);
      // The backoff counts from when the failed try was made (stamped on entering revoking): after a
      // long downtime the tries must not bunch up at the due time long past.
      const failures = first.failures + 1;
      const triedAt = Math.max(first.triedAt ?? first.nextAt, first.nextAt);
      const lastError = toFlowError(errorOf(event));
      // Past the token's end (the grant's, or its inactivity window's) there is nothing left to
      // revoke. When the backoff's next step falls past it, one last try is made shortly before it:
      // given up at once, a refresh token stayed usable for minutes with nobody trying (review: tries
      // at 0, 30, 90, 210 and 450 s of a 600 s window, then none, and DELETE let through).
      const due = triedAt + renewalBackoffMs(failures);
      const lastChance = first.until - REVOCATION_LAST_TRY_MS;
      const nextAt = due < first.until ? due : lastChance > triedAt ? lastChance : null;
      const revocations = nextAt === null ? rest : earliestFirst([...rest, { ...first, failures, nextAt, lastError }]);
      // ID-porten refusing the client's secret is for a person to mend, here as for a renewal: the
      // flow needs attention (it was listed nowhere, and retried hourly for a year; review). Another
      // reason a person is already asked to look at stays. A revocation given up (its token can no
      // longer be used) is owed nothing more: the attention it set goes with it, unless another
      // revocation is still owed (review: it stayed for good, saying the token "is tried again").
      const owed = revocations.length > 0;
      if (!clientRefusal(lastError) || !owed) return { revocations, attention: owed ? context.attention : revocationAttentionOver(context) };
      if (context.attention !== null && context.attention.error !== lastError.error) return { revocations };
      const attention = {
        error: lastError.error,
        error_description: `ID-porten refused the revocation of an ended authorization's refresh token (${lastError.error_description}). It is tried again while that token could still be used, and the flow cannot be deleted until then.`,
        // The hint of a refused renewal ends "the authorization itself is still good": not here, where it was ended.
        ...(lastError.hint ? { hint: lastError.hint.replace(STILL_GOOD, ".") } : {}),
        since: context.attention?.since ?? triedAt,
      };
      return { revocations, attention };
    }),
  },
}).createMachine({
  id: "authorization",
  type: "parallel",
  context: ({ input }) => ({
    legalEntity: input.legalEntity,
    integration: input.integration,
    boundUser: null,
    attempt: null,
    authorization: null,
    replacement: null,
    lastLogin: null,
    revocations: [],
    attention: null,
    lastError: null,
  }),
  on: {
    // Not while a refresh or a code exchange is in flight: its one-time credential is spent and its
    // answer must land first (the service waits for it), so that what REVOKE hands to ID-porten for
    // revocation is the live refresh token and no fresh grant is left behind unknown.
    REVOKE: {
      guard: and([
        "boundUser",
        not(stateIn("#authorization.grant.idportenAuthorized.renewing")),
        not(stateIn("#authorization.grant.altinnAuthorized.renewing")),
        not(stateIn("#authorization.login.exchanging")),
      ]),
      target: [".grant.idle", ".login.inactive"],
      actions: "revoke",
    },
  },
  states: {
    grant: {
      initial: "idle",
      states: {
        idle: { always: takeOverReplacement },
        idportenAuthorized: {
          initial: "deciding",
          invoke: { id: "authorizationDeadline", src: "deadline", input: authorizationDeadline },
          on: { AUTHORIZATION_EXPIRED: { target: "expired", actions: "expireAuthorization" } },
          states: {
            // A login that succeeded while a renewal was out takes over first (its Altinn exchange, not the old one's).
            deciding: { always: [takeOverReplacement, { guard: and(["autoAltinn", "altinnMayBeAsked"]), target: "exchangingAltinn" }, { target: "ready" }] },
            // A renewal here goes by `deciding`: in auto mode the Altinn exchange that failed is tried
            // again with the fresh token (at each keep-alive, not at each token call).
            ...upkeep("deciding", { EXCHANGE_ALTINN: { guard: "boundUser", target: "exchangingAltinn" } } as const),
            exchangingAltinn: {
              invoke: {
                id: "exchangeAltinn",
                src: "exchangeAltinn",
                input: altinnInput,
                onDone: { target: "#authorization.grant.altinnAuthorized", actions: "recordAltinn" },
                onError: altinnFailed,
              },
            },
          },
        },
        altinnAuthorized: {
          initial: "ready",
          invoke: { id: "authorizationDeadline", src: "deadline", input: authorizationDeadline },
          on: { AUTHORIZATION_EXPIRED: { target: "expired", actions: "expireAuthorization" } },
          states: {
            // A renewal is an ID-porten refresh and then a new Altinn token.
            ...upkeep("exchangingAltinn", {}),
            exchangingAltinn: {
              invoke: {
                id: "exchangeAltinn",
                src: "exchangeAltinn",
                input: altinnInput,
                onDone: { target: "ready", actions: "recordAltinn" },
                onError: altinnFailed,
              },
            },
          },
        },
        expired: { always: takeOverReplacement },
      },
    },
    login: {
      initial: "inactive",
      states: {
        inactive: {
          on: { AUTHORIZE: { guard: "redirectUrlRegistered", target: "awaitingCode", actions: "startAttempt" } },
        },
        awaitingCode: {
          invoke: { id: "loginDeadline", src: "deadline", input: ({ context }) => ({ at: context.attempt?.loginDeadline ?? null, event: "LOGIN_TIMEOUT" }) },
          on: {
            // A second AUTHORIZE starts over with new one-time values.
            AUTHORIZE: { guard: "redirectUrlRegistered", target: "awaitingCode", reenter: true, actions: "startAttempt" },
            CALLBACK: [
              { guard: and(["callbackForThisAttempt", "callbackHasError"]), target: "inactive", actions: "recordCallbackError" },
              { guard: and(["callbackForThisAttempt", "callbackHasCode", "autoExchange"]), target: "exchanging", actions: "keepCode" },
              { guard: and(["callbackForThisAttempt", "callbackHasCode", not("autoExchange")]), actions: "keepCode" },
            ],
            EXCHANGE_CODE: { guard: and(["codeHeld", "attemptUser"]), target: "exchanging" },
            // The login link was opened: that browser, and only it, may bring the callback back.
            LOGIN_OPENED: { guard: "loginLinkUnopened", actions: "bindBrowser" },
            // ID-porten refused the pushed request itself (invalid_scope, invalid_client): this login cannot go on.
            LOGIN_REFUSED: { guard: "loginLinkUnopened", target: "inactive", actions: "recordLoginRefused" },
            LOGIN_TIMEOUT: { target: "inactive", actions: "recordLoginTimeout" },
          },
        },
        exchanging: {
          invoke: {
            id: "exchangeCode",
            src: "exchangeCode",
            input: ({ context }) => {
              const attempt = context.attempt!;
              const response = attempt.response!;
              return {
                callbackParams: { code: response.code, state: response.state, ...(response.iss ? { iss: response.iss } : {}) },
                codeVerifier: attempt.request.codeVerifier,
                state: attempt.request.state,
                nonce: attempt.request.nonce,
                redirectUri: attempt.request.redirectUri,
                expectedAcr: attempt.request.acr ?? null,
                integration: context.integration,
              };
            },
            onDone: { target: "inactive", actions: "holdReplacement" },
            onError: { target: "inactive", actions: "recordAttemptFailure" },
          },
        },
      },
    },
    revocation: {
      initial: "inactive",
      states: {
        inactive: { always: { guard: "revocationDue", target: "waiting" } },
        waiting: {
          always: { guard: not("revocationDue"), target: "inactive" },
          invoke: { id: "revocationRetry", src: "deadline", input: ({ context }) => ({ at: context.revocations[0]?.nextAt ?? null, event: "REVOCATION_RETRY" }) },
          on: { REVOCATION_RETRY: { target: "revoking", actions: "stampRevocationTry" }, REVOCATIONS_CHANGED: { target: "waiting", reenter: true } },
        },
        revoking: {
          invoke: {
            id: "revokeToken",
            src: "revokeToken",
            input: ({ context }) => ({ refreshToken: context.revocations[0]!.refreshToken, integration: context.integration }),
            onDone: { target: "inactive", actions: "dropRevocation" },
            onError: { target: "inactive", actions: "deferRevocation" },
          },
        },
      },
    },
  },
});

export type AuthorizationMachine = typeof authorizationMachine;
