// No acknowledged change lost: every change the server acknowledged (201 for a create, 200 for an
// event, the login link's redirect for LOGIN_OPENED, the "Success" page for CALLBACK) must be in the
// flow's audit trail — when looked at after a restart, and at the end. An audit entry once seen must
// stay (while it is within the newest 100 the API returns).
import type { SoakContext } from "./context.ts";
import { iso } from "./util.ts";

export interface AuditEntry {
  at: string;
  from: string | null;
  to: string;
  event: string;
  user: string | null;
}

interface Ack {
  event: string;
  user: string | null;
  sentAt: number;
  ackAt: number;
  /** The epoch (restarts so far) when it was acknowledged. */
  epoch: number;
  matched: string | null;
}

/** How far the server's timestamp may sit outside [sent, acknowledged] (same machine, same clock). */
const SLACK_MS = 1000;
/** The audit API returns the newest this many entries. */
export const AUDIT_PAGE = 100;

const keyOf = (e: AuditEntry) => `${e.at}|${e.event}|${e.user ?? ""}|${e.from ?? ""}|${e.to}`;

export class FlowLedger {
  readonly acks: Ack[] = [];
  readonly seen = new Map<string, AuditEntry>();
  #claimed = new Set<string>();

  constructor(
    readonly soak: SoakContext,
    readonly flowId: string,
  ) {}

  ack(event: string, user: string | null, sentAt: number, ackAt = Date.now()): void {
    this.acks.push({ event, user, sentAt, ackAt, epoch: this.soak.epoch, matched: null });
    this.soak.tally.acks++;
  }

  /** Refreshes per audit event (renewals) seen so far. */
  count(event: string): number {
    let n = 0;
    for (const e of this.seen.values()) if (e.event === event) n++;
    return n;
  }

  /**
   * Checks a fresh read of the audit trail. `final`: nothing may be missing any more; otherwise an
   * acknowledgement is only required once a restart has happened since (an audit line whose append
   * failed on a full disk is kept in memory for the next write — lost only if the process dies).
   */
  check(transitions: AuditEntry[], final: boolean, phase: string): void {
    const full = transitions.length >= AUDIT_PAGE;
    const oldest = transitions[0]?.at ?? "";
    const now = new Set(transitions.map(keyOf));
    for (const [key, entry] of this.seen) {
      if (full && entry.at <= oldest) continue; // scrolled out of the page
      if (!now.has(key)) {
        this.soak.violation("audit entry lost", `flow ${this.flowId}: ${entry.event}${entry.user ? ` by ${entry.user}` : ""} at ${entry.at} (${entry.from} → ${entry.to}) was in the audit trail and is gone (${phase})`);
        this.seen.delete(key);
      }
    }
    for (const entry of transitions) this.seen.set(keyOf(entry), entry);
    for (const ack of this.acks) {
      if (ack.matched) continue;
      const match = [...this.seen.entries()].find(
        ([key, e]) =>
          !this.#claimed.has(key) &&
          e.event === ack.event &&
          (e.user ?? null) === ack.user &&
          Date.parse(e.at) >= ack.sentAt - SLACK_MS &&
          Date.parse(e.at) <= ack.ackAt + SLACK_MS,
      );
      if (match) {
        ack.matched = match[0];
        this.#claimed.add(match[0]);
        continue;
      }
      if (full && iso(ack.sentAt) < oldest) {
        ack.matched = "unverifiable";
        this.soak.tally.unverifiableAcks++;
        continue;
      }
      if (final || this.soak.epoch > ack.epoch) {
        ack.matched = "lost";
        this.soak.violation(
          "acknowledged change lost",
          `flow ${this.flowId}: ${ack.event}${ack.user ? ` by ${ack.user}` : ""} acknowledged at ${iso(ack.ackAt)} (sent ${iso(ack.sentAt)}) is not in the audit trail (${phase}; ${transitions.length} entries, ${this.soak.epoch - ack.epoch} restart(s) since)`,
        );
      }
    }
  }
}
