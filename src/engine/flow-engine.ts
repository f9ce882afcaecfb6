// The generic flow host (DESIGN §3): one live XState actor per flow, restored from the store at
// start-up. It knows nothing of ID-porten. Guarantees:
// - every accepted transition is written before `send` resolves (an acknowledged change is never lost);
// - events to one flow are serialized;
// - writes are compare-and-swap on a revision, so a stale write never overwrites a newer one;
// - a provider's answer is never thrown away: a write that fails (full disk, I/O error) is held and
//   retried with backoff until it lands — the live actor is never rolled back to a state that would
//   re-run a call whose one-time credential is spent. Callers get 503 meanwhile;
// - an outbound call leaves only once the state that starts it is written (`persisted`), so whoever
//   finds the flow after a crash knows a call may have happened;
// - snapshots are sealed at rest with their flow id and machine as additional data (a copy moved to
//   another flow does not open), the public summary is derived from the snapshot on load (never
//   trusted from disk), and a flow that cannot be opened is set aside as damaged, never a reason not
//   to start;
// - every transition goes to the audit trail.
import { createActor, type AnyActorRef, type AnyMachineSnapshot, type InspectionEvent } from "xstate";
import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import { AuthflowError, notFound } from "../errors.ts";
import { StaleWriteError, type AuditEntry, type FlowRecord, type FlowStore } from "../store/flow-store.ts";
import type { MachineRegistry, RegisteredMachine } from "./machine-registry.ts";

export interface EngineEvent {
  type: string;
  [key: string]: unknown;
}

export interface TransitionNotice {
  flowId: string;
  record: FlowRecord;
  audit: AuditEntry[];
}

export interface FlowEngineOptions {
  store: FlowStore;
  box: SecretBox;
  clock: Clock;
  registry: MachineRegistry;
  log?: (line: string) => void;
  /** Inspection hook for each live actor (the Stately inspector); receives raw events. */
  inspect?: (event: InspectionEvent) => void;
  /** How long `send` waits for a held (failing) write before it answers 503; default 2 s. */
  heldWriteWaitMs?: number;
  /** Backoff of a failing write: first and largest pause; default 100 ms and 5 s. */
  writeRetryMs?: { first: number; max: number };
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
  /** Audit entries of written transitions whose append failed: appended with the next write. */
  unappendedAudit: AuditEntry[];
  lastState: string;
  /** Set while the newest change is held in memory because the store refused it; cleared when it lands. */
  heldError: unknown;
}

type Listener = (notice: TransitionNotice) => void;

/** "xstate.done.actor.exchangeCode" → "done: exchangeCode": the audit trail is read by people. */
export function auditEventName(type: string): string {
  const match = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  return match ? `${match[1]}: ${match[2]}` : type;
}

