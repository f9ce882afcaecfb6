// The part of oidc-provider 9's API the simulator uses, typed by hand from its source
// (node_modules/oidc-provider/lib). Nothing here is a runtime value.

import type { IncomingMessage, ServerResponse } from "node:http";

/** What oidc-provider hands an adapter to keep; `jti` of an opaque token is the token itself. */
export interface AdapterPayload {
  [key: string]: unknown;
  jti?: string;
  exp?: number;
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  consumed?: number;
  /** Epoch milliseconds of the first consumption (the simulator's own, for the reuse grace). */
  consumedAt?: number;
}

export interface Adapter {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface Client {
  clientId: string;
  clientName?: string;
  grantTypeAllowed(grantType: string): boolean;
}

export interface Grant {
  jti: string;
  exp?: number;
  accountId: string;
  clientId: string;
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

export interface Interaction {
  uid: string;
  exp: number;
  returnTo: string;
  params: Record<string, string | undefined>;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  session?: { uid: string; accountId: string };
  result?: Record<string, unknown>;
  save(ttl: number): Promise<string>;
}

export interface Session {
  destroy(): Promise<void>;
}

/** A token or code model as the ttl and claim hooks see it. */
export interface TokenModel {
  kind: string;
  accountId?: string;
  acr?: string;
  exp?: number;
  grantId?: string;
}

/** The browser session (oidc-provider's Session model) as the simulator reads it. */
export interface OIDCSession {
  accountId?: string;
  acr?: string;
  loginTs?: number;
  /** Whether the login is older than `age` seconds. */
  past(age: number): boolean;
  sidFor(clientId: string): string | undefined;
  /** Gives the client a sid in this session (oidc-provider does it after loadExistingGrant). */
  ensureClientContainer(clientId: string): void;
}

export interface OIDCContext {
  route: string;
  client?: Client;
  params?: Record<string, unknown>;
  /** The prompt values the request asked for. */
  prompts: Set<string>;
  result?: { login?: { accountId: string } } & Record<string, unknown>;
  session: OIDCSession;
  entities: {
    Grant?: Grant;
    AuthorizationCode?: TokenModel;
    RefreshToken?: TokenModel;
    PushedAuthorizationRequest?: { jti: string };
  };
  provider: Provider;
}

/** The Koa context oidc-provider passes to middleware and hooks. */
export interface ProviderContext {
  oidc: OIDCContext;
  status: number;
  body: unknown;
  type: string;
  method: string;
  path: string;
  /** The request's query (Koa). */
  query: Record<string, string | string[] | undefined>;
  state: Record<string, unknown>;
}

export interface Account {
  accountId: string;
  claims(): Promise<Record<string, unknown>>;
}

export interface Provider {
  issuer: string;
  proxy: boolean;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, listener: (ctx: ProviderContext, error?: { error?: string; error_detail?: string; message?: string }) => void): void;
  Grant: { new (init: { accountId: string; clientId: string }): Grant };
  Interaction: { find(uid: string): Promise<Interaction | undefined> };
  Session: { findByUid(uid: string): Promise<Session | undefined> };
}

export interface Check {
  readonly reason: string;
}

export interface Prompt {
  name: string;
  checks: Check[];
}

export interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => Provider;
  errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
    InvalidScope: new (description: string, scope: string) => Error;
  };
  interactionPolicy: {
    base(): Prompt[] & { get(name: string): Prompt | undefined };
    Check: new (reason: string, description: string, error: string, check: (ctx: ProviderContext) => boolean) => Check;
  };
}
