// INSPECT / INSPECT_PORT parsing and the inspector server's port handling.
import { createServer, type Server } from "node:net";
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../src/config.ts";
import { startStatelyInspector } from "../../src/viewer/stately-inspector.ts";

describe("INSPECT and INSPECT_PORT", () => {
  it("are off by default; on, the port defaults to PORT + 2", () => {
    expect(readConfig({}).inspectPort).toBeUndefined();
    expect(readConfig({ INSPECT: "off", INSPECT_PORT: "not read when off" }).inspectPort).toBeUndefined();
    expect(readConfig({ INSPECT: "on" }).inspectPort).toBe(8789);
    expect(readConfig({ INSPECT: "on", PORT: "9000" }).inspectPort).toBe(9002);
    expect(readConfig({ INSPECT: "on", PORT: "9000", INSPECT_PORT: "9100" }).inspectPort).toBe(9100);
    expect(readConfig({ INSPECT: "on", PORT: "0" }).inspectPort).toBe(0);
  });

  it("refuse bad values with the variable's name", () => {
    expect(() => readConfig({ INSPECT: "yes" })).toThrow(ConfigError);
    expect(() => readConfig({ INSPECT: "yes" })).toThrow(/^INSPECT must be one of on, off/);
    expect(() => readConfig({ INSPECT: "on", INSPECT_PORT: "abc" })).toThrow(/^INSPECT_PORT must be a whole number/);
    expect(() => readConfig({ INSPECT: "on", INSPECT_PORT: "70000" })).toThrow(/^INSPECT_PORT must be between 0 and 65535/);
  });
});

describe("the inspector server", () => {
  it("takes a real port when asked for port 0, and actors' events reach a client there", async () => {
    const inspector = await startStatelyInspector(0);
    try {
      const port = Number(new URL(inspector.url).port);
      expect(port).toBeGreaterThan(0);
      expect(inspector.socketUrl).toBe(`ws://127.0.0.1:${port}`);
      const client = new WebSocket(inspector.socketUrl);
      await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
      client.close();
    } finally {
      inspector.stop();
    }
  });

  it("says which variable to change when its port is taken", async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const { port } = busy.address() as { port: number };
    try {
      await expect(startStatelyInspector(port)).rejects.toThrow(new RegExp(`^INSPECT_PORT ${port} cannot be used .*EADDRINUSE.*INSPECT=off`));
    } finally {
      busy.close();
    }
  });
});
