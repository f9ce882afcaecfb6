// The vocabulary of the authorization machine: its context, events and actor contracts.
// Everything here is plain JSON, so a snapshot survives a JSON round-trip (DESIGN §2).

export const TOP_STATES = ["idle", "awaitingCode", "exchanging", "idportenAuthorized", "altinnAuthorized", "expired"] as const;
/** The machine's three parallel regions: the authorization itself, a login in progress, revocations owed to ID-porten. */
export const REGIONS = ["grant", "login", "revocation"] as const;
export type TopState = (typeof TOP_STATES)[number];

/** An OAuth/OIDC error as the provider said it, verbatim, plus our hint for the person reading it. */
export interface FlowError {
  error: string;
  error_description: string;
  hint?: string;
}

/** What the service prepared for one login: the URL to send the browser to and its one-time values. */
export interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** The security level asked for (acr_values); the returned acr must not be lower. */
  acr?: string | null;
}

/** The redirect URL set-up that the redirect-URL guard checks (the most common real set-up error). */
export interface RedirectSetup {
  redirectUri: string;
  registeredRedirectUris: string[];
  callbackUrl: string;
}

export interface AttemptSettings {
  exchangeMode: "auto" | "manual";
  loginTimeoutSeconds: number;
  authorizationLifetimeSeconds: number;
  /** Refresh-token inactivity lifetime at the provider; the flow renews before it lapses. */
  keepAliveSeconds?: number;
}

export interface Attempt {
  user: string;
  request: AuthorizationRequest;
  settings: AttemptSettings;
  startedAt: number;
  loginDeadline: number;
  /** The authorization response, once the browser came back with a code. */
  response: { code: string; state: string; iss?: string } | null;
  callbackConsumed: boolean;
  /**
   * The login link on this server that binds a browser to this login (issue 9): `loginId` is its
   * opaque, single-use id; once a browser opened it, `browserBinding` is the SHA-256 of the secret
   * in that browser's cookie, and only a callback carrying that cookie is taken. Absent on attempts
   * without a login link (direct callers of the machine).
   */
  login?: { loginId: string; url: string; browserBinding: string | null; uiLocale: string | null };
}

export interface IdportenTokens {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  grantedScope: string;
  accessTokenExpiresAt: number;
  pid: string | null;
  acr: string | null;
  refreshedAt: number;
}

export interface Authorization {
  idporten: IdportenTokens;
  altinn: { token: string; expiresAt: number } | null;
  /** When the person logged in (the token response that created this authorization). */
  authorizedAt: number;
  /** The hard end of the authorization (its lifetime), not moved by renewals. */
  expiresAt: number;
  settings: AttemptSettings;
  /** Renewals that failed in a row (not invalid_grant), and when the last one was tried: for backoff. */
  renewalFailures: number;
  lastRenewalAt: number | null;
  /** Renewals retried at once because no answer came (timeout, dropped connection): at most one in a row. */
  lostRetries: number;
  /** The renewal under way (or last made) was upkeep — a keep-alive, or one a token call needed — not a person's RENEW. */
  renewalByUpkeep?: boolean;
}

/** Tokens of a login that succeeded while the earlier authorization was busy renewing: taken over once it is not. */
export interface Replacement {
  user: string;
  tokens: TokenSet;
  settings: AttemptSettings;
}

export interface LastLogin {
  user: string;
  state: string;
  startedAt: number;
  browserBinding: string | null;
  uiLocale: string | null;
  /** Its tokens were received (the authorization may still be waiting to take them over). */
  succeeded: boolean;
  error: FlowError | null;
}

/** A refresh token to revoke at ID-porten (REVOKE, or an authorization replaced by a new login); retried until done. */
export interface PendingRevocation {
  refreshToken: string;
  reason: "revoked" | "replaced";
  failures: number;
  /** Not before this time (backoff after a failure). */
  nextAt: number;
  /** When the last try was made (its backoff counts from then, also after a late start). */
  triedAt?: number;
  /** Its revocation call is out now: its answer is recorded on this entry, whatever was added meanwhile. */
  trying?: boolean;
  /** After this the grant has ended by itself and revoking it is moot. */
  until: number;
  lastError: FlowError | null;
}

