// The soak (scripts/soak.ts, `npm run soak`), run very short: the real server as a child process,
// faults, SIGKILL restarts and (as root with tmpfs) a full disk — and its summary must say 0
// violations. A second run plants a token it received in DATA_DIR, so the secret scan must fail:
// a soak that cannot fail proves nothing.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function soak(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/soak.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // SIGINT lets the soak clean up (kill its server's group, unmount); it gives up on a second one.
    const timer = setTimeout(() => child.kill("SIGINT"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const summaryOf = (stdout: string) => stdout.trim().split("\n").pop() ?? "";

describe("soak", () => {
  it("a short soak (3 flows, 20 s, faults and SIGKILL restarts) ends with one summary line and 0 violations", async () => {
    const run = await soak(["--flows", "3", "--seconds", "20"], 100_000);
    const summary = summaryOf(run.stdout);
    expect(summary, run.stderr).toMatch(/^soak: 3 flows, .* token calls \(.*; violations: 0\b/);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(run.code, `${summary}\n${run.stderr}`).toBe(0);
    // It did check something: tokens were handed out and acknowledged changes were looked for.
    expect(Number(/(\d+) token calls/.exec(summary)?.[1])).toBeGreaterThan(10);
    expect(Number(/(\d+) acknowledged changes checked/.exec(summary)?.[1])).toBeGreaterThan(5);
    expect(Number(/(\d+) SIGKILL restarts/.exec(summary)?.[1])).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("fails when a token it received is found in clear under DATA_DIR (planted on purpose)", async () => {
    const run = await soak(["--flows", "1", "--seconds", "5", "--no-kill", "--no-disk", "--no-faults", "--plant-secret"], 60_000);
    const summary = summaryOf(run.stdout);
    expect(summary, run.stderr).toMatch(/violations: [1-9]\d* \(.*secret in clear/);
    expect(run.stderr).toMatch(/VIOLATION secret in clear: Altinn token in data\/planted-by-soak\.txt:1: planted on purpose: \S*<Altinn token>/);
    expect(run.code).toBe(1);
    // A failed run keeps its logs for a person to read; this one failed on purpose.
    const kept = /logs in (\/\S+authflow-soak-\w+)/.exec(summary)?.[1];
    if (kept) rmSync(kept, { recursive: true, force: true });
  }, 80_000);
});
