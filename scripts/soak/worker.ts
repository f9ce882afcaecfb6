// One flow, driven as a service and its users would: create it, AUTHORIZE and log in, then ask for
// tokens again and again — with now and then a RENEW, a colleague's login that is abandoned, a
// REVOKE and a new authorization, the same user authorizing again (a replacement), or a pause long
// enough that only the keep-alive keeps the authorization alive. Every answer is checked against
// what the worker knows it was promised.
import type { Chaos } from "./chaos.ts";
import type { SoakContext } from "./context.ts";
import { NoAnswer, problemCode, request, walkLogin, type Reply } from "./http.ts";
import { FlowLedger, type AuditEntry } from "./ledger.ts";
import { iso, sleep, type Random } from "./util.ts";

const AUTHORIZED = new Set(["idportenAuthorized", "altinnAuthorized"]);
/** A token this close to its expiry still counts as valid (clock granularity of a JWT's exp). */
const EXP_SKEW_MS = 1000;

export interface WorkerSetup {
  soak: SoakContext;
  chaos: Chaos;
  random: Random;
  index: number;
  baseUrl: string;
  apiToken: string;
  callbackUrl: string;
  pid: string;
  colleaguePid: string;
  legalEntity: string;
  /** What the simulator's log says about an error's correlation id. */
  explain: (lastError: unknown) => string;
}

/** The call got no answer; already judged (explained by a disturbance, or a violation). */
class Unanswered extends Error {}

export class FlowWorker {
  readonly user: string;
  readonly colleague: string;
  flowId: string | undefined;
  ledger: FlowLedger | undefined;
  /** The worker's belief: its user holds a live authorization. */
  authorized = false;
  /** The last acknowledged change was the user's REVOKE (and nothing authorized since). */
  revoked = false;
  /** A change was sent and no answer came: what the server did is read from the flow, not assumed. */
  uncertain = false;
  /** An ended authorization already reported; cleared by the next successful login. */
  incident = false;
  authorizedSince = 0;
  authorizedAt: string | null = null;
  /** A colleague's abandoned login is pending until about then. */
  colleagueUntil = 0;
  #checkedEpoch = 0;
  #checkedAt = 0;
  /** The last keep-alive pause (no calls at all), for the story of an expiry. */
  #idle: { from: number; to: number } | undefined;

  constructor(readonly w: WorkerSetup) {
    this.user = `soak-user-${w.index}`;
    this.colleague = `soak-colleague-${w.index}`;
  }

  get soak() {
    return this.w.soak;
  }

  async run(): Promise<void> {
    const { soak, random } = this.w;
    const loginTimeoutMs = soak.settings.loginTimeoutSeconds * 1000;
    while (soak.running) {
      try {
        if (!this.flowId) {
          await this.create();
          continue;
        }
        if (this.#checkedEpoch !== soak.epoch || Date.now() - this.#checkedAt > 8000) await this.checkFlow(false);
        if (!this.authorized) {
          await this.authorize("login");
          continue;
        }
        const roll = random.next();
        const colleaguePending = this.colleagueUntil > 0;
        if (roll < 0.04) await this.renew();
        else if (roll < 0.06 && !colleaguePending) await this.colleagueAbandons(loginTimeoutMs);
        else if (roll < 0.072 && !colleaguePending) await this.revokeAndAuthorize();
        else if (roll < 0.082 && !colleaguePending) await this.authorize("replace");
        else if (roll < 0.09 && soak.settings.idle && soak.deadline - Date.now() > 45_000) await this.idle();
        if (this.authorized && soak.running) await this.token();
        await sleep(random.int(300, 1200), soak.stop.signal);
      } catch (error) {
        if (error instanceof Unanswered) {
          await sleep(random.int(200, 600), soak.stop.signal);
          continue;
        }
        throw error;
      }
    }
  }

  // --- requests

  async api(method: string, path: string, body?: unknown, options: { changes?: boolean; signal?: AbortSignal } = {}): Promise<Reply> {
    const sentAt = Date.now();
    try {
      return await request(this.soak, `${this.w.baseUrl}${path}`, {
        method,
        body,
        headers: { authorization: `Bearer ${this.w.apiToken}` },
        timeoutMs: 25_000,
        signal: options.signal,
      });
    } catch (error) {
      if (!(error instanceof NoAnswer)) throw error;
      if (options.changes) this.uncertain = true;
      this.#judgeNoAnswer(error, sentAt);
      throw new Unanswered(error.message);
    }
  }

  #judgeNoAnswer(error: NoAnswer, sentAt: number): void {
    if (error.why === "stopped") return;
    if (!this.soak.serverUp || this.soak.disturbance(sentAt)) return;
    this.soak.violation("no answer while the server was up", `${error.message} (no restart, full disk or fault within ${Math.round((Date.now() - sentAt) / 1000) + 15} s)`);
  }

