// Small tools the issue-9 scenarios share: read a JWT's claims, make a synthetic person Altinn
// does not know, use a refresh token at the simulator as a third party would, the flow's sealed
// context, and run `npm start` as a child process to see how it refuses a configuration.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as oidc from "openid-client";
import type { AuthorizationContext } from "../../machines/authorization-types.ts";
import type { TestService } from "../harness.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The claims of a JWT (not verified: the scenario only reads what it carries). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

/** The flow's sealed context (tokens included), as the engine holds it. */
export async function contextOf(t: TestService, id: string): Promise<AuthorizationContext> {
  return (await t.service.engine.current(id)).context as AuthorizationContext;
}

const K1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
function mod11(digits: number[], weights: number[]): number | undefined {
  const r = weights.reduce((sum, w, i) => sum + w * digits[i]!, 0) % 11;
  return r === 0 ? 0 : r === 1 ? undefined : 11 - r;
}

/** A synthetic (Tenor-style, month + 80) national identity number with valid check digits, born on `day`.`month`.`year`. */
export function syntheticPid(day: number, month: number, year: number): string {
  for (let individual = 100; individual < 500; individual++) {
    const base = `${String(day).padStart(2, "0")}${String(month + 80)}${String(year % 100).padStart(2, "0")}${individual}`;
    const digits = [...base].map(Number);
    const k1 = mod11(digits, K1);
    if (k1 === undefined) continue;
    const k2 = mod11([...digits, k1], K2);
    if (k2 === undefined) continue;
    return `${base}${k1}${k2}`;
  }
  throw new Error("no valid number for that date");
}

/** The simulator's client as a third party holding the service's secret would use it (client_secret_post). */
export async function simulatorClient(t: TestService): Promise<oidc.Configuration> {
  const sim = t.service.simulator!;
  return oidc.discovery(new URL(sim.issuer), t.service.config.idporten.clientId, undefined, oidc.ClientSecretPost(t.service.config.idporten.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** Tries a refresh token at the simulator: "ok", or the OAuth error it answered (invalid_grant for an ended grant). */
export async function tryRefresh(t: TestService, refreshToken: string, config?: oidc.Configuration): Promise<string> {
  try {
    await oidc.refreshTokenGrant(config ?? (await simulatorClient(t)), refreshToken);
    return "ok";
  } catch (error) {
    return (error as { error?: string }).error ?? String((error as Error).message);
  }
}

/** Polls `probe` until it returns something truthy or `timeoutMs` passes; the last value either way. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value || Date.now() > deadline) return value;
    await sleep(50);
  }
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Runs `npm start`'s command (node --import tsx src/main.node.ts) with exactly `env` (plus PATH), in a fresh DATA_DIR; stops it after `timeoutMs` if it runs. */
export async function startProcess(env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "authflow-scenario-"));
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/main.node.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, PORT: "0", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
