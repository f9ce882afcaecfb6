// What the lazy lowdb store costs at 10,000 flows (issue 7: start-up < 2 s more than with none,
// resident memory < 200 MB for the whole server). Each open() runs in a fresh Node process, so
// the figures are that process's own: time of open(), RSS and heap after it, against an empty
// DATA_DIR in the same run. Then the hot calls on the open store: claimDue, list, get, save.
//
//   node --import tsx bench/lowdb-open.ts            (BENCH_FLOWS=10000 by default)
//
// The documents are made the way the store writes them (pretty JSON, a sealed snapshot of 3–6 KB
// of base64, a summary like authorization-flow.ts's), plus one audit file per flow, since open()
// also makes every audit file private.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FlowRecord } from "../src/store/flow-store.ts";
import { LowdbFlowStore } from "../src/store/lowdb-store.ts";
import { BASE, syntheticFlow } from "./lib/synthetic-flow.ts";

const FLOWS = Number(process.env.BENCH_FLOWS ?? 10_000);

function flow(i: number): FlowRecord {
  const at = new Date(BASE + i * 1000).toISOString();
  return syntheticFlow(
    i,
    {
      state: i % 10 ? "authorized" : "awaitingLogin",
      substate: null,
      authorizationState: "authorized",
      activeStates: ["grant.authorized.idle", "login.none", "revocation.idle"],
      boundUser: `user-${i % 50}`,
      pendingUser: null,
      authorizationUrl: null,
      loginOpened: null,
      codeReceived: true,
      idporten: { grantedScope: "openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending", accessTokenExpiresAt: at, pid: "010190*****", acr: "idporten-loa-high" },
      altinn: { expiresAt: at },
      authorizedAt: at,
      authorizationExpiresAt: at,
      loginDeadline: null,
      attention: null,
      pendingRevocations: 0,
      lastError: null,
    },
    { revision: 3 + (i % 5), attentionFrom: i % 100 === 0 ? BASE : null },
  );
}

async function makeDataDir(n: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "authflow-bench-open-"));
  for (const sub of ["flows", "audit", "damaged"]) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
  for (let i = 0; i < n; i += 256) {
    await Promise.all(
      Array.from({ length: Math.min(256, n - i) }, async (_, k) => {
        const r = flow(i + k);
        await writeFile(join(dir, "flows", `${r.id}.json`), JSON.stringify(r, null, 2), { mode: 0o600 });
        await writeFile(join(dir, "audit", `${r.id}.jsonl`), JSON.stringify({ flowId: r.id, at: r.createdAt, from: null, to: "idle", event: "create", user: null }) + "\n", { mode: 0o600 });
      }),
    );
  }
  return dir;
}

/** In a child: open the store, settle, report time and memory, then the hot calls. */
async function child(dir: string): Promise<void> {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const store = await LowdbFlowStore.open(dir, { log: () => undefined });
  const openMs = performance.now() - t0;
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  const per = async (n: number, fn: (i: number) => Promise<unknown>) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return (performance.now() - t) / n;
  };
  const count = await store.count();
  const page = await store.list({ limit: 100 });
  const ids = page.items.map((r) => r.id);
  const hot = count
    ? {
        claimDueNoneDueMs: await per(1000, () => store.claimDue(BASE, "me", BASE + 90_000, 500)),
        claimDue10DueMs: await per(200, () => store.claimDue(BASE + 86_400_000 + 9 * 60_000, "me", BASE + 90_000, 500)),
        claimDue500DueMs: await per(20, () => store.claimDue(Number.MAX_SAFE_INTEGER, "me", BASE + 90_000, 500)),
        listPage100Ms: await per(500, () => store.list({ limit: 100 })),
        listFilteredByEntityMs: await per(500, () => store.list({ limit: 100, legalEntity: "900000007" })),
        listLastPageMs: await per(500, () => store.list({ limit: 100, after: page.next! })),
        getMs: await per(1000, (i) => store.get(ids[i % ids.length]!)),
      }
    : {};
  console.log(JSON.stringify({ count, openMs, rssBeforeOpenMB: rss0 / 1e6, rssMB: rss / 1e6, heapUsedMB: heapUsed / 1e6, ...hot }));
  await store.close();
}

if (process.argv[2] === "--child") {
  await child(process.argv[3]!);
} else if (process.argv[2] === "--make") {
  console.log(await makeDataDir(FLOWS)); // a DATA_DIR to look at; removing it is yours
} else {
  const empty = await makeDataDir(0);
  const t = performance.now();
  const full = await makeDataDir(FLOWS);
  console.error(`made ${FLOWS} flow documents in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  try {
    const run = (dir: string) => {
      const out = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", new URL(import.meta.url).pathname, "--child", dir], { encoding: "utf8" });
      if (out.status !== 0) throw new Error(out.stderr);
      return JSON.parse(out.stdout) as Record<string, number>;
    };
    // Alternate, three each: the machine is shared and noisy.
    const rows: Record<string, number>[] = [];
    for (let i = 0; i < 3; i++) rows.push({ flows: 0, ...run(empty) }, { flows: FLOWS, ...run(full) });
    const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v < 1 ? v.toFixed(4) : v.toFixed(1));
    for (const r of rows) console.log(Object.entries(r).map(([k, v]) => `${k}=${fmt(v)}`).join(" "));
  } finally {
    await rm(empty, { recursive: true, force: true });
    await rm(full, { recursive: true, force: true });
  }
}
