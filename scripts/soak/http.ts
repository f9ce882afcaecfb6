// Every request the soak makes: loopback only, a timeout on each, cut short at the deadline, and the
// server's side of the contract checked on every answer — never a 500, every /api error a
// problem+json document (RFC 9457: type, title, status, detail).
import type { SoakContext } from "./context.ts";

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  url: string;
}

/** No answer: refused or dropped connection, the timeout, or the soak stopping. */
export class NoAnswer extends Error {
  constructor(
    readonly why: "connection" | "timeout" | "stopped",
    message: string,
  ) {
    super(message);
  }
}

const LOOPBACK = new Set(["127.0.0.1"]);

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`soak: refusing to send a request to ${host} (loopback only): ${url}`);
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  /** What answers to hold to the contract: "api" (problem+json errors), "page" (HTML), "none". */
  contract?: "api" | "page" | "none";
  /** A signal of the caller's own (the final checks run past the deadline with their own). */
  signal?: AbortSignal;
}

export async function request(soak: SoakContext, url: string, options: RequestOptions = {}): Promise<Reply> {
  assertLoopback(url);
  const timeoutMs = options.timeoutMs ?? 20_000;
  const outer = options.signal ?? soak.stop.signal;
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), outer]);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: options.method ?? "GET", headers, body, redirect: "manual", signal });
    text = await res.text();
  } catch (error) {
    if (outer.aborted) throw new NoAnswer("stopped", `${options.method ?? "GET"} ${url}: stopped`);
    if (signal.aborted) throw new NoAnswer("timeout", `${options.method ?? "GET"} ${url}: no answer within ${timeoutMs} ms`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new NoAnswer("connection", `${options.method ?? "GET"} ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const reply = { status: res.status, headers: res.headers, text, json, url };
  checkContract(soak, options.method ?? "GET", url, reply, options.contract ?? "api");
  return reply;
}

function checkContract(soak: SoakContext, method: string, url: string, reply: Reply, contract: RequestOptions["contract"]): void {
  if (contract === "none") return;
  const where = `${method} ${new URL(url).pathname.replace(/\/login\/([0-9a-f-]{36})\.[0-9a-f]+/, "/login/$1.…")}`;
  if (reply.status === 500) soak.violation("server answered 500", `${where}: ${reply.text.slice(0, 300)}`);
  if (contract !== "api" || reply.status < 400) return;
  const type = reply.headers.get("content-type") ?? "";
  const doc = reply.json as Record<string, unknown> | undefined;
  const problems: string[] = [];
  if (!/^application\/problem\+json\b/i.test(type)) problems.push(`content-type is "${type}"`);
  if (!doc || typeof doc !== "object") problems.push("the body is not JSON");
  else {
    for (const field of ["type", "title", "detail"]) if (typeof doc[field] !== "string") problems.push(`"${field}" missing`);
    if (doc.status !== reply.status) problems.push(`"status" is ${JSON.stringify(doc.status)}, not ${reply.status}`);
  }
  if (problems.length) soak.violation("error not problem+json", `${where} answered ${reply.status}: ${problems.join(", ")}; body ${reply.text.slice(0, 200)}`);
}

/** The problem code of an error answer (the last segment of `type`), e.g. "authorization_expired". */
export function problemCode(reply: Reply): string {
  const type = (reply.json as { type?: unknown } | undefined)?.type;
  return typeof type === "string" ? (type.split("/").pop() ?? type) : "";
}

export interface LoginWalk {
  /** The last answer (the callback page, or where the walk stopped). */
  status: number;
  url: string;
  body: string;
  /** When the login link was asked for and answered with a redirect (LOGIN_OPENED acknowledged). */
  opened: { sentAt: number; ackAt: number } | null;
  /** When the walk asked this server's callback and it answered. */
  calledBack: { sentAt: number; ackAt: number } | null;
}

/**
 * A browser without a page: opens the flow's login link with login_hint=<pid>, following redirects
 * with a cookie jar, until the callback page answers — or, with `abandonAt`, stops where the next
 * hop would be that URL (a person who closes the tab before coming back). Collects what is secret
 * on the way (the link's secret, cookies, the code) for the scan.
 */
export async function walkLogin(soak: SoakContext, authorizationUrl: string, pid: string, options: { abandonAt?: string; callbackUrl: string; signal?: AbortSignal }): Promise<LoginWalk> {
  const jar = new Map<string, string>();
  const start = new URL(authorizationUrl);
  start.searchParams.set("login_hint", pid);
  soak.secret(/\/login\/[^./]+\.([^/?]+)/.exec(start.pathname)?.[1], "login link secret");
  let next = start.toString();
  let opened: LoginWalk["opened"] = null;
  for (let hop = 0; hop < 20; hop++) {
    const isCallback = next.startsWith(options.callbackUrl);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const sentAt = Date.now();
    const reply = await request(soak, next, { headers: cookie ? { cookie } : {}, contract: "page", timeoutMs: 25_000, signal: options.signal });
    for (const set of reply.headers.getSetCookie()) {
      const [pair = ""] = set.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
      if (pair.startsWith("authflow_login_")) soak.secret(pair.slice(i + 1).trim(), "login cookie");
    }
    if (hop === 0 && reply.status >= 300 && reply.status < 400) opened = { sentAt, ackAt: Date.now() };
    const location = reply.headers.get("location");
    if (!location || reply.status < 300 || reply.status >= 400) {
      return { status: reply.status, url: next, body: reply.text, opened, calledBack: isCallback ? { sentAt, ackAt: Date.now() } : null };
    }
    next = new URL(location, next).toString();
    assertLoopback(next);
    if (next.startsWith(options.callbackUrl)) soak.secret(new URL(next).searchParams.get("code"), "authorization code");
    if (options.abandonAt && next.startsWith(options.abandonAt)) return { status: reply.status, url: next, body: "", opened, calledBack: null };
  }
  throw new Error("soak: the login took more than 20 redirects");
}
