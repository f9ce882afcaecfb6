// Wires the service together from a read-only Config: store, engine, clients, simulator, app.
// Shared by the Node and Deno entries; they add only the listening socket and signals.
import { realClock, SimulatedClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { createSecretBox, type SecretBox } from "./crypto/secrets.ts";
import { FlowEngine } from "./engine/flow-engine.ts";
import { MachineRegistry } from "./engine/machine-registry.ts";
import { authorizationFlowMachine } from "./flows/authorization-flow.ts";
import { AuthorizationService } from "./flows/authorization-service.ts";
import { callLease } from "./flows/call-lease.ts";
import { createIdportenClient } from "./idporten/idporten-client.ts";
import { createAltinnClient } from "./altinn/altinn-client.ts";
import { createApp, type Readiness } from "./server/app.ts";
import { loadApiToken, loadEncryptionKey } from "./store/secret-files.ts";
import { KEY_CHECK_FILE, LowdbFlowStore } from "./store/lowdb-store.ts";
import { KEY_CHECK, PostgresFlowStore } from "./store/postgres/postgres-store.ts";
import type { FlowStore } from "./store/flow-store.ts";
import { startSimulator, type RunningSimulator, type SimulatorClient } from "./simulator/index.ts";
import { ConfigError, DEFAULT_INTEGRATION } from "./config.ts";
import { acquireDataDirLock, type DataDirLock } from "./store/data-dir-lock.ts";
import { releaseFolders } from "./store/private-files.ts";
import type { ShutdownSignal } from "./lifecycle/shutdown-signal.ts";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { API_TOKEN_CLIENT, tokenSha256, type ApiClient, type Sha256 } from "./identity/api-clients.ts";
import type { UiUser } from "./identity/ui-users.ts";
import { readFileSettings } from "./lifecycle/file-settings.ts";
import { loadDemoUser } from "./identity/demo-user.ts";
import { parseTrustedProxies } from "./identity/trusted-proxies.ts";
import { Sessions, SignInLimiter } from "./identity/sessions.ts";
import { FileEndedSessions, PostgresEndedSessions } from "./identity/ended-sessions.ts";
import { MemorySignInAttempts, PostgresSignInAttempts } from "./identity/sign-in-attempts.ts";
import { startStatelyInspector, type StatelyInspector } from "./viewer/stately-inspector.ts";
import { IntegrationRegistry } from "./integrations/integration-registry.ts";
import { StoredIntegrationService } from "./integrations/integration-service.ts";
import { credentialBinding, FileIntegrationStore, type IntegrationSettings, type IntegrationStore } from "./integrations/integration-store.ts";
import type { IntegrationService } from "./integrations/integration-types.ts";
import { FormTargets } from "./integrations/form-targets.ts";
import { PostgresIntegrationStore } from "./integrations/postgres-integration-store.ts";
import { storeUnreachable } from "./store/store-unreachable.ts";
import { checkEncryptionKey } from "./store/key-check.ts";

export interface Service {
  config: Readonly<Config>;
  app: ReturnType<typeof createApp>;
  engine: FlowEngine;
  service: AuthorizationService;
  /** The integrations ("default" from configuration, others stored): what the page and /api/integrations call. */
  integrations: IntegrationService;
  clock: Clock;
  simulator: RunningSimulator | undefined;
  inspector: StatelyInspector | undefined;
  keySource: string;
  /** API_TOKEN (or the demo's generated one); null when API_CLIENTS alone names the callers. */
  apiToken: { token: string; generated: boolean; path?: string } | null;
  /** Every API client: API_CLIENTS' and API_TOKEN's ("api-token"). */
  apiClients: ApiClient[];
  /** Who may sign in to the page; `demoPassword` is set only on the start that generated the demo user. */
  ui: { users: UiUser[]; demo: { user: string; password: string | null; path: string } | null };
  restored: number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Fires when the process begins to stop: SSE streams end on it, /readyz turns 503. */
  shutdown?: ShutdownSignal;
  /** The runtime's own SecretBox (the Node entry's is synchronous node:crypto); WebCrypto otherwise. */
  secretBox?: (key: Uint8Array<ArrayBuffer>) => Promise<SecretBox>;
  /** The runtime's own SHA-256 for the API's bearer check (the Node entry's is synchronous node:crypto); WebCrypto otherwise. */
  sha256?: Sha256;
  /** How long a trusted-proxy person's page stream lasts before the page opens its next one (web-routes.tsx; tests shorten it). */
  proxyStreamMs?: number;
  /** The clock the page's sign-in sessions expire by (Date.now; tests move it on to expire one). */
  sessionClock?: () => number;
}

export async function startService(config: Readonly<Config>, log: (line: string) => void = () => {}, options: StartOptions = {}): Promise<Service> {
  // One process per DATA_DIR, before anything under it is read or written (two writers corrupt lowdb
  // and would both spend the same one-time refresh tokens).
  const lock = await acquireDataDirLock(config.dataDir);
  // What is opened is closed again if a later step fails (a taken inspector port, say).
  // Last of all: the lock, then the folder descriptors the writes kept (releasing the lock syncs its folder).
  const opened: Array<() => Promise<void> | void> = [
    async () => {
      await lock.release();
      await releaseFolders(config.dataDir);
    },
  ];
  const closeOpened = async () => {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => undefined);
  };
  try {
    return await wire(config, log, options, lock, opened, closeOpened);
  } catch (error) {
    await closeOpened();
    throw error;
  }
}

