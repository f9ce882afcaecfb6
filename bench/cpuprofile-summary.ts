// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by area, and the share of
// CPU samples that have a given function on their stack (inclusive time), optionally only for a
// window of the profile (µs on the profile's clock, which is the monotonic clock process.hrtime
// reads on Linux) and per request.
//
//   node --import tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--from µs] [--to µs] [--requests N] [--top 25]
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(["(idle)"]);

export function shortUrl(url: string): string {
  if (!url) return "";
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("/node_modules/");
  if (nm >= 0) return u.slice(nm + "/node_modules/".length);
  const src = u.search(/\/(src|bench)\//);
  if (src >= 0) return u.slice(src + 1);
  return u;
}

/** The area a frame belongs to, for the self-time breakdown. */
export function area(frame: CallFrame): string {
  const { functionName: name, url } = frame;
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "(program): V8/native outside JS";
  if (name === "(idle)") return "(idle)";
  const u = shortUrl(url);
  if (!u) return "V8 builtins / native (JSON, crypto bindings, …)";
  if (u.startsWith("node:")) {
    if (/^node:internal\/(console|util\/inspect)/.test(u)) return "node: console / util.format";
    if (/^node:(internal\/)?(fs|stream|streams|net|tty)/.test(u) || /^node:internal\/fs/.test(u)) return "node: fs / streams / net";
    if (/^node:(internal\/)?(_)?http/.test(u) || /^node:_http/.test(u)) return "node: http";
    if (/crypto|webcrypto/.test(u)) return "node: webcrypto";
    if (/url/.test(u)) return "node: URL";
    return "node: other internals";
  }
  const pkg = /^((@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? u;
  if (u.startsWith("src/")) return u.split("/").slice(0, 2).join("/");
  return pkg;
}

export interface Summary {
  windowMs: number;
  busyMs: number;
  idleMs: number;
  samples: number;
  bySelf: Array<{ key: string; ms: number }>;
  byArea: Array<{ key: string; ms: number }>;
  onStack: (pattern: RegExp) => number;
}

export function summarize(profile: CpuProfile, window: { from?: number; to?: number } = {}): Summary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const key = (f: CallFrame) => `${f.functionName || "(anonymous)"}  ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const kept: Array<{ id: number; us: number }> = [];
  let t = profile.startTime;
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    // A sample stands for the time until the next one (as DevTools counts it).
    const us = profile.timeDeltas[i + 1] ?? 0;
    if ((window.from !== undefined && t < window.from) || (window.to !== undefined && t > window.to)) continue;
    const node = byId.get(profile.samples[i]!)!;
    if (IDLE.has(node.callFrame.functionName)) {
      idle += us;
      continue;
    }
    busy += us;
    kept.push({ id: node.id, us });
    self.set(key(node.callFrame), (self.get(key(node.callFrame)) ?? 0) + us);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([k, v]) => ({ key: k, ms: v / 1000 })).sort((a, b) => b.ms - a.ms);
  const stackCache = new Map<number, string[]>();
  const stackOf = (id: number): string[] => {
    let s = stackCache.get(id);
    if (!s) {
      s = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        s.push(`${f.functionName} ${f.url}`);
      }
      stackCache.set(id, s);
    }
    return s;
  };
  const from = window.from ?? profile.startTime;
  const to = window.to ?? profile.endTime;
  return {
    windowMs: (to - from) / 1000,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    samples: kept.length,
    bySelf: sorted(self),
    byArea: sorted(areas),
    onStack: (pattern) => kept.reduce((sum, k) => (stackOf(k.id).some((frame) => pattern.test(frame)) ? sum + k.us : sum), 0) / 1000,
  };
}

export function report(s: Summary, options: { requests?: number; top?: number; suspects?: Array<[string, RegExp]> } = {}): string {
  const top = options.top ?? 25;
  const per = (ms: number) => (options.requests ? `${((ms * 1000) / options.requests).toFixed(1).padStart(7)} µs/req` : "");
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)} %`;
  const lines: string[] = [];
  lines.push(
    `window ${s.windowMs.toFixed(0)} ms: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms (main thread)` +
      (options.requests ? `; ${options.requests} requests → ${((s.busyMs * 1000) / options.requests).toFixed(0)} µs of CPU per request` : ""),
  );
  lines.push("", `top ${top} by self time (share of busy time${options.requests ? ", per request" : ""}):`);
  for (const r of s.bySelf.slice(0, top)) lines.push(`  ${r.ms.toFixed(0).padStart(6)} ms ${pct(r.ms)} ${per(r.ms)}  ${r.key}`);
  lines.push("", "self time by area:");
  for (const r of s.byArea.slice(0, 16)) lines.push(`  ${r.ms.toFixed(0).padStart(6)} ms ${pct(r.ms)} ${per(r.ms)}  ${r.key}`);
  if (options.suspects?.length) {
    lines.push("", "inclusive (CPU samples with it on the stack):");
    for (const [name, pattern] of options.suspects) {
      const ms = s.onStack(pattern);
      lines.push(`  ${ms.toFixed(0).padStart(6)} ms ${pct(ms)} ${per(ms)}  ${name}`);
    }
  }
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const file = args.find((a) => a.endsWith(".cpuprofile"));
  if (!file) {
    console.error("usage: node --import tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--from µs] [--to µs] [--requests N] [--top 25]");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const requests = flag("--requests");
  console.log(report(summarize(profile, { from: flag("--from"), to: flag("--to") }), { ...(requests ? { requests } : {}), top: flag("--top") ?? 25 }));
}
