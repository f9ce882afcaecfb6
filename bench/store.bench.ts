// npm run bench: what one accepted event costs, against baselines measured in the same run
// (these machines are shared and noisy, so only ratios are comparable between runs).
//   baseline      — lowdb writing one flow's document (JSONFile: temp file + rename), nothing else
//   engine event  — FlowEngine.send: transition, seal the snapshot (AES-GCM), CAS write, audit append
//   one big file  — lowdb writing ALL flows in one document, as a single-file layout would per change
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { SimulatedClock } from "../src/clock.ts";
import { createSecretBox, generateKeyBytes } from "../src/crypto/secrets.ts";
import { FlowEngine } from "../src/engine/flow-engine.ts";
import { MachineRegistry } from "../src/engine/machine-registry.ts";
import { authorizationFlowMachine } from "../src/flows/authorization-flow.ts";
import { LowdbFlowStore } from "../src/store/lowdb-store.ts";

const FLOWS = Number(process.env.BENCH_FLOWS ?? 2000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const CALLBACK = "http://localhost:8787/callback";

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95) };
}

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), "authflow-bench-"));
try {
  const clock = new SimulatedClock();
  const idle = { prepareAuthorization: async () => ({}) as never, exchangeCode: async () => ({}) as never, refresh: async () => ({}) as never, revoke: async () => ({ revoked: false }) };
  const registry = new MachineRegistry().register(authorizationFlowMachine({ clock, idporten: idle, altinn: { exchange: async () => ({}) as never } }));
  const engine = new FlowEngine({ store: await LowdbFlowStore.open(join(dir, "engine")), box: await createSecretBox(generateKeyBytes()), clock, registry });
  const ids: string[] = [];
  for (let i = 0; i < FLOWS; i++) ids.push((await engine.create("authorization", { legalEntity: "999999999", integration: "default" })).id);
  const record = (await engine.get(ids[0]!)) as unknown as Record<string, unknown>;

  const event = (i: number) => ({
    type: "AUTHORIZE",
    user: `user-${i}`,
    request: { url: "https://login.test.idporten.no/authorize?x", state: `${ids[i % FLOWS]}.${i}`, nonce: "n", codeVerifier: "v".repeat(43), redirectUri: CALLBACK },
    redirect: { redirectUri: CALLBACK, registeredRedirectUris: [CALLBACK], callbackUrl: CALLBACK },
    settings: { exchangeMode: "auto", loginTimeoutSeconds: 600, authorizationLifetimeSeconds: 31536000 },
  });

  const single = new Low(new JSONFile<Record<string, unknown>>(join(dir, "single.json")), {});
  const all = new Low(new JSONFile<Record<string, unknown>>(join(dir, "all.json")), {});
  for (let i = 0; i < FLOWS; i++) all.data[`flow-${i}`] = { ...record, id: `flow-${i}` };

  // Interleave the three so that noise from other work on the machine hits them alike.
  const base: number[] = [], eng: number[] = [], big: number[] = [];
  for (let round = 0; round < 3; round++) {
    base.push(...(await time(SAMPLES / 3, async (i) => ((single.data = { ...record, revision: i }), single.write()))));
    eng.push(...(await time(SAMPLES / 3, (i) => engine.send(ids[(round * SAMPLES + i) % FLOWS]!, event(i)))));
    big.push(...(await time(Math.max(5, SAMPLES / 30), async (i) => ((all.data["flow-0"] = { ...record, revision: i }), all.write()))));
  }
  await engine.stop();

  const b = stats(base), e = stats(eng), g = stats(big);
  const row = (name: string, s: { median: number; p95: number }) =>
    `${name.padEnd(44)} median ${s.median.toFixed(2).padStart(8)} ms  p95 ${s.p95.toFixed(2).padStart(8)} ms  ×${(s.median / b.median).toFixed(1)} baseline`;
  console.log(`authflow bench — ${FLOWS} flows on disk, ${SAMPLES} samples each, ${new Date().toISOString()}`);
  console.log(row("baseline: lowdb write of one flow document", b));
  console.log(row("engine event (seal + CAS write + audit)", e));
  console.log(row(`one file holding all ${FLOWS} flows, per write`, g));
  console.log(`engine events/s at the median: ${(1000 / e.median).toFixed(0)}; one-file layout: ${(1000 / g.median).toFixed(0)} writes/s`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