async function wire(
  config: Readonly<Config>,
  log: (line: string) => void,
  options: StartOptions,
  lock: DataDirLock,
  opened: Array<() => Promise<void> | void>,
  closeOpened: () => Promise<void>,
): Promise<Service> {
  // The settings that may name files first, all of them at once: a wrong one stops start-up before anything opens.
  const files = await readFileSettings(
    { apiClients: config.apiClients, uiUsers: config.ui.users, clientKey: config.idporten.clientAuth === "private_key_jwt" ? (config.idporten.clientKey ?? "") : undefined },
    (path) => readFile(path, "utf8"),
  );
  const { key, source: keySource, generated: keyGenerated } = await loadEncryptionKey(config.encryptionKey, config.dataDir);
  const box = await (options.secretBox ?? createSecretBox)(key);
  // The flow store first: with PostgreSQL it applies the migrations (and says so) before anything
  // else uses the schema; and a wrong key is refused before anything opens what it sealed.
  // One id for this process in claims, leases and notifications (the store skips its own).
  const instanceId = crypto.randomUUID();
  const store: FlowStore = config.databaseUrl
    ? await PostgresFlowStore.open(config.databaseUrl, { log: (line) => log(line), instanceId, answerSeconds: config.databaseTimeoutSeconds })
    : await LowdbFlowStore.open(config.dataDir, { log: (line) => log(line) });
  opened.push(() => store.close());
  // Before any flow is opened: a process with another key would set every flow it reads aside
  // (store/key-check.ts). A new check value is recorded last, once everything has opened.
  const keyCheck = await checkEncryptionKey(store, box, {
    where: config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `DATA_DIR ${config.dataDir}`,
    checkAt: config.databaseUrl ? `PostgreSQL's store_facts row "${KEY_CHECK}"` : join(resolve(config.dataDir), KEY_CHECK_FILE),
    keySource,
    ...(keyGenerated ? { generated: keyGenerated } : {}),
  });

  const apiToken = await loadApiToken(config.apiToken, config.dataDir, config.apiClients !== undefined);
  const apiClients = [
    ...(apiToken ? [{ name: API_TOKEN_CLIENT, tokenSha256: await tokenSha256(apiToken.token), legalEntities: "*" as const, users: "*" as const }] : []),
    ...files.apiClients,
  ];
  // The page's people: UI_USERS; or, for the embedded demo with no one configured, a generated "demo".
  const uiUsers = files.uiUsers;
  const demo = uiUsers.length === 0 && !config.ui.trustedUserHeader && config.simulator ? await loadDemoUser(config.dataDir) : null;
  if (demo) uiUsers.push(demo.user);
  const simulatedClock = config.simulatedClock ? new SimulatedClock() : null;
  const clock: Clock = simulatedClock ?? realClock;
  const clientKey = files.clientKey;

  const { callbackPath, callbackUrl } = callbackRoute(config.publicUrl, config.idporten.redirectUri);
  const simulator = config.simulator
    ? await startSimulator({
        host: config.host,
        port: config.simulator.port,
        publicUrl: config.simulator.publicUrl,
        dataDir: config.dataDir,
        encryptionKey: key,
        clients: [await simulatorClient(config)],
        lifetimes: config.simulator.lifetimes,
        refreshReuseGraceSeconds: config.simulator.refreshReuseGraceSeconds,
        ...(config.simulator.controlToken ? { controlToken: config.simulator.controlToken } : {}),
        log: (line) => log(`simulator: ${line}`),
      })
    : undefined;
  if (simulator) opened.push(() => simulator.close());

  const idporten = createIdportenClient(
    {
      issuer: simulator?.issuer ?? config.idporten.issuer,
      clientId: config.idporten.clientId,
      clientAuth: config.idporten.clientAuth,
      clientSecret: config.idporten.clientSecret,
      ...(clientKey ? { clientKey } : {}),
      ...(config.idporten.clientKeyId ? { clientKeyId: config.idporten.clientKeyId } : {}),
      ...(config.idporten.prompt ? { prompt: config.idporten.prompt } : {}),
      scope: config.idporten.scope,
      redirectUri: config.idporten.redirectUri,
      timeoutMs: config.outboundTimeoutMs,
    },
    clock,
  );
  const altinn = createAltinnClient({ exchangeUrl: simulator?.altinnExchangeUrl ?? config.altinnExchangeUrl, timeoutMs: config.outboundTimeoutMs, clock });

  // Integrations: "default" is the configuration above; others are stored (DATA_DIR or PostgreSQL).
  const integrationStore: IntegrationStore = config.databaseUrl
    ? await PostgresIntegrationStore.open(config.databaseUrl, config.databaseTimeoutSeconds)
    : await FileIntegrationStore.open(config.dataDir, log);
  opened.push(() => integrationStore.close());
  const configuredIntegration = { settings: configuredIntegrationSettings(config, simulator), credentialSet: Boolean(config.idporten.clientSecret || config.idporten.clientKey) };
  const integrationRegistry = new IntegrationRegistry({
    configured: { ...configuredIntegration, idporten, altinn },
    store: integrationStore,
    box,
    callbackUrl,
    clock,
    timeoutMs: config.outboundTimeoutMs,
    ...(config.idporten.prompt ? { prompt: config.idporten.prompt } : {}),
  });

  // The machine's outbound calls go through the engine's runCall (written first, once per answer,
  // leased across instances); the engine is made after the registry, so the machine reaches it
  // through this late binding.
  let engine: FlowEngine | undefined;
  const runCall = <T>(system: unknown, callId: string, input: unknown, call: () => Promise<T>) => (engine ? engine.runCall(system, callId, input, call) : call());
  const registry = new MachineRegistry().register(authorizationFlowMachine({ clock, idporten, altinn, runCall, warningDays: config.authorizationWarningDays, integrations: (name) => integrationRegistry.runtime(name) }));
  // Sign-outs are kept where every instance (and a restarted one) looks.
  const endedSessions = config.databaseUrl ? await PostgresEndedSessions.open(config.databaseUrl, Date.now, config.databaseTimeoutSeconds) : await FileEndedSessions.open(config.dataDir);
  opened.push(() => endedSessions.close());
  // The sign-in limit counts in PostgreSQL when instances share it, so a guesser gets no more tries per instance.
  // There only a keyed digest of each user name and address is kept: a password typed as a user name must not be.
  const signInKeyDigest = (key: string) => box.mac(`authflow sign-in key\n${key}`);
  const signInAttempts = config.databaseUrl ? await PostgresSignInAttempts.open(config.databaseUrl, signInKeyDigest, Date.now, undefined, config.databaseTimeoutSeconds) : new MemorySignInAttempts();
  opened.push(() => signInAttempts.close());
  const inspector = config.inspectPort !== undefined ? await startStatelyInspector(config.inspectPort) : undefined;
  if (inspector) opened.push(() => inspector.stop());
  // A call's lease outlasts the call (flows/call-lease.ts): no other instance takes it over meanwhile.
  // Outbound calls wait for one of OUTBOUND_CONCURRENCY places (engine/outbound-gate.ts); a code
  // exchange goes first: a person waits for it, and the code lives for seconds.
  engine = new FlowEngine({
    store,
    box,
    clock,
    registry,
    log,
    instanceId,
    shared: config.databaseUrl !== undefined,
    ...callLease(config),
    outboundConcurrency: config.outboundConcurrency,
    urgentCall: (callId) => callId === "exchangeCode",
    ...(inspector ? { inspect: inspector.inspect } : {}),
  });
  opened.push(() => engine!.stop());
  // Flows are hydrated when needed; start-up only hydrates what is due (a flow caught mid-call resumes now).
  await engine.start();
  const restored = await store.count();
  // One line per change of state, for whoever watches the console (the audit trail has them all).
  // Only this instance's: another's change is logged by its own instance (and would cost a read of the flow here).
  engine.onTransition(
    ({ flowId, audit }) => {
      for (const a of audit) if (a.from !== a.to) log(`flow ${flowId}: ${a.from ?? "·"} → ${a.to} (${a.event}${a.user ? ` by ${a.user}` : ""})`);
    },
    { remote: false },
  );

  const service = new AuthorizationService({
    engine,
    idporten,
    clock,
    integration: DEFAULT_INTEGRATION,
    publicUrl: config.publicUrl,
    redirect: {
      redirectUri: config.idporten.redirectUri,
      registeredRedirectUris: config.idporten.registeredRedirectUris,
      callbackUrl,
    },
    settings: {
      exchangeMode: config.exchangeMode,
      loginTimeoutSeconds: config.loginTimeoutSeconds,
      authorizationLifetimeSeconds: config.authorizationLifetimeSeconds,
      ...(config.idporten.refreshTokenLifetimeSeconds ? { keepAliveSeconds: config.idporten.refreshTokenLifetimeSeconds } : {}),
    },
    settleTimeoutMs: config.outboundTimeoutMs * 2 + 1000,
    warningDays: config.authorizationWarningDays,
    integrations: integrationRegistry,
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
  });
  const integrations = new StoredIntegrationService({
    store: integrationStore,
    registry: integrationRegistry,
    box,
    clock,
    configured: configuredIntegration,
    flowsUsing: (name) => service.flowsUsing(name),
    flowsHolding: (name) => service.flowsHolding(name),
    // A new client secret: flows of that integration whose secret was refused try again now.
    changed: (name, fields) => {
      formTargets.changed();
      if (fields.some((f) => f === "idporten.clientSecret" || f === "idporten.clientKey")) void service.resumeAttention(name).catch(() => undefined);
    },
    log,
  });
  const origins = (issuers: string[]) => [...new Set(issuers.map(originOf).filter((o): o is string => o !== null))];
  const formTargets = new FormTargets({
    load: async () => origins((await integrations.list()).map((i) => i.idporten.issuer)),
    always: origins([configuredIntegration.settings.idporten.issuer]), // set by environment variables: no store needed
  });
  const resumed = await service.resumeAttention();
  if (resumed > 0) log(`${resumed} flow(s) whose client secret was refused try again with the configured one`);

  const readiness = readinessChecks({ issuer: simulator?.issuer ?? config.idporten.issuer, lock, store, shutdown: options.shutdown, timeoutMs: config.outboundTimeoutMs });
  const app = createApp({
    service,
    integrations,
    apiClients,
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
    callbackPath,
    clock: simulatedClock,
    // After the simulated clock moved: hydrate what fell due (its timers fire at once), until quiet.
    settled: async () => {
      for (let round = 0; round < 5; round++) {
        await engine!.settled();
        if ((await engine!.tick()) === 0) break;
      }
      await engine!.settled();
    },
    machines: () => registry.all(),
    log,
    readiness,
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    secureCookies: config.publicUrl.startsWith("https:"),
    cookiePath: new URL(callbackUrl).pathname,
    // The page's "Get authorization code" goes on to the flow's ID-porten: every integration's issuer.
    formTargets: () => formTargets.get(),
    web: {
      service,
      // Behind a proxy that strips PUBLIC_URL's path ("https://erp.example/authflow"), the page's links keep it.
      basePath: new URL(config.publicUrl).pathname.replace(/\/+$/, ""),
      integrations: () => integrations,
      users: uiUsers,
      // Where an integration's secret and every flow's tokens are sent: only these people change integrations (the demo's user is one).
      integrationAdmins: new Set([...config.ui.integrationAdmins, ...(demo ? [demo.user.user] : [])]),
      trustedUserHeader: config.ui.trustedUserHeader,
      trustedProxy: parseTrustedProxies(config.ui.trustedProxies).matches,
      sessions: new Sessions(box, options.sessionClock ?? Date.now, endedSessions),
      limiter: new SignInLimiter(signInAttempts),
      box,
      secureCookies: config.publicUrl.startsWith("https:"),
      // A deleted flow: its id, and its legal entity where this instance knew its row.
      watchFlows: (listener) =>
        engine!.onTransition((notice) => {
          if (!notice.deleted) return listener({ deleted: false, view: service.view(notice.record) });
          const legalEntity = notice.record.summary.legalEntity;
          listener({ deleted: true, id: notice.flowId, ...(typeof legalEntity === "string" ? { legalEntity } : {}) });
        }),
      now: () => clock.now(),
      // How long a code lives is known for the simulator only (ID-porten does not document it).
      codeLifetimes: () => ({ [DEFAULT_INTEGRATION]: config.simulator ? (config.simulator.lifetimes.codeSeconds ?? 60) : null }),
      shutdown: options.shutdown,
      ...(options.proxyStreamMs !== undefined ? { proxyStreamMs: options.proxyStreamMs } : {}),
      log,
      ...(demo ? { demoUser: demo.user.user } : {}),
    },
  });

  // Everything opened with this key: a store without a check value records it now (with no flows,
  // once one of its stored integration credentials opened, if it has any).
  await keyCheck.record(async () =>
    (await integrationStore.list()).flatMap((record) => (record.sealedCredential === null ? [] : [{ sealed: record.sealedCredential, binding: credentialBinding(record.name) }])),
  );

  return {
    config,
    app,
    engine,
    service,
    integrations,
    clock,
    simulator,
    inspector,
    keySource,
    apiToken,
    apiClients,
    ui: { users: uiUsers, demo: demo ? { user: demo.user.user, password: demo.password, path: demo.path } : null },
    restored,
    close: closeOpened,
  };
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** The "default" integration as configured (the embedded simulator's addresses when it serves). */
function configuredIntegrationSettings(config: Readonly<Config>, simulator: RunningSimulator | undefined): IntegrationSettings {
  return {
    idporten: {
      issuer: simulator?.issuer ?? config.idporten.issuer,
      clientId: config.idporten.clientId,
      clientAuth: config.idporten.clientAuth,
      clientKeyId: config.idporten.clientKeyId ?? null,
      redirectUri: config.idporten.redirectUri,
      registeredRedirectUris: [...config.idporten.registeredRedirectUris],
      scope: config.idporten.scope,
      refreshTokenLifetimeSeconds: config.idporten.refreshTokenLifetimeSeconds ?? null,
    },
    altinn: { exchangeUrl: simulator?.altinnExchangeUrl ?? config.altinnExchangeUrl },
    authorizationLifetimeSeconds: config.authorizationLifetimeSeconds,
    loginTimeoutSeconds: config.loginTimeoutSeconds,
    exchangeMode: config.exchangeMode,
  };
}

/** The embedded simulator's registration of our client: the configured method, with its public key for private_key_jwt. */
async function simulatorClient(config: Readonly<Config>): Promise<SimulatorClient> {
  // Registered for the VAT scopes, as Digdir registers a VAT client: a scope beyond them in
  // IDPORTEN_SCOPE is refused (invalid_scope), as ID-porten would.
  const base = { clientId: config.idporten.clientId, redirectUris: config.idporten.registeredRedirectUris };
  if (config.idporten.clientAuth !== "private_key_jwt") {
    return { ...base, clientSecret: config.idporten.clientSecret || config.simulator!.clientSecret, tokenEndpointAuthMethod: config.idporten.clientAuth };
  }
  return { ...base, tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [await publicJwkOf(config.idporten.clientKey ?? "", config.idporten.clientKeyId)] } };
}

/**
 * The public half of IDPORTEN_CLIENT_KEY, for the simulator's dress rehearsal of private_key_jwt
 * (Digdir's self-service takes the same public key). A JWK only: a PEM would need its public key
 * derived, which WebCrypto does not do for a non-extractable key.
 */
async function publicJwkOf(raw: string, kid: string | undefined): Promise<JsonWebKey & { kid?: string }> {
  let text = raw.trim();
  if (!text.startsWith("{")) text = await readFile(text, "utf8").catch(() => "");
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new ConfigError("IDPORTEN_CLIENT_KEY", "must be a JWK (inline or in a file) to register its public key with the embedded simulator; a PEM works with a real ID-porten");
  }
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
  return { ...publicPart, ...(kid ? { kid } : {}) } as JsonWebKey & { kid?: string };
}

