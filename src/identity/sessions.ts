// Page sessions: a sealed cookie (AES-GCM under the service's key, bound to its purpose), so any
// instance on the same key reads it and nothing is stored per session. It holds who signed in, when
// it ends, and the CSRF token the page's forms must echo. Signing out clears the cookie and remembers
// the session as ended in this process until it would have expired.
import type { SecretBox } from "../crypto/secrets.ts";

export interface Session {
  sid: string;
  user: string;
  csrf: string;
  /** How the person signed in: a password, or the trusted proxy's header. */
  via: "password" | "proxy";
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export const SESSION_COOKIE = "authflow_session";
export const SESSION_HOURS = 8;
const PURPOSE = "authflow page session v1";

const random = () => Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join("");

export class Sessions {
  #ended = new Map<string, number>();

  constructor(
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  async create(user: string, via: Session["via"]): Promise<{ session: Session; cookie: string }> {
    const session: Session = { sid: random(), user, csrf: random(), via, expiresAt: this.now() + SESSION_HOURS * 3_600_000 };
    return { session, cookie: await this.box.seal(JSON.stringify(session), PURPOSE) };
  }

  /** The session a cookie holds, or null (absent, forged, expired, signed out). */
  async read(cookie: string | undefined): Promise<Session | null> {
    if (!cookie) return null;
    let session: Session;
    try {
      session = JSON.parse(await this.box.open(cookie, PURPOSE)) as Session;
    } catch {
      return null;
    }
    if (typeof session.expiresAt !== "number" || session.expiresAt <= this.now() || this.#ended.has(session.sid)) return null;
    return session;
  }

  end(session: Session): void {
    this.#ended.set(session.sid, session.expiresAt);
    const now = this.now();
    for (const [sid, until] of this.#ended) if (until <= now) this.#ended.delete(sid);
  }
}

/**
 * Sign-in attempts: after 5 failures for one user name, or 20 from one address, within 15 minutes,
 * further attempts are refused until the oldest failure ages out. Per process (the rate a guesser
 * gets is at most this times the number of instances).
 */
export class SignInLimiter {
  #failures = new Map<string, number[]>();
  #checking = 0;
  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits = { perUser: 5, perAddress: 20, windowMs: 15 * 60_000, concurrentChecks: 2 },
  ) {}

  /**
   * An attempt begins: 0 and counted as a failure until it succeeds (so attempts made at once all
   * count), or the seconds to wait when the limit is reached (not counted).
   */
  attempt(user: string, address: string): number {
    const wait = this.retryAfter(user, address);
    if (wait === 0) this.failed(user, address);
    return wait;
  }

  /** Takes back an attempt that was never checked (the server was busy). */
  withdraw(user: string, address: string): void {
    for (const key of [`u:${user.toLowerCase()}`, `a:${address}`]) this.#failures.get(key)?.pop();
  }

  /** A slot for one password check (scrypt holds tens of MiB while it runs), or null when all are taken. */
  enter(): (() => void) | null {
    if (this.#checking >= this.limits.concurrentChecks) return null;
    this.#checking++;
    let released = false;
    return () => {
      if (!released) (released = true), this.#checking--;
    };
  }

  /** Seconds until an attempt is allowed again; 0 when it is allowed now. */
  retryAfter(user: string, address: string): number {
    const now = this.now();
    const waits = [this.#wait(`u:${user.toLowerCase()}`, this.limits.perUser, now), this.#wait(`a:${address}`, this.limits.perAddress, now)];
    return Math.max(...waits);
  }

  failed(user: string, address: string): void {
    const now = this.now();
    for (const key of [`u:${user.toLowerCase()}`, `a:${address}`]) this.#failures.set(key, [...this.#recent(key, now), now]);
  }

  /** The attempt was right: the user's count starts over, and this attempt no longer counts against the address. */
  succeeded(user: string, address?: string): void {
    this.#failures.delete(`u:${user.toLowerCase()}`);
    if (address !== undefined) this.#failures.get(`a:${address}`)?.pop();
  }

  #recent(key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter((at) => at > now - this.limits.windowMs);
  }

  #wait(key: string, limit: number, now: number): number {
    const recent = this.#recent(key, now);
    if (recent.length === 0) this.#failures.delete(key);
    if (recent.length < limit) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - limit]! + this.limits.windowMs - now) / 1000));
  }
}