  /** A 503 must have a cause the soak made: a fault pending, a restart, a full disk (or their aftermath). */
  #judge503(what: string, reply: Reply, sentAt: number): void {
    if (this.soak.disturbance(sentAt)) return;
    this.soak.violation("503 with nothing wrong", `flow ${this.flowId}: ${what} answered 503 with no fault, restart or full disk within 15 s: ${String(reply.json?.detail ?? reply.text).slice(0, 200)}`);
  }

  async create(): Promise<void> {
    const sentAt = Date.now();
    const reply = await this.api("POST", "/api/flows", { legalEntity: this.w.legalEntity });
    if (reply.status === 201) {
      this.flowId = reply.json.id;
      this.ledger = new FlowLedger(this.soak, this.flowId!);
      this.ledger.ack("create", null, sentAt);
      this.#checkedEpoch = this.soak.epoch;
      this.#checkedAt = Date.now();
      return;
    }
    if (reply.status === 503) this.#judge503("POST /api/flows", reply, sentAt);
    else this.soak.violation("create refused", `POST /api/flows answered ${reply.status}: ${reply.text.slice(0, 200)}`);
    await sleep(500, this.soak.stop.signal);
  }

  // --- what the worker does

  async token(): Promise<void> {
    const { soak } = this;
    const sentAt = Date.now();
    soak.tally.tokenCalls++;
    let reply: Reply;
    try {
      reply = await this.api("POST", `/api/flows/${this.flowId}/token`, { user: this.user });
    } catch (error) {
      soak.count("no answer");
      throw error;
    }
    soak.count(String(reply.status));
    const now = Date.now();
    if (reply.status === 200) {
      const body = reply.json ?? {};
      soak.secret(body.altinnToken, "Altinn token");
      soak.secret(body.idportenAccessToken, "ID-porten access token");
      if (typeof body.altinnToken === "string") soak.sampleToken = body.altinnToken;
      const problems = tokenProblems(body, now);
      if (problems.length) soak.violation("bad token answer", `flow ${this.flowId}: 200 with ${problems.join("; ")}`);
      if (this.revoked && !this.uncertain) {
        soak.violation("acknowledged REVOKE undone", `flow ${this.flowId}: tokens handed out to ${this.user} after its REVOKE was acknowledged`);
        this.revoked = false;
      }
      if (this.uncertain) {
        this.authorized = true;
        this.uncertain = false;
      }
      return;
    }
    if (reply.status === 503) return this.#judge503("POST token", reply, sentAt);
    const code = problemCode(reply);
    if (reply.status === 409 && code === "authorization_expired") return this.expired(`token call: ${reply.json?.detail ?? ""}`, reply.json?.lastError);
    if (reply.status === 409 && code === "not_authorized") {
      if (this.authorized && !this.uncertain) this.lost(`token call answered 409 not_authorized (${reply.json?.state ?? "?"})`);
      this.authorized = false;
      this.uncertain = false;
      return;
    }
    if (this.authorized && !this.uncertain) soak.violation("token refused", `flow ${this.flowId}: token call for the bound user answered ${reply.status} ${code}: ${reply.text.slice(0, 200)}`);
    this.authorized = false;
  }

  async renew(): Promise<void> {
    const sentAt = Date.now();
    const reply = await this.api("POST", `/api/flows/${this.flowId}/events`, { type: "RENEW", user: this.user }, { changes: true });
    if (reply.status === 200) {
      this.ledger!.ack("RENEW", this.user, sentAt);
      this.soak.tally.renewSent++;
      await this.#checkView(reply.json, "after RENEW");
    } else if (reply.status === 503) this.#judge503("RENEW", reply, sentAt);
    else if (!(reply.status === 409 && problemCode(reply) === "event_not_accepted")) {
      this.soak.violation("RENEW refused", `flow ${this.flowId}: ${reply.status} ${reply.text.slice(0, 200)}`);
    }
  }

  /** A colleague starts a login and never finishes it; half of them open the link (their browser is bound) and close the tab before coming back. */
  async colleagueAbandons(loginTimeoutMs: number): Promise<void> {
    const sentAt = Date.now();
    const reply = await this.api("POST", `/api/flows/${this.flowId}/events`, { type: "AUTHORIZE", user: this.colleague }, { changes: true });
    if (reply.status === 503) return this.#judge503("colleague's AUTHORIZE", reply, sentAt);
    if (reply.status !== 200) {
      this.soak.violation("colleague's AUTHORIZE refused", `flow ${this.flowId}: ${reply.status} ${reply.text.slice(0, 200)}`);
      return;
    }
    this.ledger!.ack("AUTHORIZE", this.colleague, sentAt);
    this.colleagueUntil = Date.now() + loginTimeoutMs;
    this.soak.tally.abandoned++;
    const url = reply.json?.authorizationUrl;
    if (typeof url === "string" && this.w.random.chance(0.5)) {
      try {
        const walk = await walkLogin(this.soak, url, this.w.colleaguePid, { callbackUrl: this.w.callbackUrl, abandonAt: this.w.callbackUrl });
        if (walk.opened) this.ledger!.ack("LOGIN_OPENED", null, walk.opened.sentAt, walk.opened.ackAt);
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        this.#judgeNoAnswer(error, sentAt);
      }
    }
  }

  async revokeAndAuthorize(): Promise<void> {
    const sentAt = Date.now();
    const reply = await this.api("POST", `/api/flows/${this.flowId}/events`, { type: "REVOKE", user: this.user }, { changes: true });
    if (reply.status === 503) {
      this.uncertain = true; // a held change may still land
      return this.#judge503("REVOKE", reply, sentAt);
    }
    if (reply.status !== 200) {
      this.soak.violation("REVOKE refused", `flow ${this.flowId}: ${reply.status} ${reply.text.slice(0, 200)}`);
      return;
    }
    this.ledger!.ack("REVOKE", this.user, sentAt);
    this.soak.tally.revokes++;
    this.authorized = false;
    this.revoked = true;
    this.uncertain = false;
    if (AUTHORIZED.has(reply.json?.authorizationState)) this.soak.violation("REVOKE not applied", `flow ${this.flowId}: REVOKE answered 200 with the authorization still ${reply.json.authorizationState}`);
    await this.token(); // must be 409 not_authorized now
    await this.authorize("login");
  }

  /** Twenty-odd seconds without a call: only the keep-alive keeps the refresh token alive. */
  async idle(): Promise<void> {
    this.soak.tally.idles++;
    const ms = this.w.random.int(Math.round(this.soak.settings.refreshTokenSeconds * 850), Math.round(this.soak.settings.refreshTokenSeconds * 950));
    const from = Date.now();
    await sleep(Math.min(ms, this.soak.deadline - Date.now() - 3000), this.soak.stop.signal);
    this.#idle = { from, to: Date.now() };
  }

  /**
   * AUTHORIZE and log in, until it works (or the run ends). "replace": the bound user authorizes
   * again while authorized; the authorization in place must keep serving if the attempt fails.
   */
  async authorize(kind: "login" | "replace"): Promise<void> {
    const { soak } = this;
    const before = this.authorizedAt;
    for (let attempt = 1; soak.running; attempt++) {
      if (attempt > 1) await sleep(this.w.random.int(300, 800), soak.stop.signal);
      if (!soak.running) return;
      const sentAt = Date.now();
      const reply = await this.api("POST", `/api/flows/${this.flowId}/events`, { type: "AUTHORIZE", user: this.user }, { changes: true });
      if (reply.status === 503) {
        this.#judge503("AUTHORIZE", reply, sentAt);
        continue;
      }
      if (reply.status !== 200) {
        soak.violation("AUTHORIZE refused", `flow ${this.flowId}: ${reply.status} ${reply.text.slice(0, 200)}`);
        await this.checkFlow(false);
        if (kind === "replace" || this.authorized) return;
        continue;
      }
      this.ledger!.ack("AUTHORIZE", this.user, sentAt);
      this.colleagueUntil = 0; // a new AUTHORIZE starts over: a colleague's pending login is gone
      const url = reply.json?.authorizationUrl;
      let page = "";
      try {
        const walk = await walkLogin(soak, url, this.w.pid, { callbackUrl: this.w.callbackUrl });
        if (walk.opened) this.ledger!.ack("LOGIN_OPENED", null, walk.opened.sentAt, walk.opened.ackAt);
        if (walk.calledBack && (walk.status === 200 || walk.status === 202)) this.ledger!.ack("CALLBACK", null, walk.calledBack.sentAt, walk.calledBack.ackAt);
        page = `${walk.status} ${walk.body.replace(/<style[\s\S]*?<\/style>/g, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim().slice(0, 160)}`;
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        this.#judgeNoAnswer(error, sentAt);
        page = error.message;
      }
      // What the flow says decides, not the page (a slow exchange answers 202 and finishes later).
      let view: any;
      for (let look = 0; look < 20 && soak.running; look++) {
        const got = await this.api("GET", `/api/flows/${this.flowId}`).catch((e) => (e instanceof Unanswered ? undefined : Promise.reject(e)));
        view = got?.status === 200 ? got.json : undefined;
        if (view && view.pendingUser !== this.user) break;
        await sleep(250, soak.stop.signal);
      }
      if (!view) continue;
      const mine = AUTHORIZED.has(view.authorizationState) && view.boundUser === this.user;
      if (mine && (kind === "login" || view.authorizedAt !== before)) {
        this.authorized = true;
        this.revoked = false;
        this.uncertain = false;
        this.incident = false;
        this.authorizedSince = Date.now();
        this.authorizedAt = view.authorizedAt;
        if (kind === "login") soak.tally.logins++;
        else soak.tally.replacements++;
        return;
      }
      soak.tally.loginRetries++;
      if (!soak.disturbance(sentAt)) {
        soak.violation("login failed", `flow ${this.flowId}: ${kind} by ${this.user} failed with no fault, restart or full disk within 15 s: page ${page}; flow ${view.state}, lastError ${JSON.stringify(view.lastError)}`);
      }
      if (kind === "replace") {
        // The attempt failed: the authorization in place must still serve its user.
        if (!mine) await this.#checkView(view, "after a failed re-authorization");
        return;
      }
    }
  }

  // --- checks

  /** The flow's view and audit trail against what the worker knows. */
  async checkFlow(final: boolean, signal?: AbortSignal): Promise<void> {
    const phase = final ? "final check" : this.#checkedEpoch !== this.soak.epoch ? `after restart ${this.soak.epoch}` : "periodic check";
    const view = await this.api("GET", `/api/flows/${this.flowId}`, undefined, { signal });
    if (view.status !== 200) {
      this.soak.violation("flow unreadable", `flow ${this.flowId}: GET answered ${view.status} (${phase}): ${view.text.slice(0, 300)}`);
      return;
    }
    await this.#checkView(view.json, phase, signal);
    const audit = await this.api("GET", `/api/flows/${this.flowId}/audit`, undefined, { signal });
    if (audit.status !== 200 || !Array.isArray(audit.json?.transitions)) {
      this.soak.violation("audit unreadable", `flow ${this.flowId}: GET audit answered ${audit.status} (${phase}): ${audit.text.slice(0, 300)}`);
      return;
    }
    this.ledger!.check(audit.json.transitions as AuditEntry[], final, phase);
    this.#checkedEpoch = this.soak.epoch;
    this.#checkedAt = Date.now();
  }

  async #checkView(view: any, phase: string, signal?: AbortSignal): Promise<void> {
    const grant = view?.authorizationState;
    const mine = AUTHORIZED.has(grant) && view.boundUser === this.user;
    if (grant === "expired") return this.expired(`flow view ${phase}`, view.lastError, signal);
    if (this.uncertain) {
      this.authorized = mine;
      this.revoked = !mine && grant === "idle";
      this.uncertain = false;
    } else if (this.authorized && !mine) {
      this.lost(`${phase}: the flow is ${grant} (bound user ${view.boundUser ?? "none"}), lastError ${JSON.stringify(view.lastError)}`);
    } else if (this.revoked && mine) {
      this.soak.violation("acknowledged REVOKE undone", `flow ${this.flowId}: ${phase}: authorized again (${grant}) after ${this.user}'s acknowledged REVOKE`);
      this.revoked = false;
      this.authorized = true;
    }
    if (this.colleagueUntil > 0) {
      if (view.pendingUser !== this.colleague) this.colleagueUntil = 0;
      else if (Date.now() > this.colleagueUntil + 10_000 && !this.soak.disturbance(this.colleagueUntil - 1000)) {
        this.soak.violation("abandoned login never ended", `flow ${this.flowId}: ${this.colleague}'s login is still pending ${Math.round((Date.now() - this.colleagueUntil) / 1000)} s after its timeout (loginDeadline ${view.loginDeadline})`);
        this.colleagueUntil = 0;
      }
    }
  }

  /** The authorization ended. Excused only when the soak did what the product cannot survive. */
  async expired(where: string, lastError: unknown, signal?: AbortSignal): Promise<void> {
    const wasAuthorized = this.authorized;
    this.authorized = false;
    this.uncertain = false;
    if (this.incident) return;
    this.incident = true;
    const grace = this.soak.settings.reuseGraceSeconds * 1000;
    // A SIGKILL between the provider's answer to a refresh and its write is survived through the
    // provider's reuse grace — if the server is back (and retries) within it. A longer outage is not survivable.
    const longOutage = this.soak.windows.find((w) => w.kind === "restart" && w.end >= this.authorizedSince && w.end - w.start > grace - 1500);
    if (longOutage) {
      this.soak.tally.excusedExpiries++;
      this.soak.note(`flow ${this.flowId}: expired after a restart that took ${w(longOutage)} (longer than the ${grace / 1000} s reuse grace): excused`);
      return;
    }
    const recent = this.soak.windows
      .filter((x) => x.end + 40_000 >= Date.now())
      .map((x) => `${x.kind} ${iso(x.start).slice(11, 23)}–${Number.isFinite(x.end) ? iso(x.end).slice(11, 23) : "open"}`)
      .join(", ");
    const story = await this.#auditSince(this.authorizedSince - 1000, signal);
    const idle = this.#idle && this.#idle.to >= this.authorizedSince ? `; the worker made no calls from ${iso(this.#idle.from)} to ${iso(this.#idle.to)} (only the keep-alive renewed)` : "";
    this.soak.violation(
      "authorization expired",
      `flow ${this.flowId} (${this.user}, ${wasAuthorized ? "authorized" : "not known to be authorized"} since ${iso(this.authorizedSince)}${idle}): ${where}; lastError ${JSON.stringify(lastError)}; ${this.w.explain(lastError)}; disturbances in the last 40 s: ${recent || "none"}; the flow's audit since: ${story}`,
    );
  }

  /** The flow's audit trail since `from`, in short ("10:45:41.8 KEEP_ALIVE altinnAuthorized→altinnAuthorized, …"). */
  async #auditSince(from: number, signal?: AbortSignal): Promise<string> {
    try {
      const audit = await this.api("GET", `/api/flows/${this.flowId}/audit`, undefined, { signal });
      const entries = (audit.json?.transitions ?? []) as AuditEntry[];
      const since = entries.filter((e) => Date.parse(e.at) >= from);
      const shown = since.slice(-12).map((e) => `${e.at.slice(11, 22)} ${e.event}${e.user ? ` by ${e.user}` : ""} ${e.from}→${e.to}`);
      return `${since.length > shown.length ? "…, " : ""}${shown.join(", ") || "(none)"}`;
    } catch {
      return "(unreadable)";
    }
  }

  lost(detail: string): void {
    this.authorized = false;
    if (this.incident) return;
    this.incident = true;
    this.soak.violation("authorization lost", `flow ${this.flowId} (${this.user}): ${detail}`);
  }

  /** The end: the chaos is over, so a bound user must get valid tokens again. */
  async finish(signal: AbortSignal): Promise<void> {
    if (!this.flowId) return;
    const until = Date.now() + 20_000;
    if (this.authorized) {
      let last = "";
      for (;;) {
        try {
          const reply = await this.api("POST", `/api/flows/${this.flowId}/token`, { user: this.user }, { signal });
          if (reply.status === 200) break;
          last = `${reply.status} ${reply.text.slice(0, 200)}`;
          if (reply.status === 409 && problemCode(reply) === "authorization_expired") {
            await this.expired("final token call", reply.json?.lastError, signal);
            break;
          }
        } catch (error) {
          if (!(error instanceof Unanswered)) throw error;
          last = error.message;
        }
        if (Date.now() > until || signal.aborted) {
          this.soak.violation("no recovery", `flow ${this.flowId}: no valid token for the bound user 20 s after the chaos ended: ${last}`);
          break;
        }
        await sleep(1000, signal);
      }
    }
    try {
      await this.checkFlow(true, signal);
    } catch (error) {
      if (!(error instanceof Unanswered)) throw error;
      this.soak.violation("flow unreadable", `flow ${this.flowId}: final check got no answer`);
    }
  }
}

