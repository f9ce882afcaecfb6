// The load generator: in the bench's own process, node:http with one keep-alive Agent per target
// (maxSockets = the number of workers, so N workers hold N connections), closed loop — each worker
// sends its next request when the previous answer has been read in full. The same code and the
// same process load every side of a comparison, and nothing else runs in the bench process
// meanwhile.
import { Agent, request as httpRequest } from "node:http";

export interface Target {
  base: string;
  agent: Agent;
}

export function target(base: string, connections: number): Target {
  return { base, agent: new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections }) };
}

export interface Answer {
  status: number;
  body: string;
}

export function send(t: Target, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, t.base);
    const req = httpRequest(
      { agent: t.agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface Run {
  /** Answers with the expected status inside the measured window. */
  ok: number;
  /** Other answers or errors inside the window. */
  failed: number;
  seconds: number;
  perSecond: number;
  /** Latencies (ms) of the answers counted in `ok`. */
  latencies: number[];
  /** CPU seconds the measured side used inside the window (when `cpu` was given). */
  cpuSeconds?: number;
  /** CPU seconds the side's other processes used inside the window (when `otherCpu` was given). */
  otherCpuSeconds?: number;
  firstFailure?: string;
}

/**
 * `workers` closed-loop workers for `warmupSeconds` (not counted) and then `seconds` (counted:
 * answers that complete inside the window). Requests still in flight at the end are awaited, not counted.
 */
export async function closedLoop(options: {
  workers: number;
  warmupSeconds: number;
  seconds: number;
  request: () => Promise<Answer>;
  expect: number;
  /** CPU seconds used so far by the side under load (read at the window's start and end). */
  cpu?: () => number;
  /** CPU seconds used so far by whatever else the measured side needs (its provider, the driver), read the same way. */
  otherCpu?: () => number;
}): Promise<Run> {
  let phase: "warmup" | "measure" | "done" = "warmup";
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const latencies: number[] = [];
  let windowStart = 0;
  let windowEnd = 0;
  let cpuStart = 0;
  let cpuEnd = 0;
  let otherStart = 0;
  let otherEnd = 0;
  const timers: NodeJS.Timeout[] = [];
  const begin = () => {
    phase = "measure";
    windowStart = performance.now();
    cpuStart = options.cpu?.() ?? 0;
    otherStart = options.otherCpu?.() ?? 0;
    timers.push(
      setTimeout(() => {
        phase = "done";
        windowEnd = performance.now();
        cpuEnd = options.cpu?.() ?? 0;
        otherEnd = options.otherCpu?.() ?? 0;
      }, options.seconds * 1000),
    );
  };
  if (options.warmupSeconds > 0) timers.push(setTimeout(begin, options.warmupSeconds * 1000));
  else begin();
  const worker = async () => {
    while (phase !== "done") {
      const counted = phase === "measure";
      const t0 = performance.now();
      let answer: Answer | undefined;
      let error: unknown;
      try {
        answer = await options.request();
      } catch (e) {
        error = e;
      }
      const t1 = performance.now();
      if (!counted || (phase as string) === "done") continue;
      if (answer?.status === options.expect) {
        ok++;
        latencies.push(t1 - t0);
      } else {
        failed++;
        firstFailure ??= answer ? `${answer.status} ${answer.body.slice(0, 200)}` : String((error as Error)?.message ?? error);
        if (!answer) await new Promise((r) => setTimeout(r, 10)); // a refused connection must not spin
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  for (const t of timers) clearTimeout(t);
  const seconds = (windowEnd - windowStart) / 1000;
  return { ok, failed, seconds, perSecond: ok / seconds, latencies, ...(options.cpu ? { cpuSeconds: cpuEnd - cpuStart } : {}), ...(options.otherCpu ? { otherCpuSeconds: otherEnd - otherStart } : {}), ...(firstFailure ? { firstFailure } : {}) };
}

/** `total` requests over `workers` workers; each latency is kept with the request's ordinal (0-based). */
export async function fixedCount(options: { workers: number; total: number; request: (i: number) => Promise<Answer>; expect: number }): Promise<{
  seconds: number;
  perSecond: number;
  latencies: Float64Array;
  failed: number;
  firstFailure?: string;
}> {
  const latencies = new Float64Array(options.total);
  let next = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= options.total) return;
      const t0 = performance.now();
      let answer: Answer | undefined;
      try {
        answer = await options.request(i);
      } catch (e) {
        firstFailure ??= String((e as Error)?.message ?? e);
      }
      latencies[i] = performance.now() - t0;
      if (answer?.status !== options.expect) {
        failed++;
        if (answer) firstFailure ??= `${answer.status} ${answer.body.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSecond: options.total / seconds, latencies, failed, ...(firstFailure ? { firstFailure } : {}) };
}

export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
