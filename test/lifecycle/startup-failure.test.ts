// Start-up errors become one line and an exit code: 2 when the setup must change, 1 otherwise.
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../src/config.ts";
import { describeStartupFailure, portVariables } from "../../src/lifecycle/startup-failure.ts";

const ports = portVariables(readConfig({ PORT: "8787", INSPECT: "on" }));

/** Node's own listen error, as net.Server emits it. */
function nodeAddressInUse(port: number) {
  return Object.assign(new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`), { code: "EADDRINUSE", errno: -98, syscall: "listen", address: "127.0.0.1", port });
}

describe("start-up failures", () => {
  it("knows which variable chooses each port", () => {
    expect(ports).toEqual([
      { variable: "PORT", port: 8787 },
      { variable: "SIMULATOR_PORT", port: 8788 },
      { variable: "INSPECT_PORT", port: 8789 },
    ]);
    expect(portVariables(readConfig({ PORT: "0" }))).toEqual([]); // port 0 cannot be taken
  });

  it("a taken port names its variable, from Node's error, Deno's, or the inspector's words", () => {
    expect(describeStartupFailure(nodeAddressInUse(8788), ports)).toEqual({
      line: "authflow: SIMULATOR_PORT 8788 is already in use; stop the other process or set SIMULATOR_PORT",
      exitCode: 2,
    });
    const deno = Object.assign(new Error("Address already in use (os error 98)"), { name: "AddrInUse" });
    expect(describeStartupFailure(deno, ports, { variable: "PORT", port: 8787 }).line).toBe("authflow: PORT 8787 is already in use; stop the other process or set PORT");
    const inspector = new Error("INSPECT_PORT 8789 cannot be used for the Stately inspector server (EADDRINUSE); choose another INSPECT_PORT or set INSPECT=off");
    expect(describeStartupFailure(inspector, ports)).toEqual({ line: "authflow: INSPECT_PORT 8789 is already in use; stop the other process or set INSPECT_PORT", exitCode: 2 });
  });

  it("bad configuration and a locked DATA_DIR are exit 2 in one line", () => {
    expect(describeStartupFailure(new ConfigError([{ variable: "A", problem: "is required" }, { variable: "B", problem: "is bad" }]))).toEqual({
      line: "authflow: bad configuration: A is required; B is bad",
      exitCode: 2,
    });
    const locked = Object.assign(new Error("DATA_DIR /srv/data is in use by process 4242 (started 2025-01-01T10:00:00Z); stop it first"), { name: "DataDirLockedError" });
    expect(describeStartupFailure(locked, ports)).toEqual({ line: "authflow: DATA_DIR /srv/data is in use by process 4242 (started 2025-01-01T10:00:00Z); stop it first", exitCode: 2 });
  });

  it("anything else is exit 1 in one line, without a stack trace", () => {
    const error = new TypeError("cannot read the key file\n  (permission denied)");
    expect(error.stack).toContain("startup-failure.test.ts");
    expect(describeStartupFailure(error, ports)).toEqual({ line: "authflow: start-up failed: TypeError: cannot read the key file (permission denied)", exitCode: 1 });
    expect(describeStartupFailure("a string", ports)).toEqual({ line: "authflow: start-up failed: a string", exitCode: 1 });
  });
});
