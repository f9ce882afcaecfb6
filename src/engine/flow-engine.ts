// The generic flow host (DESIGN §3). It knows nothing of ID-porten. The store is the truth; actors
// are a cache: a flow is hydrated from the store when an event, a token call or a due deadline needs
// it, and dropped again when it is idle. Guarantees:
// - every accepted transition is written before `send` resolves (an acknowledged change is never lost);
// - events to one flow are serialized in this process, and across processes by compare-and-swap
//   on the flow's revision: a write that lost the race is refused, the flow reloaded, and the event
//   applied again to what the store holds — never applied on top of a stale state;
// - a provider's answer is never thrown away: a write that fails (full disk, I/O error) is held and
//   retried with backoff until it lands — the actor is never rolled back to a state that would re-run
//   a call whose one-time credential is spent — and an answer whose write lost a race is kept and
//   handed to the reloaded flow instead of calling again. Callers get 503 meanwhile;
// - an outbound call leaves only once the state that starts it is written (`runCall`), so whoever
//   finds the flow after a crash knows a call may have happened; with a shared store the call is
//   leased to one instance, and another that hydrates the flow meanwhile waits for its answer;
// - deadlines live in the store's due-time index (`nextDeadlineAt`): a tick claims the flows due
//   soon (once across instances) and hydrates them; their actors' own timers then fire;
// - snapshots are sealed at rest with their flow id and machine as additional data, the public
//   summary is derived from the snapshot, and a flow that cannot be opened is set aside as damaged;
// - every transition goes to the audit trail.
import { createActor, type AnyActorRef, type AnyMachineSnapshot, type InspectionEvent } from "xstate";
import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import { AuthflowError, notFound } from "../errors.ts";
import { storeUnreachable } from "../store/store-unreachable.ts";
import { StaleWriteError, type AuditEntry, type FlowChange, type FlowRecord, type FlowRow, type FlowStore, type ListPage, type ListQuery } from "../store/flow-store.ts";
import type { MachineRegistry, RegisteredMachine } from "./machine-registry.ts";
import { OutboundGate } from "./outbound-gate.ts";
import { RepeatedFailure } from "./repeated-failure.ts";

export interface EngineEvent {
  type: string;
  [key: string]: unknown;
}

export interface TransitionNotice {
  flowId: string;
  record: FlowRow;
  audit: AuditEntry[];
  /** Written by another process sharing the store (its audit entries are not in `audit`). */
  remote?: boolean;
  /**
   * The flow is gone from the store (deleted, with its audit trail; or set aside by another
   * instance). `record` is its last row as this instance knew it — for another instance's deletion
   * of a flow not held here, only its id (summary empty: its legal entity is not known).
   */
  deleted?: boolean;
}

export interface FlowEngineOptions {
  store: FlowStore;
  box: SecretBox;
  clock: Clock;
  registry: MachineRegistry;
  log?: (line: string) => void;
  /** Inspection hook for each live actor (the Stately inspector); receives raw events. */
  inspect?: (event: InspectionEvent) => void;
  /** Other processes write to the same store (PostgreSQL): calls are leased, caches follow notifications. */
  shared?: boolean;
  /** This process, in leases and claims. */
  instanceId?: string;
  /** How long `send` waits for a held (failing) write before it answers 503; default 2 s. */
  heldWriteWaitMs?: number;
  /** Backoff of a failing write: first and largest pause; default 100 ms and 5 s. */
  writeRetryMs?: { first: number; max: number };
  /** Flows whose deadline falls within this much are hydrated ahead of it; default 60 s. */
  horizonMs?: number;
  /** An idle flow (no call in flight, nothing due soon) is dropped from memory after this; default 30 s. */
  idleMs?: number;
  /** How long an outbound call is leased to the instance that makes it (wall clock); default 30 s. */
  leaseMs?: number;
  /**
   * The longest an outbound call may take (its requests' timeouts and the reads before them); a
   * call leaves only with at least this much of its lease left, so no other instance can take the
   * lease over while it runs. Default two thirds of `leaseMs`.
   */
  callMs?: number;
  /** How long an answer no call took is held before it is let go (HELD_ANSWER_MS; tests shorten it). */
  heldAnswerMs?: number;
  /** How long a due flow claimed by a tick is kept from other instances (wall clock); default 5 s. */
  claimMs?: number;
  /**
   * How long an instance that may hold a call's answer is given to write it before another takes
   * its ended lease over (#mayTakeOver): its next heartbeat, a write retry's pause and a store call
   * that waits for its answer. Default claimMs + the write retry's largest pause.
   */
  takeOverGraceMs?: number;
  /** Outbound calls this process has out at once; the others wait for a place (outbound-gate.ts). Default 16. */
  outboundConcurrency?: number;
  /** Calls a person waits for whatever else (a code exchange): they take the next place first, like a call of a flow someone awaits. */
  urgentCall?: (callId: string) => boolean;
}

interface LiveFlow {
  id: string;
  def: RegisteredMachine;
  actor: AnyActorRef;
  record: FlowRecord;
  /** Serializes events to this flow. */
  lock: Promise<unknown>;
  /** Serializes writes of this flow; resolves when every write queued so far has landed. */
  writes: Promise<void>;
  /** Transitions seen but not yet written. */
  pendingAudit: AuditEntry[];
  /** The root snapshot the last transition left: its state is the next entry's `from`, and routine upkeep is told by comparing with it. */
  lastSnapshot: AnyMachineSnapshot;
  /** Set while the newest change is held in memory because the store refused it; cleared when it lands. */
  heldError: unknown;
  /** Writes queued and not finished: lets the hot path skip waiting when there are none. */
  writing: number;
  /** Last time anything used it (wall clock), for dropping idle flows. */
  usedAt: number;
}

/** An answer of an outbound call not yet written with its outcome: handed to a reloaded flow instead of calling again. */
interface HeldAnswer {
  seq: number;
  ok: boolean;
  value: unknown;
  /** When it arrived (wall clock): one no call of the flow took is let go after HELD_ANSWER_MS. */
  at: number;
}

/**
 * An answer is held until the write of its outcome lands — within moments, also when a reloaded copy
 * of the flow took it. One still here after this, with no write of its flow pending, belongs to a
 * call the flow as it now is does not make (another instance's change came first): it is let go
 * with a line in the log, else it would pin its flow in memory for good.
 */
const HELD_ANSWER_MS = 60_000;

/** How long a flow deleted here is remembered (longer than any read made before its delete can take). */
const DELETED_KEPT_MS = 5 * 60_000;

type Listener = (notice: TransitionNotice) => void;

/** "xstate.done.actor.exchangeCode" → "done: exchangeCode": the audit trail is read by people. */
export function auditEventName(type: string): string {
  const match = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  return match ? `${match[1]}: ${match[2]}` : type;
}

