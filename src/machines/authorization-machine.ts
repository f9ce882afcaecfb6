// The authorization machine (DESIGN §2): idle → awaitingCode → exchanging → idportenAuthorized →
// altinnAuthorized → expired. Pure: every piece of I/O is a named actor that the service supplies
// with machine.provide(); time arrives on events (`at`) and from the injected clock in the timer actor.
//
// Invokes have ids of their own, so their done/error events read as words ("xstate.done.actor.exchangeCode")
// in the audit trail and the inspector.
// Deadlines live in context as absolute times and are armed by the invoked `deadline` actor, which
// restarts with the remaining time whenever a snapshot is restored (xstate does not persist `after`
// timers, statelyai/xstate#5331) and chunks waits beyond setTimeout's 24.8-day limit (see clock.ts).
import { assign, fromCallback, fromPromise, setup, and, not } from "xstate";
import type {
  AltinnExchangeInput,
  AltinnToken,
  Attempt,
  AuthorizationContext,
  AuthorizationEvent,
  AuthorizationInput,
  CodeExchangeInput,
  DeadlineInput,
  RefreshInput,
  TokenSet,
} from "./authorization-types.ts";
import { checkRedirectUrl, holdsBinding, startedAttempt } from "./authorization-rules.ts";
import { toFlowError } from "./flow-error.ts";

export const AUTHORIZATION_MACHINE = { name: "authorization", version: 1 } as const;

const notProvided = (name: string) => () => {
  throw new Error(`The actor "${name}" has no implementation: supply it with machine.provide({ actors })`);
};

type DoneTokens = { output: TokenSet };

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

/** After a failed renewal, wait 30 s, 60 s, 120 s … (at most an hour) before the next try. */
export function renewalBackoffMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(30_000 * 2 ** (failures - 1), 3600_000);
}

/**
 * When to renew so the refresh token never dies of inactivity: at 80% of its window; after a
 * failure, not before the backoff has passed (a failing provider must not be hammered).
 */
export function keepAliveAt(context: AuthorizationContext): number | null {
  const auth = context.authorization;
  const window = auth?.settings.keepAliveSeconds;
  if (!auth || !window || !auth.idporten.refreshToken) return null;
  const due = auth.idporten.refreshedAt + window * 800;
  const at = auth.renewalFailures > 0 && auth.lastRenewalAt !== null ? Math.max(due, auth.lastRenewalAt + renewalBackoffMs(auth.renewalFailures)) : due;
  return at < auth.expiresAt ? at : null;
}

// Actor inputs shared by several states: the authorization's own end, the keep-alive renewal,
// and the tokens the renewal and the Altinn exchange work from.
type WithContext = { context: AuthorizationContext };
const authorizationDeadline = ({ context }: WithContext): DeadlineInput => ({ at: context.authorization?.expiresAt ?? null, event: "AUTHORIZATION_EXPIRED" });
const keepAliveDeadline = ({ context }: WithContext): DeadlineInput => ({ at: keepAliveAt(context), event: "KEEP_ALIVE" });
const refreshInput = ({ context }: WithContext): RefreshInput => ({ refreshToken: context.authorization!.idporten.refreshToken! });
const altinnInput = ({ context }: WithContext): AltinnExchangeInput => ({
  accessToken: context.authorization!.idporten.accessToken,
  accessTokenExpiresAt: context.authorization!.idporten.accessTokenExpiresAt,
});

/** A refused refresh (invalid_grant) ends the authorization; any other failure keeps it, with the reason. */
const renewalFailed = [
  { guard: "refusedGrant", target: "#authorization.expired", actions: "expireAuthorization" },
  { target: "ready", actions: ["recordError", "countRenewalFailure"] },
] as const;

/**
 * A failed or abandoned attempt goes back to the authorized state it came from when an earlier
 * authorization still holds (a colleague's abandoned login never costs the bound user), else to idle.
 */