/** What a sealed snapshot is bound to: its flow and machine. */
export const sealBinding = (record: Pick<FlowRecord, "id" | "machine" | "version">) => `authflow/flow/${record.id}/${record.machine}@${record.version}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FlowEngine {
  #opts: FlowEngineOptions;
  #flows = new Map<string, LiveFlow>();
  /** Each live actor's system → its flow: lets an invoked actor wait for its flow's writes. */
  #bySystem = new WeakMap<object, LiveFlow>();
  #listeners = new Set<Listener>();
  #stopped = false;

  constructor(options: FlowEngineOptions) {
    this.#opts = options;
  }

  /** Restores every stored flow; invoked timers re-arm with their remaining time as the actors start. */
  async restoreAll(): Promise<number> {
    const records = await this.#opts.store.list();
    for (const record of records) {
      try {
        await this.#revive(record);
      } catch (error) {
        await this.#setAside(record.id, `its snapshot could not be restored: ${(error as Error).message}`);
      }
    }
    return this.#flows.size;
  }

  async create(machine: string, input: Record<string, unknown>): Promise<FlowRecord> {
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
    };
    const live = this.#start(placeholder, def, undefined, { ...input, createdAt: this.#opts.clock.now() });
    // The first write creates the document; if it fails the flow never existed.
    live.pendingAudit.push({ flowId: id, at: now, from: null, to: live.lastState, event: "create", user: null });
    try {
      await this.#writeOnce(live, true);
    } catch (error) {
      this.#retire(live);
      throw new AuthflowError("persist_failed", 503, `The flow could not be written to the store (${(error as Error).message}); it was not created. Try again.`, {
        cause: error,
      });
    }
    return live.record;
  }

  async get(id: string): Promise<FlowRecord> {
    const live = this.#flows.get(id);
    if (live) return live.record;
    await this.#refuseDamaged(id);
    throw notFound(`No flow with id "${id}".`);
  }

  async list(): Promise<FlowRecord[]> {
    return [...this.#flows.values()].map((f) => f.record);
  }

  /** The live snapshot, secrets included: for the domain layer only, never for an API answer. */
  snapshot(id: string): AnyMachineSnapshot {
    return this.#live(id).actor.getSnapshot() as AnyMachineSnapshot;
  }

  /** 404 for an unknown flow, 410 (in words, naming where its file went) for a damaged one. */
  async exists(id: string): Promise<void> {
    await this.get(id);
  }

  /**
   * Sends an event, stamped with the clock's time, after the ones before it. Resolves once the
   * transition is written. A refused event throws the machine's own explanation (409/403/422).
   */
  async send(id: string, event: EngineEvent): Promise<FlowRecord> {
    const live = await this.#liveOrDamaged(id);
    return this.#serialized(live, async () => {
      // A change the store has not taken yet comes first: no new change is accepted on top of it.
      await this.#landed(live, this.#opts.heldWriteWaitMs ?? 2000);
      const stamped = { ...event, at: this.#opts.clock.now() };
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status !== "active") throw new AuthflowError("conflict", 409, `Flow "${id}" is no longer running.`);
      if (!snapshot.can(stamped)) throw live.def.refusal(snapshot, stamped);
      live.actor.send(stamped);
      await this.#landed(live, this.#opts.heldWriteWaitMs ?? 2000);
      return live.record;
    });
  }

  /** Waits (up to `timeoutMs`) until `predicate` holds for the flow's snapshot and that state is written. */
  async waitFor(id: string, predicate: (snapshot: AnyMachineSnapshot) => boolean, timeoutMs: number): Promise<AnyMachineSnapshot> {
    const live = this.#live(id);
    const started = Date.now();
    const current = live.actor.getSnapshot() as AnyMachineSnapshot;
    if (!predicate(current)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          sub.unsubscribe();
          reject(new AuthflowError("upstream_unavailable", 503, `Flow "${id}" did not settle within ${Math.round(timeoutMs / 1000)} s.`));
        }, timeoutMs);
        const sub = live.actor.subscribe((s: AnyMachineSnapshot) => {
          if (!predicate(s)) return;
          clearTimeout(timer);
          queueMicrotask(() => sub.unsubscribe());
          resolve();
        });
      });
    }
    await this.#landed(live, Math.max(timeoutMs - (Date.now() - started), 0));
    return live.actor.getSnapshot() as AnyMachineSnapshot;
  }

  /** Resolves when everything the flow did so far is written; 503 after `timeoutMs` while a write is held. */
  async written(id: string, timeoutMs: number): Promise<void> {
    await this.#landed(this.#live(id), timeoutMs);
  }

  /**
   * For invoked actors, before an outbound call leaves: resolves once every write of the calling
   * flow queued so far has landed (a held write is retried until it does). `system` is the invoked
   * actor's `system`, shared with its flow's root actor.
   */
  async persisted(system: unknown): Promise<void> {
    const live = this.#bySystem.get(system as object);
    if (!live) return; // not one of ours (tests that run the machine alone)
    for (;;) {
      const pending = live.writes;
      await pending;
      // Reloaded after a stale write, or stopping: this actor's call must not leave.
      if (this.#flows.get(live.id) !== live || this.#stopped) throw new Error("the flow was reloaded or stopped before the call left; it was not made");
      if (live.writes === pending && live.pendingAudit.length === 0) return;
    }
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

  onTransition(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stops every actor once their writes have landed, or after `graceMs`: a change still held then
   * (the store keeps refusing) is named in the log, since it is lost with the process.
   */
  async stop(graceMs = 3000): Promise<void> {
    const flows = [...this.#flows.values()];
    const deadline = sleep(graceMs).then(() => "late" as const);
    await Promise.race([Promise.all(flows.map((f) => f.writes)), deadline]);
    this.#stopped = true;
    this.#flows.clear();
    for (const live of flows) {
      if (live.heldError !== undefined || live.pendingAudit.length > 0) {
        this.#log(`flow ${live.id}: stopping with a change the store did not take (${(live.heldError as Error)?.message ?? "write in progress"}); it is lost`);
      }
      live.actor.stop();
    }
  }

  // --- internals

  #live(id: string): LiveFlow {
    const live = this.#flows.get(id);
    if (!live) throw notFound(`No flow with id "${id}".`);
    return live;
  }

  async #liveOrDamaged(id: string): Promise<LiveFlow> {
    const live = this.#flows.get(id);
    if (live) return live;
    await this.#refuseDamaged(id);
    throw notFound(`No flow with id "${id}".`);
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
      const report = await this.#opts.store.quarantine(id, reason);
      this.#log(`flow ${id}: damaged (${reason}); moved to ${report.movedTo}; the other flows serve`);
    } catch (error) {
      this.#log(`flow ${id}: damaged (${reason}) and could not be set aside (${(error as Error).message}); left as stored`);
    }
  }

  async #revive(record: FlowRecord): Promise<void> {
    const def = this.#opts.registry.get(record.machine, record.version);
    const snapshot = JSON.parse(await this.#opts.box.open(record.sealedSnapshot, sealBinding(record)));
    this.#start(record, def, snapshot, undefined);
  }

  #start(stored: FlowRecord, def: RegisteredMachine, snapshot: unknown, input: unknown): LiveFlow {
    const live = {
      id: stored.id,
      def,
      record: stored,
      lock: Promise.resolve(),
      writes: Promise.resolve(),
      pendingAudit: [],
      unappendedAudit: [],
      lastState: "",
      heldError: undefined,
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
    live.lastState = def.stateName(first);
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

  /** Each snapshot of the root actor: note the transition and queue a write. */
  #observe(live: LiveFlow, snapshot: AnyMachineSnapshot, event: EngineEvent) {
    if (this.#stopped || event.type === "xstate.init" || this.#flows.get(live.id) !== live) return;
    const to = live.def.stateName(snapshot);
    const user = typeof event.user === "string" ? event.user : null;
    const entry: AuditEntry = { flowId: live.id, at: this.#iso(), from: live.lastState, to, event: auditEventName(event.type), user };
    const detail = live.def.auditDetail?.(snapshot, event);
    live.pendingAudit.push(detail ? { ...entry, ...detail } : entry);
    live.lastState = to;
    this.#queueWrite(live);
  }

  /** Queues a write of the flow's newest snapshot, retried with backoff until the store takes it. */
  #queueWrite(live: LiveFlow): void {
    const run = async () => {
      const retry = this.#opts.writeRetryMs ?? { first: 100, max: 5000 };
      for (let attempt = 0; ; attempt++) {
        // A retired actor (stale: another writer moved first) never writes again.
        if (this.#flows.get(live.id) !== live || this.#stopped) return;
        try {
          await this.#writeOnce(live, false);
          return;
        } catch (error) {
          if (error instanceof StaleWriteError) return this.#reloadAfterStale(live, error);
          if (attempt === 0) this.#log(`flow ${live.id}: write failed (${(error as Error).message}); the change is held and retried until the store takes it`);
          await sleep(Math.min(retry.first * 2 ** attempt, retry.max));
        }
      }
    };
    live.writes = live.writes.then(run, run);
  }

  /** One write of the newest snapshot with every transition not yet written. Throws what the store threw. */
  async #writeOnce(live: LiveFlow, creating: boolean): Promise<void> {
    const audit = live.pendingAudit.slice();
    if (audit.length === 0 && !creating) return; // an earlier write already took this snapshot
    const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
    if (snapshot.status === "stopped") return;
    const persisted = live.actor.getPersistedSnapshot();
    const next: FlowRecord = {
      ...live.record,
      revision: live.record.revision + 1,
      updatedAt: this.#iso(),
      summary: live.def.summarize(snapshot),
      sealedSnapshot: await this.#opts.box.seal(JSON.stringify(persisted), sealBinding(live.record)),
    };
    try {
      await this.#opts.store.save(next, creating ? null : live.record.revision);
    } catch (error) {
      live.heldError = error;
      throw error;
    }
    live.pendingAudit.splice(0, audit.length);
    live.record = next;
    live.heldError = undefined;
    const toAppend = [...live.unappendedAudit.splice(0), ...audit];
    try {
      await this.#opts.store.appendAudit(toAppend);
    } catch (error) {
      // The transition itself is written; its audit lines go with the next write.
      live.unappendedAudit.unshift(...toAppend);
      this.#log(`flow ${live.id}: audit append failed (${(error as Error).message}); kept for the next write`);
    }
    for (const listener of this.#listeners) listener({ flowId: live.id, record: next, audit });
  }

  /**
   * Another writer moved the flow first (only possible with a shared store): what is in memory is
   * stale, so it is replaced by what the store holds.
   */
  async #reloadAfterStale(live: LiveFlow, error: StaleWriteError): Promise<void> {
    this.#log(`flow ${live.id}: ${error.message}; reloading it from the store`);
    live.heldError = error;
    this.#retire(live);
    if (this.#stopped) return;
    const latest = await this.#opts.store.get(live.id).catch(() => undefined);
    if (latest) await this.#revive(latest).catch((e) => this.#log(`flow ${live.id}: could not be reloaded (${(e as Error).message})`));
  }

  /** Waits for the flow's writes; a change the store keeps refusing answers 503 after `timeoutMs`. */
  async #landed(live: LiveFlow, timeoutMs: number): Promise<void> {
    const settled = await Promise.race([live.writes.then(() => "landed" as const), sleep(timeoutMs).then(() => "waiting" as const)]);
    if (live.heldError instanceof StaleWriteError) {
      throw new AuthflowError("conflict", 409, `Flow "${live.id}" was changed elsewhere at the same time; it was reloaded. Look at it again and retry.`, { cause: live.heldError });
    }
    if (settled === "waiting" || live.heldError !== undefined) {
      const reason = (live.heldError as Error | undefined)?.message ?? "a write is still in progress";
      throw new AuthflowError(
        "persist_failed",
        503,
        `The flow's newest change is not written to the store yet (${reason}). It is kept and retried until the store takes it; nothing is lost. Try again shortly.`,
        { cause: live.heldError, extra: { retryAfterSeconds: 2 } },
      );
    }
  }

  async #serialized<T>(live: LiveFlow, work: () => Promise<T>): Promise<T> {
    const result = live.lock.then(work, work);
    live.lock = result.catch(() => undefined);
    return result;
  }

  #iso(): string {
    return new Date(this.#opts.clock.now()).toISOString();
  }

  #log(line: string) {
    this.#opts.log?.(line);
  }
}
