// The process as a supervisor sees it (issue 8, point 9): `npm start` is the server, SIGTERM stops
// all of it within seconds even while a browser holds an SSE stream, every port is released, and
// start-up problems are one line with exit code 2. Real processes, real ports, nothing mocked.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../support/free-port.ts";
import { groupMembers, holdPort, killAll, portIsFree, startProcess, waitForHealthy, waitUntil, type ServerProcess } from "./process-group.ts";

const API_TOKEN = "lifecycle-test-token-0123456789abcdef";
const auth = { authorization: `Bearer ${API_TOKEN}` };
/** "A few seconds": the stop's grace for open connections is 2 s. */
const STOP_WITHIN_MS = 5000;

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "authflow-lifecycle-"));
});
afterEach(() => {
  killAll();
  rmSync(dataDir, { recursive: true, force: true });
});

async function serverEnv(extra: Record<string, string> = {}): Promise<Record<string, string> & { PORT: string; SIMULATOR_PORT: string }> {
  const port = await freePort();
  const simulatorPort = await freePort();
  return { PORT: String(port), SIMULATOR_PORT: String(simulatorPort), DATA_DIR: dataDir, API_TOKEN, ...extra };
}

const baseUrl = (env: { PORT: string }) => `http://127.0.0.1:${env.PORT}`;
const serverProcess = (proc: ServerProcess) => groupMembers(proc.pgid).find((p) => p.cmd.includes("src/main.node.ts") && !p.cmd.startsWith("npm"));

async function expectAllGone(proc: ServerProcess, ports: string[], withinMs = STOP_WITHIN_MS): Promise<number> {
  const tookMs = await waitUntil(() => groupMembers(proc.pgid).length === 0, withinMs, () => `still running: ${JSON.stringify(groupMembers(proc.pgid))}; ${JSON.stringify(proc.output())}`);
  for (const port of ports) expect(await portIsFree(Number(port)), `port ${port} is free`).toBe(true);
  return tookMs;
}

/** A watcher as the viewer is one: a flow's SSE stream, read up to its first event and held open. */
async function holdStream(base: string) {
  const created = await fetch(`${base}/api/flows`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ legalEntity: "999999999" }) });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const response = await fetch(`${base}/api/flows/${id}/stream`, { headers: auth });
  expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  expect(first).toContain("event: flow");
  let endedAt: number | undefined;
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // the connection was dropped rather than ended: still ended
    }
    endedAt = Date.now();
  })();
  return { ended, endedAt: () => endedAt, cancel: () => reader.cancel().catch(() => {}) };
}