/** Something only a person can fix (a refused client secret): said, not retried for ever in silence. */
export interface Attention {
  error: string;
  error_description: string;
  hint?: string;
  since: number;
  /** Altinn's refusals: when Altinn was last asked, and how many times in a row it refused (the keep-alive asks it again less and less often). */
  triedAt?: number;
  tries?: number;
}

export interface AuthorizationContext {
  legalEntity: string;
  integration: string;
  boundUser: string | null;
  attempt: Attempt | null;
  authorization: Authorization | null;
  replacement: Replacement | null;
  /** The login that ended last, so its browser can be told its outcome again (a reload of the callback page). */
  lastLogin: LastLogin | null;
  revocations: PendingRevocation[];
  attention: Attention | null;
  lastError: FlowError | null;
}

export interface AuthorizationInput {
  legalEntity: string;
  integration: string;
  createdAt: number;
}

// Every event carries `at`: the engine stamps it from the clock, so the machine itself stays pure.
export type AuthorizationEvent =
  | {
      type: "AUTHORIZE";
      at: number;
      user: string;
      request: AuthorizationRequest;
      redirect: RedirectSetup;
      settings: AttemptSettings;
      login?: { loginId: string; url: string; uiLocale?: string | null };
    }
  | { type: "LOGIN_OPENED"; at: number; loginId: string; browserBinding: string }
  | { type: "LOGIN_REFUSED"; at: number; loginId: string; error: FlowError }
  | { type: "CALLBACK"; at: number; state: string; callbackUrl: string; browserBinding?: string | null; code?: string; iss?: string; error?: string; error_description?: string }
  | { type: "EXCHANGE_CODE"; at: number; user: string }
  // upkeep: sent by a token call that needed it, not by a person (the audit marks it routine).
  | { type: "EXCHANGE_ALTINN"; at: number; user: string; upkeep?: boolean }
  | { type: "RENEW"; at: number; user?: string; upkeep?: boolean }
  | { type: "REVOKE"; at: number; user: string }
  | { type: "LOGIN_TIMEOUT"; at: number }
  | { type: "AUTHORIZATION_EXPIRED"; at: number }
  | { type: "KEEP_ALIVE"; at: number }
  | { type: "REVOCATION_RETRY"; at: number }
  // Raised by the machine itself when a login's replacement adds a revocation: a retry timer armed
  // for the old head is armed again for the new one.
  | { type: "REVOCATIONS_CHANGED"; at: number };

export type AuthorizationEventType = AuthorizationEvent["type"];

/** Events a service may send over HTTP; the others come from the callback page or from timers. */
export const PUBLIC_EVENTS = ["AUTHORIZE", "EXCHANGE_CODE", "EXCHANGE_ALTINN", "RENEW", "REVOKE"] as const;

// Actor contracts: the machine's only I/O.
export interface CodeExchangeInput {
  callbackParams: Record<string, string>;
  codeVerifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
  /** The acr asked for at /authorize: a lower returned level is refused (insufficient_acr). */
  expectedAcr?: string | null;
  /** The flow's integration (its ID-porten/Altinn clients); absent means "default" (snapshots stored before integrations). */
  integration?: string;
}
export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  scope: string;
  expiresIn: number;
  pid: string | null;
  acr: string | null;
  /** The person's pairwise subject, authentication methods and time (id_token claims), when given. */
  sub?: string | null;
  amr?: string[] | null;
  authTime?: number | null;
  receivedAt: number;
}
export interface RefreshInput {
  refreshToken: string;
  /** The flow's integration (its ID-porten/Altinn clients); absent means "default" (snapshots stored before integrations). */
  integration?: string;
}
export interface AltinnExchangeInput {
  accessToken: string;
  accessTokenExpiresAt: number;
  /** The flow's integration (its ID-porten/Altinn clients); absent means "default" (snapshots stored before integrations). */
  integration?: string;
}
export interface AltinnToken {
  token: string;
  expiresAt: number;
}
export interface DeadlineInput {
  at: number | null;
  event: "LOGIN_TIMEOUT" | "AUTHORIZATION_EXPIRED" | "KEEP_ALIVE" | "REVOCATION_RETRY";
}
export interface RevocationInput {
  refreshToken: string;
  /** The flow's integration (its ID-porten/Altinn clients); absent means "default" (snapshots stored before integrations). */
  integration?: string;
}