const w = (window: { start: number; end: number }) => `${((window.end - window.start) / 1000).toFixed(1)} s`;

function jwtExp(token: unknown): number | undefined {
  if (typeof token !== "string") return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** What is wrong with a 200 token answer: missing tokens, or tokens already expired. */
export function tokenProblems(body: any, now: number): string[] {
  const problems: string[] = [];
  for (const [token, expiry, name] of [
    ["altinnToken", "expiresAt", "Altinn token"],
    ["idportenAccessToken", "idportenAccessTokenExpiresAt", "ID-porten access token"],
  ] as const) {
    if (typeof body[token] !== "string" || body[token].length < 20) {
      problems.push(`no ${name}`);
      continue;
    }
    const stated = Date.parse(body[expiry]);
    if (!Number.isFinite(stated)) problems.push(`${expiry} is ${JSON.stringify(body[expiry])}`);
    else if (stated <= now) problems.push(`${name} expired at ${body[expiry]} (answered ${iso(now)})`);
    const exp = jwtExp(body[token]);
    if (exp === undefined) problems.push(`${name} is not a JWT with exp`);
    else if (exp + EXP_SKEW_MS <= now) problems.push(`${name}'s exp ${iso(exp)} is past (answered ${iso(now)})`);
  }
  return problems;
}