describe("npm start: the process a supervisor signals is the server", () => {
  it("runs node itself, with no shell or tsx wrapper between npm and the server", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    const members = groupMembers(proc.pgid);
    // npm's one child is the server (tsx's loader may keep an esbuild helper as the server's child).
    const npmChildren = members.filter((m) => m.ppid === proc.pgid);
    expect(npmChildren, JSON.stringify(members)).toHaveLength(1);
    expect(npmChildren[0]!.cmd).toMatch(/^node .*--import tsx src\/main\.node\.ts$/);
    expect(serverProcess(proc)?.pid).toBe(npmChildren[0]!.pid);
  }, 60_000);

  it("SIGTERM to npm's process: npm and the server are gone within seconds, both ports free, exit 0", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    process.kill(proc.pgid, "SIGTERM"); // the group leader is npm
    await expectAllGone(proc, [env.PORT, env.SIMULATOR_PORT], 3000);
    expect((await proc.exited).code).toBe(0);
    expect(proc.output().stdout).toMatch(/SIGTERM received: stopping[\s\S]*stopped/);
  }, 60_000);

  it("SIGTERM to the server process (not npm): everything is gone, both ports free", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    const server = serverProcess(proc);
    expect(server).toBeDefined();
    process.kill(server!.pid, "SIGTERM");
    await expectAllGone(proc, [env.PORT, env.SIMULATOR_PORT], 3000);
    expect((await proc.exited).code).toBe(0);
  }, 60_000);

  it("SIGINT (Ctrl-C reaches npm and the server, and npm forwards its copy) is one stop, not an abrupt exit", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    process.kill(-proc.pgid, "SIGINT"); // what a terminal does: the whole foreground group
    await expectAllGone(proc, [env.PORT, env.SIMULATOR_PORT], 3000);
    expect(proc.output().stdout).toMatch(/SIGINT received: stopping[\s\S]*stopped/);
    expect(proc.output().stderr).not.toMatch(/exiting at once/);
  }, 60_000);

  it("SIGTERM while a browser holds an SSE stream: gone within a few seconds, both ports free", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    const stream = await holdStream(baseUrl(env));
    try {
      process.kill(proc.pgid, "SIGTERM");
      await expectAllGone(proc, [env.PORT, env.SIMULATOR_PORT]);
      await stream.ended;
    } finally {
      await stream.cancel();
    }
  }, 60_000);

  // Waits on the ShutdownSignal being wired into the SSE handler (createApp / flow-stream.ts):
  // until then the stream is cut only when the 2 s grace runs out.
  it("an SSE stream ends as soon as stopping begins, without waiting for the grace", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    const stream = await holdStream(baseUrl(env));
    try {
      const signalledAt = Date.now();
      process.kill(proc.pgid, "SIGTERM");
      await stream.ended;
      expect(stream.endedAt()! - signalledAt).toBeLessThan(1500);
      await expectAllGone(proc, [env.PORT, env.SIMULATOR_PORT]);
      expect(proc.output().stdout).not.toMatch(/connections still open/);
    } finally {
      await stream.cancel();
    }
  }, 60_000);

  it("after a stop, the same DATA_DIR and ports start again at once (lock released, ports free)", async () => {
    const env = await serverEnv();
    const first = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), first);
    process.kill(first.pgid, "SIGTERM");
    await expectAllGone(first, [env.PORT, env.SIMULATOR_PORT], 3000);
    const second = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), second);
    expect(second.output().stderr).not.toMatch(/in use|locked/i);
  }, 60_000);

  it("GET /readyz answers, without the API token", async () => {
    const env = await serverEnv();
    const proc = startProcess("npm", ["start", "--silent"], env);
    await waitForHealthy(baseUrl(env), proc);
    const response = await fetch(`${baseUrl(env)}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; checks?: Record<string, { ok: boolean }> };
    expect(["ok", "ready"]).toContain(body.status);
    for (const [name, check] of Object.entries(body.checks ?? {})) expect(check.ok, name).toBe(true);
  }, 60_000);
});

describe("start-up problems: one line naming what to change, exit code 2, no stack trace", () => {
  const startNode = (env: Record<string, string>) => startProcess("node", ["--import", "tsx", "src/main.node.ts"], env);

  async function expectOneLineExit(proc: ServerProcess, line: string, code = 2) {
    const { code: exitCode } = await proc.exited;
    const { stderr } = proc.output();
    expect(stderr.trim().split("\n"), stderr).toEqual([line]);
    expect(exitCode).toBe(code);
  }

  it("a taken PORT", async () => {
    const env = await serverEnv();
    const other = await holdPort(Number(env.PORT));
    try {
      const proc = startNode(env);
      await expectOneLineExit(proc, `authflow: PORT ${env.PORT} is already in use; stop the other process or set PORT`);
      // What it had opened before it found out (the simulator) is released.
      expect(await portIsFree(Number(env.SIMULATOR_PORT))).toBe(true);
    } finally {
      other.close();
    }
  }, 60_000);

  it("a taken SIMULATOR_PORT", async () => {
    const env = await serverEnv();
    const other = await holdPort(Number(env.SIMULATOR_PORT));
    try {
      await expectOneLineExit(startNode(env), `authflow: SIMULATOR_PORT ${env.SIMULATOR_PORT} is already in use; stop the other process or set SIMULATOR_PORT`);
    } finally {
      other.close();
    }
  }, 60_000);

  it("a taken INSPECT_PORT", async () => {
    const inspectPort = await freePort();
    const env = await serverEnv({ INSPECT: "on", INSPECT_PORT: String(inspectPort) });
    const other = await holdPort(inspectPort);
    try {
      await expectOneLineExit(startNode(env), `authflow: INSPECT_PORT ${inspectPort} is already in use; stop the other process or set INSPECT_PORT`);
    } finally {
      other.close();
    }
  }, 60_000);

  it("SIMULATED_CLOCK=on with a real ID-porten, saying why", async () => {
    const env = await serverEnv({
      IDPORTEN_ISSUER: "https://test.idporten.no",
      IDPORTEN_CLIENT_ID: "client",
      IDPORTEN_CLIENT_SECRET: "secret",
      ALTINN_EXCHANGE_URL: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten",
      SIMULATED_CLOCK: "on",
    });
    await expectOneLineExit(
      startNode(env),
      "authflow: bad configuration: SIMULATED_CLOCK must be off with a real ID-porten (IDPORTEN_ISSUER is set): moving the engine's clock against a real provider expires real authorizations for good",
    );
  }, 60_000);

  it("every missing variable for a real ID-porten, in the one line", async () => {
    const env = await serverEnv({ IDPORTEN_ISSUER: "https://test.idporten.no" });
    const proc = startNode(env);
    await proc.exited;
    expect(proc.output().stderr.trim()).toMatch(/^authflow: bad configuration: IDPORTEN_CLIENT_ID is required .*; IDPORTEN_CLIENT_SECRET is required .*; ALTINN_EXCHANGE_URL is required [^\n]*$/);
    expect(proc.child.exitCode).toBe(2);
  }, 60_000);

  it("every wrong variable in the one line, also those that name a file or hold JSON (API_CLIENTS, UI_USERS, IDPORTEN_CLIENT_KEY)", async () => {
    const env = await serverEnv({ PORT: "abc", API_CLIENTS: "[bad", UI_USERS: "{bad", IDPORTEN_CLIENT_AUTH: "private_key_jwt", IDPORTEN_CLIENT_KEY: "/nonexistent/client.jwk", IDPORTEN_CLIENT_KEY_ID: "k" });
    await expectOneLineExit(
      startNode(env),
      'authflow: bad configuration: PORT must be a whole number, got "abc"; API_CLIENTS is not valid JSON (Unexpected token \'b\', "[bad" is not valid JSON); UI_USERS is not valid JSON (Expected property name or \'}\' in JSON at position 1); IDPORTEN_CLIENT_KEY is not usable: the file /nonexistent/client.jwk could not be read (ENOENT); expected a private JWK as JSON, a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), or the path of a file holding one.',
    );
    // The rest right: the file settings alone, still all of them, still exit 2 (a missing key file was exit 1).
    const fixed = await serverEnv({ UI_USERS: "/nonexistent/users.json", IDPORTEN_CLIENT_AUTH: "private_key_jwt", IDPORTEN_CLIENT_KEY: "/nonexistent/client.jwk", IDPORTEN_CLIENT_KEY_ID: "k" });
    const proc = startNode(fixed);
    await proc.exited;
    expect(proc.output().stderr.trim()).toMatch(/^authflow: bad configuration: UI_USERS names the file "\/nonexistent\/users.json", which cannot be read .*; IDPORTEN_CLIENT_KEY is not usable: the file \/nonexistent\/client.jwk could not be read \(ENOENT\)[^\n]*$/);
    expect(proc.child.exitCode).toBe(2);
  }, 60_000);

  // Waits on the DATA_DIR lock (store/data-dir-lock.ts) being taken by startService.
  it("a second process on the same DATA_DIR", async () => {
    const env = await serverEnv();
    const first = startNode(env);
    await waitForHealthy(baseUrl(env), first);
    const secondEnv = { ...env, PORT: String(await freePort()), SIMULATOR_PORT: String(await freePort()) };
    const second = startNode(secondEnv);
    const outcome = await Promise.race([second.exited.then(() => "refused"), waitForHealthy(baseUrl(secondEnv), second).then(() => "started on the same DATA_DIR", () => "refused")]);
    expect(outcome).toBe("refused");
    const { code } = await second.exited;
    const { stderr } = second.output();
    expect(stderr.trim().split("\n"), stderr).toHaveLength(1);
    expect(stderr).toMatch(/^authflow: /);
    expect(stderr).toContain(dataDir);
    expect(code).toBe(2);
  }, 60_000);
});

const hasDeno = spawnSync("deno", ["--version"], { stdio: "ignore" }).status === 0;

describe.skipIf(!hasDeno)("deno task start", () => {
  it("SIGTERM while a browser holds an SSE stream: gone within a few seconds, both ports free", async () => {
    const env = await serverEnv();
    const proc = startProcess("deno", ["task", "start"], env);
    await waitForHealthy(baseUrl(env), proc, 60_000);
    const stream = await holdStream(baseUrl(env));
    try {
      process.kill(proc.pgid, "SIGTERM"); // the group leader is `deno task`, which passes it on
      await expectAllGone(proc, [env.PORT, env.SIMULATOR_PORT]);
      await stream.ended;
      expect(proc.output().stdout).toMatch(/SIGTERM received: stopping[\s\S]*stopped/);
    } finally {
      await stream.cancel();
    }
  }, 90_000);

  // Guards --allow-run in the task: without it Deno may not ask whether the lock's holder still
  // runs, and a crashed server's DATA_DIR lock would block every restart. (Meaningful once
  // startService takes the DATA_DIR lock.)
  it("after a crash (SIGKILL), deno task start on the same DATA_DIR starts again", async () => {
    const env = await serverEnv();
    const crashed = startProcess("deno", ["task", "start"], env);
    await waitForHealthy(baseUrl(env), crashed, 60_000);
    // The server crashes; `deno task`, its parent, reaps it and exits (so no zombie looks alive).
    const server = groupMembers(crashed.pgid).find((p) => p.cmd.includes("src/main.deno.ts") && !p.cmd.startsWith("deno task"));
    process.kill(server!.pid, "SIGKILL");
    await crashed.exited;
    await waitUntil(() => groupMembers(crashed.pgid).length === 0, 5000, () => JSON.stringify(groupMembers(crashed.pgid)));
    const restarted = startProcess("deno", ["task", "start"], env);
    await waitForHealthy(baseUrl(env), restarted, 60_000);
  }, 120_000);

  it("a taken SIMULATOR_PORT is one line and exit 2 under Deno too", async () => {
    const env = await serverEnv();
    const other = await holdPort(Number(env.SIMULATOR_PORT));
    try {
      const proc = startProcess("deno", ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "src/main.deno.ts"], env);
      const { code } = await proc.exited;
      const { stderr } = proc.output();
      expect(stderr.trim().split("\n"), stderr).toEqual([`authflow: SIMULATOR_PORT ${env.SIMULATOR_PORT} is already in use; stop the other process or set SIMULATOR_PORT`]);
      expect(code).toBe(2);
    } finally {
      other.close();
    }
  }, 90_000);

  it("a taken PORT is one line and exit 2 under Deno too", async () => {
    const env = await serverEnv();
    const other = await holdPort(Number(env.PORT));
    try {
      const proc = startProcess("deno", ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "src/main.deno.ts"], env);
      const { code } = await proc.exited;
      const { stderr } = proc.output();
      expect(stderr.trim().split("\n"), stderr).toEqual([`authflow: PORT ${env.PORT} is already in use; stop the other process or set PORT`]);
      expect(code).toBe(2);
    } finally {
      other.close();
    }
  }, 90_000);
});
