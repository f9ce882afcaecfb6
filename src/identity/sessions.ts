// Page sessions: a sealed cookie (AES-GCM under the service's key, bound to its purpose), so any
// instance on the same key reads it and nothing is stored per session. It holds who signed in, when
// it ends, and the CSRF token the page's forms must echo. Signing out clears the cookie and records
// the session as ended (EndedSessions: a file under DATA_DIR, or PostgreSQL) until it would have
// expired, so a copy of the cookie is refused by every instance, also after a restart.
import type { SecretBox } from "../crypto/secrets.ts";
import type { EndedSessions } from "./ended-sessions.ts";
import { MemorySignInAttempts, type SignInAttempts } from "./sign-in-attempts.ts";

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

/** Sign-outs kept in this process only: for tests and tools without a store. */
export function memoryEndedSessions(now: () => number = Date.now): EndedSessions {
  const ended = new Map<string, number>();
  return {
    has: async (sid) => (ended.get(sid) ?? 0) > now(),
    add: async (sid, until) => void ended.set(sid, until),
    close: async () => {},
  };
}

export class Sessions {
  constructor(
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
    private readonly ended: EndedSessions = memoryEndedSessions(now),
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
    if (typeof session.expiresAt !== "number" || this.expired(session) || typeof session.sid !== "string") return null;
    if (await this.ended.has(session.sid)) return null;
    return session;
  }

  /**
   * Whether a session read earlier still holds: not expired, not signed out (on any instance). For
   * what outlives its request — a page's event stream — which must end with its session. Throws
   * when the record of sign-outs cannot be read.
   */
  async holds(session: Session): Promise<boolean> {
    return !this.expired(session) && !(await this.ended.has(session.sid));
  }

  expired(session: Session): boolean {
    return session.expiresAt <= this.now();
  }

  /** Signs the session out for good: resolves once that is recorded where every instance looks. */
  async end(session: Session): Promise<void> {
    await this.ended.add(session.sid, session.expiresAt);
    for (const listener of this.#endListeners) listener(session.sid);
  }

  // This process's own sign-outs, told at once (another instance's are found by holds()).
  #endListeners = new Set<(sid: string) => void>();

  /** Calls `listener` with the session id of each sign-out made by this process; answers the way to stop. */
  onEnd(listener: (sid: string) => void): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }
}

/**
 * The sign-in limit (see sign-in-attempts.ts: 5 failures per user name, 20 per address, within 15
 * minutes — counted in PostgreSQL across instances when the flows are there) and the number of
 * password checks running at once in this process (each holds scrypt's memory).
 */
export class SignInLimiter {
  #checking = 0;
  constructor(
    private readonly attempts: SignInAttempts = new MemorySignInAttempts(),
    private readonly concurrentChecks = 2,
  ) {}

  /** See SignInAttempts.attempt: 0 and counted, or the seconds to wait. */
  attempt(user: string, address: string): Promise<number> {
    return this.attempts.attempt(user, address);
  }

  /** Takes back an attempt that was never checked (the server was busy). */
  withdraw(user: string, address: string): Promise<void> {
    return this.attempts.withdraw(user, address);
  }

  /** The attempt was right: the user's count starts over, and this attempt no longer counts against the address. */
  succeeded(user: string, address?: string): Promise<void> {
    return this.attempts.succeeded(user, address);
  }

  /** A slot for one password check (scrypt holds tens of MiB while it runs), or null when all are taken. */
  enter(): (() => void) | null {
    if (this.#checking >= this.concurrentChecks) return null;
    this.#checking++;
    let released = false;
    return () => {
      if (!released) (released = true), this.#checking--;
    };
  }
}
