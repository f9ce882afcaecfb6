// Wires the service together from a read-only Config: store, engine, clients, simulator, app.
// Shared by the Node and Deno entries; they add only the listening socket and signals.
import { realClock, SimulatedClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { createSecretBox } from "./crypto/secrets.ts";
import { FlowEngine } from "./engine/flow-engine.ts";
import { MachineRegistry } from "./engine/machine-registry.ts";
import { authorizationFlowMachine } from "./flows/authorization-flow.ts";
import { AuthorizationService } from "./flows/authorization-service.ts";
import { createIdportenClient } from "./idporten/idporten-client.ts";
import { createAltinnClient } from "./altinn/altinn-client.ts";
import { createApp } from "./server/app.ts";
import { loadApiToken, loadEncryptionKey } from "./store/secret-files.ts";
import { LowdbFlowStore } from "./store/lowdb-store.ts";
import { startSimulator, type RunningSimulator } from "./simulator/index.ts";
import { DEFAULT_INTEGRATION } from "./config.ts";
import { startStatelyInspector, type StatelyInspector } from "./viewer/stately-inspector.ts";

export interface Service {
  config: Readonly<Config>;
  app: ReturnType<typeof createApp>;
  engine: FlowEngine;
  service: AuthorizationService;
  clock: Clock;
  simulator: RunningSimulator | undefined;
  inspector: StatelyInspector | undefined;
  keySource: string;
  apiToken: { token: string; generated: boolean; path?: string };
  restored: number;
  close(): Promise<void>;
}

export async function startService(config: Readonly<Config>, log: (line: string) => void = () => {}): Promise<Service> {
  const { key, source: keySource } = await loadEncryptionKey(config.encryptionKey, config.dataDir);
  const box = await createSecretBox(key);
  const apiToken = await loadApiToken(config.apiToken, config.dataDir);
  const simulatedClock = config.simulatedClock ? new SimulatedClock() : null;
  const clock: Clock = simulatedClock ?? realClock;

  const { callbackPath, callbackUrl } = callbackRoute(config.publicUrl, config.idporten.redirectUri);
  const simulator = config.simulator
    ? await startSimulator({
        host: config.host,
        port: config.simulator.port,
        publicUrl: config.simulator.publicUrl,
        dataDir: config.dataDir,
        encryptionKey: key,
        clients: [{ clientId: config.idporten.clientId, clientSecret: config.idporten.clientSecret, redirectUris: config.idporten.registeredRedirectUris }],
        lifetimes: config.simulator.lifetimes,
        log: (line) => log(`simulator: ${line}`),
      })
    : undefined;

  const idporten = createIdportenClient(
    {
      issuer: simulator?.issuer ?? config.idporten.issuer,
      clientId: config.idporten.clientId,
      clientSecret: config.idporten.clientSecret,
      scope: config.idporten.scope,
      redirectUri: config.idporten.redirectUri,
      timeoutMs: config.outboundTimeoutMs,
    },
    clock,
  );
  const altinn = createAltinnClient({ exchangeUrl: simulator?.altinnExchangeUrl ?? config.altinnExchangeUrl, timeoutMs: config.outboundTimeoutMs });

  const registry = new MachineRegistry().register(authorizationFlowMachine({ clock, idporten, altinn }));
  const store = await LowdbFlowStore.open(config.dataDir);
  const inspector = config.inspectPort !== undefined ? await startStatelyInspector(config.inspectPort) : undefined;
  const engine = new FlowEngine({ store, box, clock, registry, log, ...(inspector ? { inspect: inspector.inspect } : {}) });
  const restored = await engine.restoreAll();
  // One line per change of state, for whoever watches the console (the audit trail has them all).
  engine.onTransition(({ flowId, audit }) => {
    for (const a of audit) if (a.from !== a.to) log(`flow ${flowId}: ${a.from ?? "·"} → ${a.to} (${a.event}${a.user ? ` by ${a.user}` : ""})`);
  });

  const service = new AuthorizationService({
    engine,
    idporten,
    clock,
    integration: DEFAULT_INTEGRATION,
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
  });

  const app = createApp({ service, apiToken: apiToken.token, callbackPath, clock: simulatedClock, settled: () => engine.settled(), machines: () => registry.all(), log });

  return {
    config,
    app,
    engine,
    service,
    clock,
    simulator,
    inspector,
    keySource,
    apiToken,
    restored,
    async close() {
      await engine.stop();
      await store.close();
      await simulator?.close();
      inspector?.stop();
    },
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
  const lines = [`authflow listening on ${listeningUrl} (public URL ${config.publicUrl}); ${running.restored} flow(s) restored from ${config.dataDir}`];
  const { token, generated, path } = running.apiToken;
  if (generated) lines.push(`API token (generated for the demo, kept in ${path}; set API_TOKEN to choose one): ${token}`);
  if (running.simulator) {
    lines.push(`ID-porten simulator: issuer ${running.simulator.issuer}  ·  Altinn exchange ${running.simulator.altinnExchangeUrl}  ·  control ${running.simulator.controlUrl}`);
    lines.push(`Test persons: ${running.simulator.persons.map((p) => `${p.name} ${p.pid}`).join(", ")}`);
  }
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