/** What a sealed snapshot is bound to: its flow and machine. */
export const sealBinding = (record: Pick<FlowRecord, "id" | "machine" | "version">) => `authflow/flow/${record.id}/${record.machine}@${record.version}`;

/**
 * A store's failure in words for an API client: a file's error (lowdb's) by its code alone, since its
 * message names the server's paths (the log line has them); the database's as it is.
 */
function storeRefusal(error: unknown): string {
  const unreachable = storeUnreachable(error);
  if (unreachable) return unreachable;
  const { code, path } = error as { code?: unknown; path?: unknown };
  if (typeof path === "string") return `the store's files refused the change${typeof code === "string" ? ` (${code})` : ""}; the server's log names the file`;
  return (error as Error).message;
}

/** How many rounds of the outbound gate's places a tick lets wait before it claims no more due flows. */
const BACKLOG_ROUNDS = 16;

/** Due flows a tick reads at once: enough to hide the store's latency, few enough for any pool or ulimit. */
const TICK_READS = 16;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A write lost a compare-and-swap race: the flow was reloaded; the caller applies its event again. */
class LostRace extends Error {}

/** A call lease's `until` when its owner let go of it at a stop, its call never made: free to take at once. */
const LET_GO = 0;

export class FlowEngine {
  #opts: FlowEngineOptions;
  #me: string;
  #flows = new Map<string, LiveFlow>();
  #loading = new Map<string, Promise<LiveFlow>>();
  /** Each live actor's system → its flow: lets an invoked actor reach its flow. */
  #bySystem = new WeakMap<object, LiveFlow>();
  #held = new Map<string, Map<string, HeldAnswer>>();
  /**
   * Calls under way, per flow and call: a copy of the flow reloaded while its call is out (another
   * instance wrote the flow meanwhile) waits for that call's answer instead of making it again — a
   * one-time refresh token is spent once (a review saw the same one sent twice).
   */
  #inFlight = new Map<string, Map<string, Promise<HeldAnswer>>>();
  /**
   * Flows deleted here lately, by when: a read made before the delete (a tick's, a reload's) must not
   * bring one back to life in memory (lowdb has no stored revision to check a cached copy against).
   */
  #deletedHere = new Map<string, number>();
  /**
   * Since when this instance's ticks have reached the store without a break (undefined while they
   * fail): an ended lease whose owner's heartbeat has ended too is taken over only after this long
   * a look (#mayTakeOver).
   */
  #reachableSince: number | undefined = Date.now();
  #seq = 0;
  #listeners = new Set<Listener>();
  /** Listeners that want other instances' changes: each such change costs a read of the flow's row. */
  #remoteListeners = new Set<Listener>();
  #stopped = false;
  /** Set when stop() begins: no call leaves from then on (one out is waited for, and its outcome written). */
  #stopping = false;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #ticking: Promise<number> | undefined;
  #gate: OutboundGate;
  /** How many callers wait (waitFor) for each flow: its calls go before the backlog of upkeep. */
  #awaited = new Map<string, number>();

  constructor(options: FlowEngineOptions) {
    this.#opts = options;
    this.#me = options.instanceId ?? crypto.randomUUID();
    this.#gate = new OutboundGate(options.outboundConcurrency ?? 16);
  }

