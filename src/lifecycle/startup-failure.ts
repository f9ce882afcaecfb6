// Why start-up failed, as the one line a person reads and the exit code a supervisor acts on.
// Exit 2: the setup is wrong (bad configuration, a port or DATA_DIR another process holds) and
// restarting the same way will fail the same way. Exit 1: anything else. Never a stack trace.

import { ConfigError, type Config } from "../config.ts";

export interface StartupFailure {
  line: string;
  exitCode: 1 | 2;
}

/** A port this process listens on and the variable that chooses it. */
export interface PortVariable {
  variable: "PORT" | "SIMULATOR_PORT" | "INSPECT_PORT";
  port: number;
}

/** The ports the configuration asks for (0 means "any free port" and cannot be taken). */
export function portVariables(config: Readonly<Config>): PortVariable[] {
  const ports: PortVariable[] = [{ variable: "PORT", port: config.port }];
  if (config.simulator) ports.push({ variable: "SIMULATOR_PORT", port: config.simulator.port });
  if (config.inspectPort !== undefined) ports.push({ variable: "INSPECT_PORT", port: config.inspectPort });
  return ports.filter((p) => p.port !== 0);
}

/** A listen that failed because another process holds the port (Node's EADDRINUSE, Deno's AddrInUse). */
export function isAddressInUse(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  return e.code === "EADDRINUSE" || e.name === "AddrInUse" || /EADDRINUSE|address already in use/i.test(String(e.message ?? ""));
}

/**
 * The port an address-in-use error is about: the error's own `port` (Node's listen errors carry
 * it), else the one of our ports that its message names (the inspector's error says it in words).
 */
function portOf(error: unknown, ports: readonly PortVariable[]): PortVariable | undefined {
  const e = error as { port?: unknown; message?: unknown };
  if (typeof e.port === "number") return ports.find((p) => p.port === e.port) ?? { variable: "PORT", port: e.port };
  const message = String(e.message ?? "");
  return ports.find((p) => new RegExp(`(^|[^0-9])${p.port}([^0-9]|$)`).test(message));
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

export function portInUseLine({ variable, port }: PortVariable): string {
  return `authflow: ${variable} ${port} is already in use; stop the other process or set ${variable}`;
}

/**
 * @param ports the configured ports, to name the variable behind a taken one; `listening` is the
 *   port being bound when the error came from our own listen (Deno's error does not name it).
 */
export function describeStartupFailure(error: unknown, ports: readonly PortVariable[] = [], listening?: PortVariable): StartupFailure {
  if (error instanceof ConfigError) return { line: `authflow: bad configuration: ${oneLine(error.message)}`, exitCode: 2 };
  const e = error as { name?: unknown; message?: unknown } | null;
  // Matched by name: the store's lock error is its own module's business; its message is one line.
  if (e?.name === "DataDirLockedError" || e?.name === "UnguardedPostgresClientError" || e?.name === "EncryptionKeyMismatchError" || e?.name === "KeyCheckUnusableError") return { line: `authflow: ${oneLine(String(e.message))}`, exitCode: 2 };
  if (isAddressInUse(error)) {
    const taken = listening ?? portOf(error, ports);
    if (taken) return { line: portInUseLine(taken), exitCode: 2 };
    return { line: `authflow: a port is already in use (${oneLine(String(e?.message ?? error))}); stop the other process or choose other ports`, exitCode: 2 };
  }
  const name = typeof e?.name === "string" && e.name !== "Error" ? `${e.name}: ` : "";
  const message = e && typeof e === "object" && "message" in e ? String(e.message) : String(error);
  return { line: `authflow: start-up failed: ${name}${oneLine(message)}`, exitCode: 1 };
}