/** /readyz: the store is open (and what was set aside as damaged), the DATA_DIR lock is held, the provider answered once. */
function readinessChecks(deps: { issuer: string; lock: DataDirLock; store: FlowStore; shutdown: ShutdownSignal | undefined; timeoutMs: number }) {
  let providerReached = false;
  return async (): Promise<Readiness> => {
    const checks: Readiness["checks"] = {};
    const damaged = deps.store.damageReports();
    checks.store = { ok: true, detail: damaged.length ? `open; ${damaged.length} damaged file(s) set aside in DATA_DIR/damaged` : "open" };
    // A shared store's database is reported, but does not decide readiness: every instance shares
    // it, so when it fails over all of them would leave the balancer's rotation at once, and callers
    // and people would get the balancer's error instead of this service's own 503s and pages
    // ("try again in a moment", the code in the URL kept).
    let informational: string | undefined;
    if (deps.store.ping) {
      informational = "database";
      try {
        await deps.store.ping(deps.timeoutMs);
        checks.database = { ok: true, detail: "answers" };
      } catch (error) {
        checks.database = { ok: false, detail: `does not answer just now: ${storeUnreachable(error) ?? (error as Error).message}; requests that need it answer 503 meanwhile (not a readiness failure: every instance shares it)` };
      }
    }
    checks.dataDirLock = { ok: true, detail: `held (${deps.lock.path})` };
    if (!providerReached) {
      try {
        const response = await fetch(`${deps.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(deps.timeoutMs) });
        const issuer = response.ok ? ((await response.json().catch(() => ({}))) as { issuer?: unknown }).issuer : (await response.body?.cancel(), undefined);
        // An issuer is compared exactly: "http://127.0.0.1:8788" is not "http://localhost:8788", and every login would fail.
        providerReached = response.ok && issuer === deps.issuer;
        checks.provider = providerReached
          ? { ok: true }
          : { ok: false, detail: response.ok ? `discovery names the issuer "${String(issuer)}", but IDPORTEN_ISSUER is "${deps.issuer}": spell them the same` : `discovery answered ${response.status}` };
      } catch (error) {
        checks.provider = { ok: false, detail: `discovery did not answer: ${(error as Error).message}` };
      }
    } else {
      checks.provider = { ok: true, detail: "reached" };
    }
    if (deps.shutdown) checks.running = deps.shutdown.readinessCheck();
    return { ready: Object.entries(checks).every(([name, c]) => c.ok || name === informational), checks };
  };
}

/**
 * Where this server receives the browser back. PUBLIC_URL may carry a path prefix that a reverse
 * proxy strips ("https://erp.example/authflow"): the route is the redirect URI's path below that
 * prefix, and this server's callback URL is PUBLIC_URL plus that route. A redirect URI outside
 * PUBLIC_URL leaves the route at /callback, and the redirect-URL guard names both URLs.
 */
export function callbackRoute(publicUrl: string, redirectUri: string): { callbackPath: string; callbackUrl: string } {
  const under = redirectUri.startsWith(`${publicUrl}/`);
  const callbackPath = under ? new URL(redirectUri).pathname.slice(new URL(publicUrl).pathname.replace(/\/$/, "").length) : "/callback";
  return { callbackPath, callbackUrl: `${publicUrl}${callbackPath}` };
}

/** The lines a newcomer needs at start-up: where everything is, and a first command. */
export function startupLines(config: Readonly<Config>, running: Service, listeningUrl: string): string[] {
  const lines = [`authflow listening on ${listeningUrl} (public URL ${config.publicUrl}); ${running.restored} flow(s) in ${config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : config.dataDir}`];
  const { token, generated, path } = running.apiToken ?? { token: "", generated: false };
  if (generated) lines.push(`API token (generated for the demo, kept in ${path}; set API_TOKEN to choose one): ${token}`);
  if (running.simulator) {
    lines.push(`ID-porten simulator: issuer ${running.simulator.issuer}  ·  Altinn exchange ${running.simulator.altinnExchangeUrl}  ·  control ${running.simulator.controlUrl}`);
    lines.push(`Test persons: ${running.simulator.persons.map((p) => `${p.name} ${p.pid}`).join(", ")}`);
  }
  const demo = running.ui.demo;
  if (demo?.password) lines.push(`Web page: ${config.publicUrl}/ — sign in as "${demo.user}" with the password ${demo.password} (shown this once; only its hash is kept in ${demo.path})`);
  else if (demo) lines.push(`Web page: ${config.publicUrl}/ — sign in as "${demo.user}" (its password was shown at the first start; delete ${demo.path} for a new one)`);
  else lines.push(`Web page: ${config.publicUrl}/ (${running.ui.users.length} user(s) from UI_USERS${config.ui.trustedUserHeader ? `, or signed in by the proxy's ${config.ui.trustedUserHeader}` : ""})`);
  lines.push(`Live viewer: ${config.publicUrl}/inspect (sign in with the API token)`);
  if (running.inspector) {
    lines.push(`Stately inspector: open ${running.inspector.url} (actors report to ${running.inspector.socketUrl}; tokens and secrets are redacted; the page embeds Stately's hosted UI, which needs internet)`);
  }
  lines.push(`API docs: ${config.publicUrl}/docs   exchange mode: ${config.exchangeMode}   clock: ${config.simulatedClock ? "simulated (/api/clock)" : "real"}`);
  lines.push(
    `Try: curl -s -X POST ${config.publicUrl}/api/flows -H "authorization: Bearer ${generated ? token : "$API_TOKEN"}" -H "content-type: application/json" -d '{"legalEntity":"999999999"}'`,
  );
  return lines;
}