  /** Outbound calls out now and waiting for a place. */
  get outbound(): { out: number; waiting: number } {
    return { out: this.#gate.out, waiting: this.#gate.waiting };
  }

  get instanceId(): string {
    return this.#me;
  }

  /** Number of flows held in memory now (the rest are in the store only). */
  get resident(): number {
    return this.#flows.size;
  }

  /**
   * Starts the engine's background work: hydrating what is due (the first tick at once: a flow
   * caught mid-call by a crash resumes now), dropping what is idle, and following other instances'
   * changes. The first tick is not waited for: after a stop of some minutes it finds hundreds of
   * renewals due, and a service that listened only once it had hydrated them (and written their
   * first steps) answered neither requests nor health checks for 7–12 s (review, 2,000 flows).
   */
  async start(tickMs = 1000): Promise<void> {
    if (this.#opts.shared) {
      this.#unsubscribe = await this.#opts.store.subscribe((change) => void this.#remoteChange(change));
    }
    const failures = new RepeatedFailure("deadline tick", `every ${tickMs / 1000} s`, (line) => this.#log(line));
    const tick = () => void this.tick().then(() => failures.succeeded(), (e) => failures.failed(e));
    tick();
    this.#ticker = setInterval(tick, tickMs);
    (this.#ticker as { unref?: () => void }).unref?.();
  }

  /** Hydrates the flows due within the horizon (claimed for this instance) and drops idle ones. */
  tick(): Promise<number> {
    this.#ticking ??= (async () => {
      try {
        const horizon = this.#opts.horizonMs ?? 60_000;
        // Each tick keeps this instance's claims alive for claimMs (a short time: the others take its
        // flows over soon after it dies); only flows of machines this process runs are claimed.
        // New claims only as far as the calls waiting here for a place (outbound-gate.ts) leave room
        // for BACKLOG_ROUNDS rounds of places: a backlog held here is work other instances could
        // take, and a token call that lands on another instance waits for its flow's call in this
        // queue (review). The flows this instance holds come back whatever the backlog: no other
        // instance may take them (a first version limited those too).
        const fresh = Math.min(500, Math.max(0, BACKLOG_ROUNDS * this.#gate.limit - this.#gate.waiting));
        const due = await this.#opts.store.claimDue(this.#opts.clock.now() + horizon, this.#me, Date.now() + (this.#opts.claimMs ?? 5_000), 500, Date.now(), this.#opts.registry.runs(), fresh).then(
          (rows) => ((this.#reachableSince ??= Date.now()), rows),
          (error: unknown) => {
            this.#reachableSince = undefined;
            throw error;
          },
        );
        // The index names each due flow with its revision: one held here at that revision (most of
        // them, tick after tick) costs nothing more; only the others are read whole and hydrated.
        const absent: string[] = [];
        for (const row of due) {
          const live = this.#flows.get(row.id);
          if (!live) absent.push(row.id);
          // Held, but another instance wrote it since (a notification missed): the load's revision check reloads it.
          else if (row.revision > live.record.revision) await this.#load(row.id).catch(() => undefined);
        }
        let hydrated = 0;
        for (let i = 0; i < absent.length; i += TICK_READS) {
          const records = await Promise.all(absent.slice(i, i + TICK_READS).map((id) => this.#opts.store.get(id).catch(() => undefined)));
          for (const record of records) {
            if (!record || this.#flows.has(record.id) || this.#stopped) continue;
            await this.#hydrate(record).then(() => hydrated++, () => undefined);
          }
        }
        this.#dropIdle();
        return hydrated;
      } finally {
        this.#ticking = undefined;
      }
    })();
    return this.#ticking;
  }

  /** A new flow; `by` names who created it in the audit trail (the acting user and the API client). */
  async create(machine: string, input: Record<string, unknown>, by: { user?: string | null; client?: string | null } = {}): Promise<FlowRow> {
    return publicRow(await this.#create(machine, input, by));
  }

  async #create(machine: string, input: Record<string, unknown>, by: { user?: string | null; client?: string | null } = {}): Promise<FlowRecord> {
    const def = this.#opts.registry.latest(machine);
    const id = crypto.randomUUID();
    const now = this.#iso();
    const placeholder: FlowRecord = {
      id,
      machine: def.name,
      version: def.version,
      revision: 0,
      createdAt: now,
      updatedAt: now,
      summary: {},
      sealedSnapshot: "",
      nextDeadlineAt: null,
      attentionFrom: null,
      lease: null,
    };
    const live = this.#start(placeholder, def, undefined, { ...input, createdAt: this.#opts.clock.now() });
    // The first write creates the document; if it fails the flow never existed.
    live.pendingAudit.push({ flowId: id, at: now, from: null, to: live.def.stateName(live.lastSnapshot), event: "create", user: by.user ?? null, ...(by.client ? { client: by.client } : {}) });
    try {
      await this.#writeOnce(live, true);
    } catch (error) {
      this.#retire(live);
      throw new AuthflowError("persist_failed", 503, `The flow could not be written to the store (${storeRefusal(error)}); it was not created. Try again.`, {
        cause: error,
      });
    }
    return live.record;
  }

  /**
   * The flow's public row, its summary derived from the sealed snapshot (hydrated if needed), never
   * trusted from what the store keeps beside it. Lists read the stored summaries (they cannot open
   * every flow); whoever gets a token or drives a flow goes through here.
   */
  async get(id: string): Promise<FlowRow> {
    return publicRow((await this.#load(id)).record);
  }

  /**
   * Filtered and paginated in the store. A row whose summary does not carry a valid MAC (a file
   * edited or copied from another flow) is left out and named in the log; opening it sets it aside.
   */
  async list(query: ListQuery): Promise<ListPage> {
    const page = await this.#opts.store.list(query);
    const items: FlowRow[] = [];
    for (const row of page.items) {
      if (await this.#summaryIsGenuine(row)) items.push(publicRow(row));
      else this.#log(`flow ${row.id}: its stored summary does not match its seal (edited or copied from another flow); not listed`);
    }
    return { items, next: page.next };
  }

  count(): Promise<number> {
    return this.#opts.store.count();
  }

  /** The flow's current snapshot, secrets included (hydrated if needed): for the domain layer only, never for an API answer. */
  async current(id: string): Promise<AnyMachineSnapshot> {
    return (await this.#load(id)).actor.getSnapshot() as AnyMachineSnapshot;
  }

  /** 404 for an unknown flow, 410 (in words, naming where its file went) for a damaged one. */
  async exists(id: string): Promise<void> {
    await this.#load(id);
  }

  /**
   * Sends an event, stamped with the clock's time, after the ones before it. Resolves once the
   * transition is written. A refused event throws the machine's own explanation (409/403/422).
   * A write that loses a race with another instance is applied again to the reloaded flow.
   * `stillWanted`, when given, is asked before each application (the first, and again after a lost
   * race, on the reloaded flow): an event decided on what the flow looked like — renew, because the
   * token was about to expire — is not applied once the flow no longer needs it (another instance
   * renewed meanwhile). Then nothing is sent, and the flow is answered as it is.
   */
  async send(id: string, event: EngineEvent, options: { stillWanted?: (snapshot: AnyMachineSnapshot) => boolean } = {}): Promise<FlowRow> {
    return this.#onCurrentCopy(id, async (live) => {
      const stamped = { ...event, at: this.#opts.clock.now() };
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status !== "active") throw new AuthflowError("conflict", 409, `Flow "${id}" is no longer running.`);
      if (options.stillWanted && !options.stillWanted(snapshot)) return publicRow(live.record);
      if (!snapshot.can(stamped)) throw live.def.refusal(snapshot, stamped);
      live.actor.send(stamped);
      await this.#landed(live, this.#opts.heldWriteWaitMs ?? 2000, { applied: true });
      return publicRow(live.record);
    });
  }

  /**
   * Runs `work` on the flow's live copy, after the changes queued before it and once every change of
   * it is written (no new change is accepted on top of one the store has not taken). A write that
   * lost a race with another instance (LostRace: the flow was reloaded) runs it again on the reloaded
   * copy — five times, then 409.
   */
  async #onCurrentCopy<T>(id: string, work: (live: LiveFlow) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.#load(id);
      try {
        return await this.#serialized(live, async () => {
          await this.#landed(live, this.#opts.heldWriteWaitMs ?? 2000);
          if (this.#flows.get(id) !== live) throw new LostRace();
          return work(live);
        });
      } catch (error) {
        if (!(error instanceof LostRace) || attempt >= 5) {
          if (error instanceof LostRace) throw new AuthflowError("conflict", 409, `Flow "${id}" is being changed elsewhere at the same time; try again.`);
          throw error;
        }
      }
    }
  }

  /**
   * Deletes the flow and its audit trail — once every change of it is written, and only if its
   * machine allows it as it is now (`deletable`: nothing live at a provider is lost track of), with
   * no call under way. A change another instance made first is seen (the flow is reloaded and asked
   * again); a flow written elsewhere meanwhile is never deleted over it (compare-and-swap).
   */
  async delete(id: string, by: { user?: string | null; client?: string | null } = {}): Promise<void> {
    await this.#onCurrentCopy(id, async (live) => {
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (live.def.busy?.(snapshot)) throw new AuthflowError("flow_in_use", 409, `A call to ID-porten or Altinn for flow "${id}" is under way; try again in a moment.`, { extra: { retryAfterSeconds: 2 } });
      const refusal = live.def.deletable?.(snapshot) ?? null;
      if (refusal) throw refusal;
      try {
        await this.#opts.store.delete(id, live.record.revision);
      } catch (error) {
        if (error instanceof StaleWriteError) {
          await this.#reloadAfterLostRace(live, error);
          throw new LostRace();
        }
        this.#log(`flow ${id}: could not be deleted (${(error as Error).message}); it is as it was`);
        throw new AuthflowError("persist_failed", 503, `The flow could not be deleted (${storeRefusal(error)}); it is as it was. Try again.`, { cause: error, extra: { retryAfterSeconds: 2 } });
      }
      const row = publicRow(live.record);
      this.#deletedHere.set(id, Date.now());
      this.#retire(live);
      this.#held.delete(id);
      const who = [by.user ? `user ${by.user}` : null, by.client ? `client ${by.client}` : null].filter(Boolean).join(", ");
      this.#log(`flow ${id}: deleted with its audit trail${who ? ` (by ${who})` : ""}`);
      for (const listener of this.#listeners) listener({ flowId: id, record: row, audit: [], deleted: true });
    });
  }

  /** Waits (up to `timeoutMs`) until `predicate` holds for the flow's snapshot and that state is written. */
  async waitFor(id: string, predicate: (snapshot: AnyMachineSnapshot) => boolean, timeoutMs: number): Promise<AnyMachineSnapshot> {
    this.#awaited.set(id, (this.#awaited.get(id) ?? 0) + 1);
    try {
      return await this.#waitFor(id, predicate, timeoutMs);
    } finally {
      const left = this.#awaited.get(id)! - 1;
      if (left === 0) this.#awaited.delete(id);
      else this.#awaited.set(id, left);
    }
  }

  async #waitFor(id: string, predicate: (snapshot: AnyMachineSnapshot) => boolean, timeoutMs: number): Promise<AnyMachineSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = await this.#load(id);
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (predicate(snapshot)) {
        try {
          await this.#landed(live, Math.max(deadline - Date.now(), 0));
        } catch (error) {
          if (!(error instanceof LostRace)) throw error;
        }
        if (this.#flows.get(id) === live) return live.actor.getSnapshot() as AnyMachineSnapshot;
        continue; // reloaded meanwhile (a write lost a race with another instance): look again
      }
      const left = deadline - Date.now();
      // Not settled because a change of it is held (the store did not take it): that is the reason to give.
      if (left <= 0 && live.heldError !== undefined && !(live.heldError instanceof LostRace)) throw this.#notWritten(live, false);
      if (left <= 0) throw new AuthflowError("upstream_unavailable", 503, `Flow "${id}" did not settle within ${Math.round(timeoutMs / 1000)} s.`, { extra: { retryAfterSeconds: 2 } });
      // Woken by this actor's next snapshot, by the flow being reloaded (another instance), or after a while.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          sub.unsubscribe();
          off();
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 250));
        const sub = live.actor.subscribe(() => queueMicrotask(done));
        const off = this.onTransition((n) => n.flowId === id && done());
      });
    }
  }

