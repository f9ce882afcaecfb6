// The process around the service, shared by the Node and the Deno entry: read the configuration,
// start the service, listen, print where everything is, and stop cleanly on SIGTERM/SIGINT.
// Each entry supplies only what its runtime does differently (the Runtime below).

import { readFile } from "node:fs/promises";
import { ConfigError, readConfig, type Config, type Env } from "../config.ts";
import { startService, startupLines, type Service, type StartOptions } from "../service.ts";
import { fileSettingProblems } from "./file-settings.ts";
import { gracefulStop } from "./graceful-stop.ts";
import { ShutdownSignal } from "./shutdown-signal.ts";
import { describeStartupFailure, portVariables, type StartupFailure } from "./startup-failure.ts";

/** A listening HTTP server, as the stop sequence needs it. */
export interface Listener {
  /** Stops accepting connections; resolves when every connection has ended. */
  close(): Promise<void>;
  /** Ends the connections still open (a browser holding an SSE stream). */
  closeAllConnections(): void;
}

export interface Runtime {
  env: Env;
  /** Binds host:port and serves `fetch`; rejects with the runtime's own error when it cannot. */
  listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string): Promise<Listener & { port: number }>;
  onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  /** The runtime's own SecretBox, when it has a faster one than WebCrypto (Node). */
  secretBox?: StartOptions["secretBox"];
  sha256?: StartOptions["sha256"];
  exit(code: number): void;
}

// startService hands the signal to the app (SSE streams end on it). Typed with the options
// parameter so this compiles both before and after service.ts takes it.
type StartService = (config: Readonly<Config>, log: (line: string) => void, options: StartOptions) => Promise<Service>;
const start: StartService = startService;

// Log lines (one per request, among others) are written in batches: one console.log per turn of the
// event loop instead of one per line — the per-line format and write were 15 % of a token call's CPU
// (bench:profile). A batch waits at most a timer's turn; every exit path flushes first.
const pending: string[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;
function flushLog(): void {
  if (flushTimer !== undefined) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (pending.length === 0) return;
  const text = pending.join("\n");
  pending.length = 0;
  console.log(text);
}
const log = (line: string) => {
  pending.push(`${new Date().toISOString()} ${line}`);
  if (pending.length >= 512) flushLog();
  else flushTimer ??= setTimeout(flushLog, 0);
};
const warn = (line: string) => {
  flushLog(); // in order with what was logged before it
  console.error(line);
};

export async function runServer(runtime: Runtime): Promise<void> {
  const exit = (code: number) => {
    flushLog();
    runtime.exit(code);
  };
  const fail = ({ line, exitCode }: StartupFailure) => {
    warn(line);
    exit(exitCode);
  };

  let config: Readonly<Config>;
  try {
    config = readConfig(runtime.env);
  } catch (error) {
    // Every problem in one line: the settings that name files (API_CLIENTS, UI_USERS, the client key)
    // are read here too, so that one round of fixes is enough.
    const more = error instanceof ConfigError ? await fileSettingProblems(runtime.env, (path) => readFile(path, "utf8")) : [];
    return fail(describeStartupFailure(more.length > 0 ? new ConfigError([...(error as ConfigError).problems, ...more]) : error));
  }
  const ports = portVariables(config);

  const shutdown = new ShutdownSignal();
  let serviceStarting: Promise<Service> | undefined;
  let listening: Promise<Listener & { port: number }> | undefined;
  const settled = <T>(promise: Promise<T> | undefined) => promise?.catch(() => undefined);

  // Signals are handled from the first moment: a stop during start-up waits for what is being
  // opened and closes it (a half-started service already holds the DATA_DIR lock).
  const onSignal = gracefulStop({
    shutdown,
    closeServer: async () => {
      await (await settled(listening))?.close();
    },
    closeAllConnections: () => void settled(listening)?.then((listener) => listener?.closeAllConnections()),
    closeService: async () => {
      await (await settled(serviceStarting))?.close();
    },
    exit,
    log,
    warn,
  });
  runtime.onSignal("SIGINT", () => onSignal("SIGINT"));
  runtime.onSignal("SIGTERM", () => onSignal("SIGTERM"));

  serviceStarting = start(config, log, { shutdown, ...(runtime.secretBox ? { secretBox: runtime.secretBox } : {}), ...(runtime.sha256 ? { sha256: runtime.sha256 } : {}) });
  let service: Service;
  try {
    service = await serviceStarting;
  } catch (error) {
    return fail(describeStartupFailure(error, ports));
  }
  if (shutdown.stopping) return; // stopped while starting: the stop sequence closes the service

  // Through a promise: a runtime may throw at once (Deno.serve does) instead of rejecting.
  listening = Promise.resolve().then(() => runtime.listen(service.app.fetch, config.port, config.host));
  try {
    const bound = await listening;
    flushLog();
    for (const line of startupLines(config, service, `http://${config.host}:${bound.port}`)) console.log(line);
  } catch (error) {
    const failure = describeStartupFailure(error, ports, { variable: "PORT", port: config.port });
    // Release what the service holds (DATA_DIR lock, simulator port) before saying why we stop.
    await service.close().catch(() => {});
    return fail(failure);
  }
}