function failAttempt(action: "recordCallbackError" | "recordLoginTimeout" | "recordAttemptFailure", when: Array<"callbackForThisAttempt" | "callbackHasError"> = []) {
  return [
    { guard: and([...when, "hasValidAuthorization", "altinnHeld"]), target: "#authorization.altinnAuthorized", actions: action },
    { guard: and([...when, "hasValidAuthorization"]), target: "#authorization.idportenAuthorized.ready", actions: action },
    { guard: and([...when]), target: "#authorization.idle", actions: action },
  ] as const;
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
    deadline: fromCallback<AuthorizationEvent, DeadlineInput>(notProvided("deadline")),
  },
  guards: {
    redirectUrlRegistered: ({ event }) => event.type === "AUTHORIZE" && checkRedirectUrl(event.redirect).ok,
    boundUser: ({ context, event }) => "user" in event && typeof event.user === "string" && holdsBinding(context, event.user),
    attemptUser: ({ context, event }) => "user" in event && typeof event.user === "string" && startedAttempt(context, event.user),
    callbackForThisAttempt: ({ context, event }) =>
      event.type === "CALLBACK" &&
      context.attempt !== null &&
      !context.attempt.callbackConsumed &&
      event.state === context.attempt.request.state &&
      event.callbackUrl === context.attempt.request.redirectUri,
    callbackHasError: ({ event }) => event.type === "CALLBACK" && typeof event.error === "string",
    callbackHasCode: ({ event }) => event.type === "CALLBACK" && typeof event.code === "string" && event.code.length > 0,
    autoExchange: ({ context }) => context.attempt?.settings.exchangeMode === "auto",
    autoAltinn: ({ context }) => context.authorization?.settings.exchangeMode === "auto",
    codeHeld: ({ context }) => context.attempt?.response != null,
    hasValidAuthorization: ({ context }) => context.authorization !== null,
    altinnHeld: ({ context }) => context.authorization?.altinn != null,
    refreshable: ({ context }) => context.authorization?.idporten.refreshToken != null,
    refusedGrant: ({ event }) => toFlowError((event as { error?: unknown }).error).error === "invalid_grant",
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
      };
      return { attempt, lastError: null };
    }),
    keepCode: assign(({ context, event }) => {
      if (event.type !== "CALLBACK" || !context.attempt || !event.code) return {};
      const response = { code: event.code, state: event.state, ...(event.iss ? { iss: event.iss } : {}) };
      return { attempt: { ...context.attempt, response, callbackConsumed: true } };
    }),
    recordCallbackError: assign(({ event }) => {
      if (event.type !== "CALLBACK") return {};
      return {
        attempt: null,
        lastError: toFlowError({ error: event.error, error_description: event.error_description ?? event.error }),
      };
    }),
    recordLoginTimeout: assign(({ context }) => ({
      attempt: null,
      lastError: toFlowError({
        error: "login_timeout",
        error_description: context.attempt?.response
          ? "The authorization code was received but not exchanged (EXCHANGE_CODE, \"Get access token\") before the login timeout."
          : "The ID-porten login was not completed before the login timeout.",
      }),
    })),
    bindAuthorization: assign(({ context, event }) => {
      const tokens = (event as unknown as DoneTokens).output;
      const attempt = context.attempt!;
      return {
        boundUser: attempt.user,
        attempt: null,
        authorization: {
          idporten: idportenFrom(tokens),
          altinn: null,
          expiresAt: tokens.receivedAt + attempt.settings.authorizationLifetimeSeconds * 1000,
          settings: attempt.settings,
          renewalFailures: 0,
          lastRenewalAt: null,
        },
        lastError: null,
      };
    }),
    recordAttemptFailure: assign(({ event }) => ({ attempt: null, lastError: toFlowError((event as { error?: unknown }).error) })),
    recordRenewed: assign(({ context, event }) => {
      const tokens = (event as unknown as DoneTokens).output;
      const auth = context.authorization!;
      return {
        authorization: { ...auth, idporten: idportenFrom(tokens, auth.idporten.refreshToken), renewalFailures: 0 },
        lastError: null,
      };
    }),
    recordAltinn: assign(({ context, event }) => {
      const altinn = (event as unknown as { output: AltinnToken }).output;
      return { authorization: { ...context.authorization!, altinn }, lastError: null };
    }),
    recordError: assign(({ event }) => ({ lastError: toFlowError((event as { error?: unknown }).error) })),
    noteRenewalAttempt: assign(({ context, event }) => ({ authorization: { ...context.authorization!, lastRenewalAt: event.at } })),
    countRenewalFailure: assign(({ context }) => ({
      authorization: { ...context.authorization!, renewalFailures: context.authorization!.renewalFailures + 1 },
    })),
    dropAuthorization: assign({ authorization: null }),
    expireAuthorization: assign(() => ({
      authorization: null,
      attempt: null,
      lastError: {
        error: "authorization_expired",
        error_description: "The authorization lifetime is over or the provider refused to renew it.",
        hint: "Authorize again: send AUTHORIZE and log in with ID-porten.",
      },
    })),
    revoke: assign({ boundUser: null, attempt: null, authorization: null, lastError: null }),
  },
}).createMachine({
  id: "authorization",
  context: ({ input }) => ({
    legalEntity: input.legalEntity,
    integration: input.integration,
    boundUser: null,
    attempt: null,
    authorization: null,
    lastError: null,
  }),
  initial: "idle",
  on: {
    REVOKE: { guard: "boundUser", target: ".idle", actions: "revoke" },
  },
  states: {
    idle: {
      on: { AUTHORIZE: { guard: "redirectUrlRegistered", target: "awaitingCode", actions: "startAttempt" } },
    },
    awaitingCode: {
      invoke: [
        { id: "loginDeadline", src: "deadline", input: ({ context }) => ({ at: context.attempt?.loginDeadline ?? null, event: "LOGIN_TIMEOUT" }) },
        // An earlier authorization keeps serving its user while someone logs in; it can still run out.
        { id: "authorizationDeadline", src: "deadline", input: authorizationDeadline },
      ],
      on: {
        AUTHORIZE: { guard: "redirectUrlRegistered", target: "awaitingCode", reenter: true, actions: "startAttempt" },
        CALLBACK: [
          ...failAttempt("recordCallbackError", ["callbackForThisAttempt", "callbackHasError"]),
          { guard: and(["callbackForThisAttempt", "callbackHasCode", "autoExchange"]), target: "exchanging", actions: "keepCode" },
          { guard: and(["callbackForThisAttempt", "callbackHasCode", not("autoExchange")]), actions: "keepCode" },
        ],
        EXCHANGE_CODE: { guard: and(["codeHeld", "attemptUser"]), target: "exchanging" },
        LOGIN_TIMEOUT: failAttempt("recordLoginTimeout"),
        AUTHORIZATION_EXPIRED: { actions: "dropAuthorization" },
      },
    },
    exchanging: {
      invoke: [
        {
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
            };
          },
          onDone: { target: "idportenAuthorized", actions: "bindAuthorization" },
          onError: failAttempt("recordAttemptFailure"),
        },
        { id: "authorizationDeadline", src: "deadline", input: authorizationDeadline },
      ],
      on: { AUTHORIZATION_EXPIRED: { actions: "dropAuthorization" } },
    },
    idportenAuthorized: {
      initial: "deciding",
      invoke: [
        { id: "authorizationDeadline", src: "deadline", input: authorizationDeadline },
      ],
      on: {
        AUTHORIZATION_EXPIRED: { target: "expired", actions: "expireAuthorization" },
      },
      states: {
        deciding: { always: [{ guard: "autoAltinn", target: "exchangingAltinn" }, { target: "ready" }] },
        ready: {
          invoke: { id: "keepAlive", src: "deadline", input: keepAliveDeadline },
          on: {
            EXCHANGE_ALTINN: { guard: "boundUser", target: "exchangingAltinn" },
            RENEW: { guard: and(["boundUser", "refreshable"]), target: "renewing", actions: "noteRenewalAttempt" },
            KEEP_ALIVE: { guard: "refreshable", target: "renewing", actions: "noteRenewalAttempt" },
            // Only here, not while renewing: starting a login must never cancel a refresh in flight
            // (the one-time refresh token is already spent at the provider).
            AUTHORIZE: { guard: "redirectUrlRegistered", target: "#authorization.awaitingCode", actions: "startAttempt" },
          },
        },
        renewing: {
          invoke: {
            id: "refreshIdporten",
          src: "refreshIdporten",
            input: refreshInput,
            onDone: { target: "ready", actions: "recordRenewed" },
            onError: renewalFailed,
          },
        },
        exchangingAltinn: {
          invoke: {
            id: "exchangeAltinn",
          src: "exchangeAltinn",
            input: altinnInput,
            onDone: { target: "#authorization.altinnAuthorized", actions: "recordAltinn" },
            onError: { target: "ready", actions: "recordError" },
          },
        },
      },
    },
    altinnAuthorized: {
      initial: "ready",
      invoke: [
        { id: "authorizationDeadline", src: "deadline", input: authorizationDeadline },
      ],
      on: {
        AUTHORIZATION_EXPIRED: { target: "expired", actions: "expireAuthorization" },
      },
      states: {
        ready: {
          invoke: { id: "keepAlive", src: "deadline", input: keepAliveDeadline },
          on: {
            RENEW: { guard: and(["boundUser", "refreshable"]), target: "renewing", actions: "noteRenewalAttempt" },
            KEEP_ALIVE: { guard: "refreshable", target: "renewing", actions: "noteRenewalAttempt" },
            // Only here, not while renewing: starting a login must never cancel a refresh in flight
            // (the one-time refresh token is already spent at the provider).
            AUTHORIZE: { guard: "redirectUrlRegistered", target: "#authorization.awaitingCode", actions: "startAttempt" },
          },
        },
        // A renewal is ID-porten refresh (one-time refresh token: rotate) and then a new Altinn token.
        renewing: {
          invoke: {
            id: "refreshIdporten",
          src: "refreshIdporten",
            input: refreshInput,
            onDone: { target: "exchangingAltinn", actions: "recordRenewed" },
            onError: renewalFailed,
          },
        },
        exchangingAltinn: {
          invoke: {
            id: "exchangeAltinn",
          src: "exchangeAltinn",
            input: altinnInput,
            onDone: { target: "ready", actions: "recordAltinn" },
            onError: { target: "ready", actions: "recordError" },
          },
        },
      },
    },
    expired: {
      on: { AUTHORIZE: { guard: "redirectUrlRegistered", target: "awaitingCode", actions: "startAttempt" } },
    },
  },
});

export type AuthorizationMachine = typeof authorizationMachine;