  /** Resolves when everything the flow did so far is written; 503 after `timeoutMs` while a write is held. */
  async written(id: string, timeoutMs: number): Promise<void> {
    const live = this.#flows.get(id);
    try {
      if (live) await this.#landed(live, timeoutMs);
    } catch (error) {
      // Reloaded after losing a race with another instance: what the store holds is written.
      if (!(error instanceof LostRace)) throw error;
    }
  }

  /**
   * How an invoked actor makes its outbound call (`callId` names it, `input` is what it sends):
   * - only once the state that starts it is written (a held write is retried until it lands);
   * - an answer this flow already got for the same call, whose write lost a race, is returned
   *   instead of calling again (a one-time credential is spent once);
   * - with a shared store, not while another instance holds the flow's call lease: this actor then
   *   waits until that instance's answer arrives (the flow is reloaded and this actor retired) or
   *   its lease runs out (it died: this instance takes the lease over and calls).
   * `system` is the invoked actor's `system`, shared with its flow's root actor.
   */
  async runCall<T>(system: unknown, callId: string, input: unknown, call: () => Promise<T>): Promise<T> {
    await null; // the transition that started this call queues its write synchronously after the actor starts
    const live = this.#bySystem.get(system as object);
    if (!live) return call(); // not one of ours (tests that run the machine alone)
    const stillOurs = () => {
      if (this.#flows.get(live.id) !== live || this.#stopped) throw new Error("the flow was reloaded or stopped before the call left; it was not made");
    };
    for (;;) {
      const pending = live.writes;
      await pending;
      stillOurs();
      if (live.writes === pending && live.pendingAudit.length === 0) break;
    }
    const key = `${callId}:${JSON.stringify(input)}`;
    // A held answer stays held when a copy takes it: only the landed write of its outcome lets it go
    // (#writeOnce), so a copy whose write loses a race hands it on to the next (a review saw the
    // token sent again when the taker deleted it). A call retried on purpose (its answer was lost)
    // finds it gone: the retry's own transition is written before its call leaves.
    const held = this.#held.get(live.id)?.get(key);
    if (held) {
      if (held.ok) return held.value as T;
      throw held.value;
    }
    // The same call still out for a copy of this flow that was reloaded: its answer, not a second
    // call. A waiting copy retired meanwhile leaves the answer to the next one.
    const flying = this.#inFlight.get(live.id)?.get(key);
    if (flying) {
      const answer = await flying;
      stillOurs();
      if (answer.ok) return answer.value as T;
      throw answer.value;
    }
    // Another instance's lease is waited out before a place is taken (no place is held meanwhile);
    // after the wait for a place, the lease is looked at again: a long wait leaves it short, and it
    // is then taken again before the call leaves.
    if (this.#opts.shared) await this.#takeLease(live, stillOurs);
    const leave = await this.#gate.enter(() => (this.#awaited.get(live.id) ?? 0) > 0 || (this.#opts.urgentCall?.(callId) ?? false));
    try {
      stillOurs();
      if (this.#opts.shared) await this.#takeLease(live, stillOurs);
    } catch (error) {
      leave();
      throw error;
    }
    // Stopping: the call does not leave, and does not fail either (a failure would be written as the
    // provider's). Its flow stays written in the state that starts it, which the next start resumes.
    // Before, calls kept leaving from the gate after SIGTERM, and their answers were dropped with the
    // actors: each a rotated refresh token lost, the authorization ended at the next start (review).
    if (this.#stopping) {
      leave();
      return new Promise<never>(() => {});
    }
    const flight = (async (): Promise<HeldAnswer> => {
      let answer: HeldAnswer;
      // The sequence number is taken when the answer is here, not when the call left: a write whose
      // snapshot was taken during the call must not count as having written this answer.
      try {
        const value = await call();
        answer = { seq: ++this.#seq, ok: true, value, at: Date.now() };
      } catch (error) {
        answer = { seq: ++this.#seq, ok: false, value: error, at: Date.now() };
      }
      leave();
      // Kept until a write of its outcome lands: if that write loses a race, the reloaded flow gets it.
      let answers = this.#held.get(live.id);
      if (!answers) this.#held.set(live.id, (answers = new Map()));
      answers.set(key, answer);
      return answer;
    })();
    let flights = this.#inFlight.get(live.id);
    if (!flights) this.#inFlight.set(live.id, (flights = new Map()));
    flights.set(key, flight);
    const answer = await flight;
    if (flights.get(key) === flight) flights.delete(key);
    if (flights.size === 0 && this.#inFlight.get(live.id) === flights) this.#inFlight.delete(live.id);
    // Taken by a reloaded copy that waited for it: this (retired) actor's outcome goes nowhere.
    if (answer.ok) return answer.value as T;
    throw answer.value;
  }

  async audit(id: string, limit = 50): Promise<AuditEntry[]> {
    await this.get(id);
    return this.#opts.store.readAudit(id, limit);
  }

  /** Every write queued so far has finished. */
  async settled(): Promise<void> {
    // Writes can queue more writes (a timer fires while one is written): loop until quiet.
    for (let round = 0; round < 100; round++) {
      const pending = [...this.#flows.values()].map((f) => f.writes);
      await Promise.all(pending);
      await sleep(0);
      if ([...this.#flows.values()].every((f, i) => f.writes === pending[i] && f.pendingAudit.length === 0)) return;
    }
  }

  /**
   * Calls `listener` after each written change. With a shared store, a change another instance made
   * is delivered too (`remote`; its row is read for it) unless `remote: false` — a listener that only
   * cares for this instance's transitions (the console log) must not make every instance read
   * every row any instance writes.
   */
  onTransition(listener: Listener, options: { remote?: boolean } = {}): () => void {
    this.#listeners.add(listener);
    if (options.remote !== false) this.#remoteListeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      this.#remoteListeners.delete(listener);
    };
  }

  /**
   * Stops every actor once their writes have landed, or after `graceMs`: a change still held then
   * (the store keeps refusing) is named in the log, since it is lost with the process.
   */
  async stop(graceMs = 3000): Promise<void> {
    clearInterval(this.#ticker);
    this.#stopping = true;
    await this.#unsubscribe?.().catch(() => undefined);
    await this.#ticking?.catch(() => undefined);
    const deadline = sleep(graceMs).then(() => "late" as const);
    // The calls out are waited for, and the writes of their outcomes: a refresh's answer holds the
    // only refresh token that still works. Their outcomes may start other calls; those do not leave.
    const quiet = async () => {
      for (let round = 0; round < 100; round++) {
        await Promise.all([...this.#inFlight.values()].flatMap((flights) => [...flights.values()]));
        await this.settled();
        if (this.#inFlight.size === 0) return;
      }
    };
    await Promise.race([quiet(), deadline]);
    if (this.#opts.shared) {
      await Promise.race([this.#letGoOfUnmadeCalls(), deadline]);
      // Its claims too: another instance's next tick takes its due flows, not once its heartbeat ran out.
      await Promise.race([this.#opts.store.retire?.(this.#me, Date.now()).catch((error) => this.#log(`stopping: claims not let go (${(error as Error).message}); other instances take them once this one's heartbeat has run out`)), deadline]);
    }
    this.#stopped = true;
    // Every actor, also one hydrated during the grace: none may leave a timer armed.
    const flows = [...this.#flows.values()];
    this.#flows.clear();
    for (const live of flows) {
      const out = [...(this.#inFlight.get(live.id)?.keys() ?? [])].map((key) => key.slice(0, key.indexOf(":")));
      if (out.length > 0) this.#log(`flow ${live.id}: stopping with its call ${out.join(", ")} still out after ${graceMs / 1000} s; its answer is lost with the process`);
      if (live.heldError !== undefined || live.pendingAudit.length > 0) {
        this.#log(`flow ${live.id}: stopping with a change the store did not take (${(live.heldError as Error)?.message ?? "write in progress"}); it is lost`);
      }
      live.actor.stop();
    }
  }

  /**
   * With a shared store, a flow whose call never left (it waited for a place, or never reached the
   * gate) holds this instance's call lease in the store, written with the state that starts the call:
   * another instance, or this one started again, would wait the lease out (45 s with the default
   * timeouts) as if this instance had died mid-call — and a refresh token with less life left than
   * that ended its authorization (review). Its lease is ended now, and the flow made due at once: a
   * compare-and-swap write, like a takeover, queued behind the flow's own writes.
   */
  async #letGoOfUnmadeCalls(): Promise<void> {
    const unmade = [...this.#flows.values()].filter((live) => {
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      return live.record.lease?.owner === this.#me && (live.def.busy?.(snapshot) ?? false) && !this.#inFlight.has(live.id) && !this.#held.has(live.id);
    });
    if (unmade.length === 0) return;
    let letGo = 0;
    await Promise.all(
      unmade.map((live) => {
        const release = async () => {
          // `until` 0 says "let go of by its owner": taken over at once (#takeLease), where a lease
          // that merely ended is first given the grace an owner that may still answer is owed.
          const next = { ...live.record, revision: live.record.revision + 1, lease: { owner: this.#me, until: LET_GO }, nextDeadlineAt: this.#opts.clock.now() };
          await this.#opts.store.save(await this.#storable(live, next), live.record.revision);
          live.record = next;
          letGo++;
        };
        // A flow another instance moved meanwhile is theirs to go on with; a store out of reach leaves the lease to run out.
        const done = live.writes.then(release).catch(() => undefined);
        live.writes = done;
        return done;
      }),
    );
    this.#log(`stopping: ${unmade.length} call(s) had not left; ${letGo} of their flows let go of this instance's call lease and are due again at once (for another instance, or the next start)`);
  }

  // --- internals

  /** The live flow, hydrated from the store when it is not in memory (one load at a time per flow). */
  async #load(id: string): Promise<LiveFlow> {
    const live = this.#flows.get(id);
    if (live) {
      live.usedAt = Date.now();
      // With a shared store, a cached copy is served only while it is current: another instance's
      // acknowledged change must be seen at once here (a notification can come late, or while
      // this flow was being loaded). One cheap read of the stored revision.
      if (!this.#opts.shared || live.pendingAudit.length > 0 || live.heldError !== undefined) return live;
      // A copy older than the store is never served, not even while its own call is out: the
      // reloaded copy's call waits for that one's answer (runCall, #inFlight), and answers held for
      // the flow are kept by flow id for it.
      const stored = await this.#opts.store.revisionOf(id);
      if (stored !== undefined && stored <= live.record.revision) return live;
      this.#retire(live);
      return this.#load(id);
    }
    let loading = this.#loading.get(id);
    if (!loading) {
      loading = (async () => {
        const record = await this.#opts.store.get(id);
        if (!record) {
          await this.#refuseDamaged(id);
          throw notFound(`No flow with id "${id}".`);
        }
        const again = this.#flows.get(id);
        if (again) return again;
        try {
          return await this.#hydrate(record);
        } catch (error) {
          if (error instanceof AuthflowError) throw error;
          await this.#setAside(id, `its snapshot could not be restored: ${(error as Error).message}`);
          await this.#refuseDamaged(id);
          throw error;
        }
      })().finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }

  async #hydrate(record: FlowRecord): Promise<LiveFlow> {
    if (this.#deletedHere.has(record.id)) throw notFound(`No flow with id "${record.id}".`);
    const def = this.#opts.registry.get(record.machine, record.version);
    const snapshot = JSON.parse(await this.#opts.box.open(record.sealedSnapshot, sealBinding(record)));
    if (this.#deletedHere.has(record.id)) throw notFound(`No flow with id "${record.id}".`); // deleted while it was opened
    const existing = this.#flows.get(record.id);
    if (existing) return existing;
    return this.#start(record, def, snapshot, undefined);
  }

  async #refuseDamaged(id: string): Promise<void> {
    const report = await this.#opts.store.damaged(id).catch(() => undefined);
    if (report) {
      throw new AuthflowError(
        "flow_damaged",
        410,
        `Flow "${id}" is damaged (${report.reason}) and was set aside: its file is at ${report.movedTo}. The other flows are unaffected. Restore the file from a backup, or create a new flow and authorize again.`,
        { extra: { movedTo: report.movedTo, damagedAt: report.at } },
      );
    }
  }

  async #setAside(id: string, reason: string): Promise<void> {
    try {
      await this.#opts.store.quarantine(id, reason); // the store names it in one log line
    } catch (error) {
      this.#log(`flow ${id}: damaged (${reason}) and could not be set aside (${(error as Error).message}); left as stored`);
    }
  }

  #start(stored: FlowRecord, def: RegisteredMachine, snapshot: unknown, input: unknown): LiveFlow {
    if (this.#stopped) throw new AuthflowError("upstream_unavailable", 503, "The service is stopping; try again in a moment.", { extra: { retryAfterSeconds: 2 } });
    const live = {
      id: stored.id,
      def,
      record: stored,
      lock: Promise.resolve(),
      writes: Promise.resolve(),
      pendingAudit: [],
      heldError: undefined,
      writing: 0,
      usedAt: Date.now(),
    } as unknown as LiveFlow;
    const actor = createActor(def.logic, {
      ...(snapshot ? { snapshot: snapshot as never } : { input: input as never }),
      inspect: (ev: InspectionEvent) => {
        this.#opts.inspect?.(ev);
        if (ev.type !== "@xstate.snapshot" || ev.actorRef.sessionId !== ev.rootId || live.actor === undefined) return;
        this.#observe(live, ev.snapshot as AnyMachineSnapshot, ev.event as EngineEvent);
      },
    });
    live.actor = actor;
    const first = actor.getSnapshot() as AnyMachineSnapshot;
    live.lastSnapshot = first;
    // The public summary comes from the snapshot itself, never from what the file says beside it.
    if (snapshot) live.record = { ...stored, summary: def.summarize(first) };
    this.#flows.set(stored.id, live);
    this.#bySystem.set(actor.system as object, live);
    actor.start();
    return live;
  }

  #retire(live: LiveFlow) {
    if (this.#flows.get(live.id) === live) this.#flows.delete(live.id);
    live.pendingAudit.length = 0;
    live.actor.stop();
  }

  /** Lets go of a flow's held answers older than the age limit (HELD_ANSWER_MS), each with a line naming only its call. */
  #ageOut(id: string, answers: Map<string, HeldAnswer>, now: number) {
    for (const [key, answer] of answers) {
      if (now - answer.at < (this.#opts.heldAnswerMs ?? Math.max(HELD_ANSWER_MS, this.#opts.leaseMs ?? 0))) continue;
      answers.delete(key);
      // The key holds the call's input (a refresh token): only the call's name goes to the log.
      this.#log(`flow ${id}: an answer to ${key.slice(0, key.indexOf(":"))} was not used — the flow moved on without it (another instance's change came first); let go`);
    }
    if (answers.size === 0 && this.#held.get(id) === answers) this.#held.delete(id);
  }

  /** Drops flows nobody needs in memory now: nothing in flight, nothing unwritten, nothing due soon; and answers no call took. */
  #dropIdle() {
    const now = Date.now();
    for (const [id, at] of this.#deletedHere) if (now - at > DELETED_KEPT_MS) this.#deletedHere.delete(id);
    for (const [id, answers] of this.#held) {
      const live = this.#flows.get(id);
      if (live && (live.pendingAudit.length > 0 || live.heldError !== undefined || live.writing > 0)) continue; // its outcome is still being written
      if (!live) {
        // Not in memory (its reload after a lost race failed, say): loaded now, so that its call, if
        // the flow still makes it, takes the answer; let go at once if the flow is gone or set aside,
        // past the age limit if it will not load — but not while the store cannot be read: the answer
        // may hold the only copy of a spent one-time token's successor (a review saw it let go
        // during an outage, and the token sent again).
        void this.#load(id).catch((error: unknown) => {
          if (!(error instanceof AuthflowError)) return; // the engine's refusals are AuthflowErrors; the store's failures are not
          if (error.status === 404 || error.status === 410) this.#held.delete(id);
          else this.#ageOut(id, answers, now);
        });
        continue;
      }
      this.#ageOut(id, answers, now);
    }
    const soon = this.#opts.clock.now() + (this.#opts.horizonMs ?? 60_000);
    for (const live of [...this.#flows.values()]) {
      if (now - live.usedAt < (this.#opts.idleMs ?? 30_000)) continue;
      if (live.pendingAudit.length > 0 || live.heldError !== undefined || this.#held.get(live.id)?.size) continue;
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (live.def.busy?.(snapshot)) continue;
      const next = live.def.nextDeadline?.(snapshot) ?? null;
      if (next !== null && next <= soon) continue;
      this.#retire(live);
    }
  }

  /** Another instance wrote this flow: a cached copy that is now stale and has nothing of its own in flight is dropped. */
  async #remoteChange({ id, revision, goneLegalEntity }: FlowChange) {
    const live = this.#flows.get(id);
    const cached = live ? publicRow(live.record) : undefined;
    if (live && revision > live.record.revision && live.pendingAudit.length === 0 && live.heldError === undefined) {
      this.#retire(live);
      // A call of ours still out: the newest copy is loaded now, and its call takes that answer
      // (runCall waits for it) — the answer is applied at once, not when someone next asks.
      if (this.#inFlight.has(id)) void this.#load(id).catch(() => undefined);
    }
    if (this.#remoteListeners.size === 0) return;
    const record = await this.#opts.store.get(id).catch(() => null);
    // Gone from the store (deleted, or set aside, on another instance): its watchers are told.
    if (record === undefined) {
      // Not held here: what the notification said of it (its legal entity) is all there is to tell.
      const summary = goneLegalEntity === undefined ? {} : { legalEntity: goneLegalEntity };
      const last = cached ?? { id, machine: "", version: 0, revision, createdAt: "", updatedAt: "", summary, nextDeadlineAt: null, attentionFrom: null, lease: null };
      for (const listener of this.#remoteListeners) listener({ flowId: id, record: last, audit: [], remote: true, deleted: true });
      return;
    }
    if (!record || !(await this.#summaryIsGenuine(record))) return;
    const row = publicRow(record);
    for (const listener of this.#remoteListeners) listener({ flowId: id, record: row, audit: [], remote: true });
  }

  /** Each snapshot of the root actor: note the transition and queue a write. */
  #observe(live: LiveFlow, snapshot: AnyMachineSnapshot, event: EngineEvent) {
    if (this.#stopped || event.type === "xstate.init" || this.#flows.get(live.id) !== live) return;
    live.usedAt = Date.now();
    const to = live.def.stateName(snapshot);
    const user = typeof event.user === "string" ? event.user : null;
    const entry: AuditEntry = { flowId: live.id, at: this.#iso(), from: live.def.stateName(live.lastSnapshot), to, event: auditEventName(event.type), user };
    // Who asked: the API client or the signed-in page (events from a caller carry it; timers do not).
    if (typeof event.client === "string") entry.client = event.client;
    if (live.def.routine?.(event, live.lastSnapshot, snapshot)) entry.routine = true;
    const detail = live.def.auditDetail?.(snapshot, event);
    live.pendingAudit.push(detail ? { ...entry, ...detail } : entry);
    live.lastSnapshot = snapshot;
    this.#queueWrite(live);
  }

  /** Queues a write of the flow's newest snapshot, retried with backoff until the store takes it. */
  #queueWrite(live: LiveFlow): void {
    const run = async () => {
      const retry = this.#opts.writeRetryMs ?? { first: 100, max: 5000 };
      for (let attempt = 0; ; attempt++) {
        // A retired actor (reloaded after a lost race) never writes again.
        if (this.#flows.get(live.id) !== live || this.#stopped) return;
        try {
          await this.#writeOnce(live, false);
          return;
        } catch (error) {
          if (error instanceof StaleWriteError) return this.#reloadAfterLostRace(live, error);
          if (attempt === 0) this.#log(`flow ${live.id}: write failed (${(error as Error).message}); the change is held and retried until the store takes it`);
          await sleep(Math.min(retry.first * 2 ** attempt, retry.max));
        }
      }
    };
    live.writing++;
    const done = () => void live.writing--;
    live.writes = live.writes.then(run, run).then(done, done);
  }

  /** The record a snapshot is written as: summary, due-time index, attention, and the call lease. */
  #recordFor(live: LiveFlow, snapshot: AnyMachineSnapshot, sealedSnapshot: string): FlowRecord {
    const busy = live.def.busy?.(snapshot) ?? false;
    const leaseUntil = Date.now() + (this.#opts.leaseMs ?? 30_000);
    const deadline = live.def.nextDeadline?.(snapshot) ?? null;
    // A flow caught mid-call is due at once after a crash (one process), or when the caller's lease
    // ends (several): whoever hydrates it then resumes the call.
    const busyDue = this.#opts.shared ? this.#opts.clock.now() + (this.#opts.leaseMs ?? 30_000) : this.#opts.clock.now();
    return {
      ...live.record,
      revision: live.record.revision + 1,
      updatedAt: this.#iso(),
      summary: live.def.summarize(snapshot),
      sealedSnapshot,
      nextDeadlineAt: busy ? Math.min(busyDue, deadline ?? Infinity) : deadline,
      attentionFrom: live.def.attentionFrom?.(snapshot) ?? null,
      // Another instance's lease stays as it is, also once it has ended: it makes the call, or
      // #takeLease takes it over when it may (#mayTakeOver); else the call is ours.
      lease: busy ? (live.record.lease && live.record.lease.owner !== this.#me ? live.record.lease : { owner: this.#me, until: leaseUntil }) : null,
    };
  }

  /** One write of the newest snapshot with every transition not yet written. Throws what the store threw. */
  async #writeOnce(live: LiveFlow, creating: boolean): Promise<void> {
    const audit = live.pendingAudit.slice();
    if (audit.length === 0 && !creating) return; // an earlier write already took this snapshot
    const startSeq = this.#seq;
    const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
    if (snapshot.status === "stopped") return;
    const persisted = live.actor.getPersistedSnapshot();
    const next = this.#recordFor(live, snapshot, await this.#opts.box.seal(JSON.stringify(persisted), sealBinding(live.record)));
    const stored = await this.#storable(live, next);
    try {
      // The transitions go with the write (the store lands them together, or right after).
      await this.#opts.store.save(stored, creating ? null : live.record.revision, audit);
    } catch (error) {
      live.heldError = error;
      throw error;
    }
    live.pendingAudit.splice(0, audit.length);
    live.record = next;
    live.heldError = undefined;
    // Answers delivered before this snapshot was taken are now in the store.
    const answers = this.#held.get(live.id);
    if (answers) {
      for (const [key, answer] of answers) if (answer.seq <= startSeq) answers.delete(key);
      if (answers.size === 0) this.#held.delete(live.id);
    }
    const row = publicRow(next);
    for (const listener of this.#listeners) listener({ flowId: live.id, record: row, audit });
  }

  /**
   * Another writer moved the flow first (a shared store): what is in memory is stale. It is replaced
   * by what the store holds; a call answer this actor got is kept for the reloaded flow (runCall),
   * and the caller of `send` applies its event again.
   */
  async #reloadAfterLostRace(live: LiveFlow, error: StaleWriteError): Promise<void> {
    this.#log(`flow ${live.id}: ${error.message}; reloading it from the store`);
    live.heldError = new LostRace(error.message);
    this.#retire(live);
    if (this.#stopped) return;
    const latest = await this.#opts.store.get(live.id).catch(() => undefined);
    if (latest && !this.#flows.has(live.id)) await this.#hydrate(latest).catch((e) => this.#log(`flow ${live.id}: could not be reloaded (${(e as Error).message})`));
  }

  /**
   * With a shared store: the flow's call lease must be ours before a call leaves. Another live
   * instance's lease is waited out (its answer will reload this flow and retire this actor); an
   * expired one is taken over with a compare-and-swap write, so only one instance takes it.
   */
  async #takeLease(live: LiveFlow, stillOurs: () => void): Promise<void> {
    for (let takes = 0; ; ) {
      stillOurs();
      const lease = live.record.lease;
      if (!lease) return;
      // Ours with room for the whole call: it leaves. With less (the write that took it was held,
      // or this process stood still), another instance could take the lease over while the call
      // runs and refresh with the same one-time token — so ours is taken again first, like an
      // ended one, by a compare-and-swap write that fails if another instance moved the flow.
      const callMs = this.#opts.callMs ?? ((this.#opts.leaseMs ?? 30_000) * 2) / 3;
      if (lease.owner === this.#me && lease.until - Date.now() >= callMs) return;
      // (A store out of reach is a reason to wait, like a lease that holds: not a failed call.)
      if (lease.owner !== this.#me && lease.until !== LET_GO && (lease.until > Date.now() || !(await this.#mayTakeOver(lease).catch(() => false)))) {
        await sleep(Math.max(0, Math.min(lease.until - Date.now(), 250)) || 250);
        // The other instance's answer has landed when the stored revision moved (a notification may come later, or never).
        const stored = await this.#opts.store.get(live.id).catch(() => undefined);
        if (stored && stored.revision !== live.record.revision) {
          this.#retire(live);
          if (!this.#flows.has(live.id)) await this.#hydrate(stored).catch(() => undefined);
        }
        continue;
      }
      // Taken, and still not room for the call: the store's writes take longer than the margin.
      // The call is not made (its state's failure says so, and it is tried again as any failure).
      if (takes++ >= 3) throw new Error(`the call's lease could not be taken with ${callMs} ms of room (the store answers too slowly); the call was not made`);
      // The takeover is a write like any other: queued behind this flow's writes, so no write of its
      // own can race it; and the call leaves only if this actor is still the flow's afterwards.
      const takeOver = async () => {
        stillOurs();
        const next = { ...live.record, revision: live.record.revision + 1, lease: { owner: this.#me, until: Date.now() + (this.#opts.leaseMs ?? 30_000) } };
        await this.#opts.store.save(await this.#storable(live, next), live.record.revision);
        live.record = next;
      };
      live.writing++;
      const taken = live.writes.then(takeOver);
      live.writes = taken.then(
        () => void live.writing--,
        () => void live.writing--,
      );
      try {
        await taken;
      } catch (error) {
        if (error instanceof StaleWriteError) await this.#reloadAfterLostRace(live, error);
        stillOurs(); // throws when this actor was retired
        throw error;
      }
      stillOurs();
      if (lease.owner !== this.#me) this.#log(`flow ${live.id}: took over the call lease of ${lease.owner} (${lease.until === LET_GO ? "let go of when it stopped, its call not made" : `ended ${Date.now() - lease.until} ms ago`})`);
      else this.#log(`flow ${live.id}: took its call lease again (${Math.max(0, lease.until - Date.now())} ms were left, a call may take ${callMs} ms)`);
      // Looked at again: the write that took it may itself have taken long.
    }
  }

  /**
   * Whether another instance's ended lease may be taken over now. Its owner may be alive and hold
   * the call's answer, unable to write it: a database out of reach for longer than a lease ends the
   * lease (and the heartbeat) while the provider's answer is in the owner's memory, and a review saw
   * another instance then send the same one-time refresh token again. So:
   * - an owner whose heartbeat holds is given the grace from both its lease's end and its
   *   heartbeat's last start (it writes the answer once it reaches the database, or has none);
   * - one whose heartbeat has ended is dead unless it comes back: that is judged only after this
   *   instance has itself reached the store for the grace without a break (after an outage, a live
   *   owner's next tick beats its heart first).
   * An instance that stood still (or was cut off from the database alone) for longer than that is
   * taken for dead: README "Known limits".
   */
  async #mayTakeOver(lease: { owner: string; until: number }): Promise<boolean> {
    const grace = this.#opts.takeOverGraceMs ?? (this.#opts.claimMs ?? 5_000) + (this.#opts.writeRetryMs?.max ?? 5_000);
    const owner = await this.#opts.store.claimant(lease.owner);
    const now = Date.now();
    if (owner && owner.aliveUntil > now) {
      // An instance of an older release does not say since when (0): this instance's own look at the store stands in.
      const since = owner.aliveSince || this.#reachableSince;
      return since !== undefined && now - lease.until >= grace && now - since >= grace;
    }
    return this.#reachableSince !== undefined && now - this.#reachableSince >= grace;
  }

  /**
   * Waits for the flow's writes; a change the store keeps refusing answers 503 after `timeoutMs`.
   * `applied`: the caller's own event is the change waited for — the 503 then says it is kept
   * (`extra.kept`), so a caller can tell "taken, written later" from "not taken, try again".
   */
  async #landed(live: LiveFlow, timeoutMs: number, { applied = false } = {}): Promise<void> {
    // The token call's path: nothing queued, nothing held — no timer, no race.
    if (live.writing === 0 && live.heldError === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      live.writes.then(() => "landed" as const),
      new Promise<"waiting">((r) => (timer = setTimeout(() => r("waiting"), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (live.heldError instanceof LostRace) throw live.heldError;
    if (settled === "waiting" || live.heldError !== undefined) throw this.#notWritten(live, applied);
  }

  /** The 503 for a flow whose newest change the store has not taken yet. */
  #notWritten(live: LiveFlow, applied: boolean): AuthflowError {
    // In words, never the database's address: "the connection was refused", not "connect ECONNREFUSED 10.0.0.5:5432".
    const reason = live.heldError === undefined ? "a write is still in progress" : storeRefusal(live.heldError);
    return new AuthflowError(
      "persist_failed",
      503,
      applied
        ? `This change is made but not written to the store yet (${reason}). It is kept and retried until the store takes it; nothing is lost.`
        : `The flow's newest change is not written to the store yet (${reason}); nothing more is done on this flow until it is. That change is kept and retried until the store takes it; try again shortly.`,
      { cause: live.heldError, extra: { retryAfterSeconds: 2, ...(applied ? { kept: true } : {}) } },
    );
  }

  async #serialized<T>(live: LiveFlow, work: () => Promise<T>): Promise<T> {
    const result = live.lock.then(work, work);
    live.lock = result.catch(() => undefined);
    return result;
  }

  #iso(): string {
    return new Date(this.#opts.clock.now()).toISOString();
  }

  /**
   * The record as the store keeps it: the summary without its capabilities (a pending login's link —
   * whoever read it could open it first; views of the live flow still show it) and with its MAC.
   */
  async #storable(live: LiveFlow, record: FlowRecord): Promise<FlowRecord> {
    const stored = { ...record, summary: withoutFields(record.summary, live.def.unstoredSummaryFields ?? []) };
    stored.summary[SUMMARY_MAC] = await this.#opts.box.mac(summaryBinding(stored));
    return stored;
  }

  async #summaryIsGenuine(row: FlowRow): Promise<boolean> {
    const mac = row.summary[SUMMARY_MAC];
    return typeof mac === "string" && mac === (await this.#opts.box.mac(summaryBinding(row)));
  }

  #log(line: string) {
    this.#opts.log?.(line);
  }
}

/** Where a row's summary MAC lives: inside the summary, so a store keeps it without a column of its own. */
const SUMMARY_MAC = "_mac";

/**
 * What the summary MAC covers: the flow's identity, revision and every fact kept in clear beside its
 * sealed snapshot — so a summary edited, or copied with a snapshot from another flow, is noticed.
 */
function summaryBinding(row: FlowRow): string {
  const { [SUMMARY_MAC]: _mac, ...summary } = row.summary;
  return canonicalJson([row.id, row.machine, row.version, row.revision, row.nextDeadlineAt ?? null, row.attentionFrom ?? null, summary]);
}

/** JSON with object keys sorted at every depth: a store may reorder keys (PostgreSQL's jsonb does). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

function withoutFields(summary: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const copy = { ...summary };
  for (const field of fields) if (field in copy) copy[field] = null;
  return copy;
}

/** A row as the domain layer sees it: no sealed snapshot, no MAC. */
function publicRow(record: FlowRow | FlowRecord): FlowRow {
  const { sealedSnapshot: _sealed, ...row } = record as FlowRecord;
  const { [SUMMARY_MAC]: _mac, ...summary } = row.summary;
  return { ...row, summary };
}
