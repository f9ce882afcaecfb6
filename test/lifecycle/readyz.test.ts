// GET /readyz beside /healthz: no token, the named checks, 503 problem+json when not ready.
// app.request() with no port, as hono's own middleware tests do.
import { describe, expect, it } from "vitest";
import { createApp, type AppDeps, type Readiness } from "../../src/server/app.ts";

const logged: string[] = [];
function appWith(readiness?: () => Promise<Readiness>) {
  // Only /healthz and /readyz are asked for: the flow service is never reached.
  const deps = { service: {}, apiClients: [], callbackPath: "/callback", clock: null, settled: async () => {}, machines: () => [], log: (l: string) => logged.push(l) };
  return createApp({ ...deps, ...(readiness ? { readiness } : {}) } as unknown as AppDeps);
}

describe("GET /readyz", () => {
  it("answers as /healthz does when no checks are given", async () => {
    const response = await appWith().request("/readyz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    expect(await (await appWith().request("/healthz")).json()).toEqual({ status: "ok" });
  });

  it("200 with the checks when ready, and needs no API token", async () => {
    const checks = { store: { ok: true }, lock: { ok: true, detail: "held by this process" }, provider: { ok: true } };
    const response = await appWith(async () => ({ ready: true, checks })).request("/readyz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks });
  });

  it("503 problem+json naming the failing checks when not ready", async () => {
    const checks = { store: { ok: true }, provider: { ok: false, detail: "discovery at https://test.idporten.no failed: timeout" }, stopping: { ok: false, detail: "stopping (SIGTERM)" } };
    const response = await appWith(async () => ({ ready: false, checks })).request("/readyz");
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toEqual({ type: "https://authflow.dev/problems/not_ready", title: "Service unavailable", status: 503, detail: "Not ready: provider, stopping.", checks });
  });

  it("503 without the error's words when the checks themselves fail (they go to the log)", async () => {
    const response = await appWith(async () => {
      throw new Error("connect ECONNREFUSED 10.0.0.5:5432 password=hunter2");
    }).request("/readyz");
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(body).not.toContain("hunter2");
    expect(logged.some((line) => line.startsWith("readiness check failed"))).toBe(true);
  });
});
