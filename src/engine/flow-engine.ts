// The generic flow host (DESIGN §3): one live XState actor per flow, restored from the store at
// start-up. It knows nothing of ID-porten. Guarantees:
// - every accepted transition is written before `send` resolves (an acknowledged change is never lost);
// - events to one flow are serialized;
// - writes are compare-and-swap on a revision, so a stale write never overwrites a newer one;
// - snapshots are sealed at rest (they hold tokens), and every transition goes to the audit trail.
import { createActor, type AnyActorRef, type AnyMachineSnapshot, type InspectionEvent } from "xstate";
import type { Clock } from "../clock.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import { AuthflowError, notFound } from "../errors.ts";
import type { AuditEntry, FlowRecord, FlowStore } from "../store/flow-store.ts";
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
}

interface LiveFlow {
  id: string;
  def: RegisteredMachine;
  actor: AnyActorRef;
  record: FlowRecord;
  /** Serializes events to this flow. */
  lock: Promise<unknown>;
  /** Serializes writes of this flow; `send` waits for it before answering. */
  writes: Promise<void>;
  /** Transitions seen but not yet written. */
  pendingAudit: AuditEntry[];
  lastState: string;
  writeError: unknown;
}

type Listener = (notice: TransitionNotice) => void;

/** "xstate.done.actor.exchangeCode" → "done: exchangeCode": the audit trail is read by people. */
export function auditEventName(type: string): string {
  const match = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  return match ? `${match[1]}: ${match[2]}` : type;
}

export class FlowEngine {
  #opts: FlowEngineOptions;
  #flows = new Map<string, LiveFlow>();
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
        this.#log(`flow ${record.id}: could not be restored (${(error as Error).message}); left as stored`);
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
    // The first write creates the document.
    live.pendingAudit.push({ flowId: id, at: now, from: null, to: live.lastState, event: "create", user: null });
    await this.#write(live, true);
    return live.record;
  }

  async get(id: string): Promise<FlowRecord> {
    const live = this.#flows.get(id);
    if (live) return live.record;
    const record = await this.#opts.store.get(id);
    if (!record) throw notFound(`No flow with id "${id}".`);
    return record;
  }

  async list(): Promise<FlowRecord[]> {
    return [...this.#flows.values()].map((f) => f.record);
  }

  /** The live snapshot, secrets included: for the domain layer only, never for an API answer. */
  snapshot(id: string): AnyMachineSnapshot {
    return this.#live(id).actor.getSnapshot() as AnyMachineSnapshot;
  }

  /**
   * Sends an event, stamped with the clock's time, after the ones before it. Resolves once the
   * transition is written. A refused event throws the machine's own explanation (409/403/422).
   */
  async send(id: string, event: EngineEvent): Promise<FlowRecord> {
    const live = this.#live(id);
    return this.#serialized(live, async () => {
      const stamped = { ...event, at: this.#opts.clock.now() };
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status !== "active") throw new AuthflowError("conflict", 409, `Flow "${id}" is no longer running.`);
      if (!snapshot.can(stamped)) throw live.def.refusal(snapshot, stamped);
      live.actor.send(stamped);
      await this.#flushed(live);
      return live.record;
    });
  }

  /** Waits (up to `timeoutMs`) until `predicate` holds for the flow's snapshot and that state is written. */
  async waitFor(id: string, predicate: (snapshot: AnyMachineSnapshot) => boolean, timeoutMs: number): Promise<AnyMachineSnapshot> {
    const live = this.#live(id);
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
    await this.#flushed(live);
    return live.actor.getSnapshot() as AnyMachineSnapshot;
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
      await new Promise((r) => setTimeout(r, 0));
      if ([...this.#flows.values()].every((f, i) => f.writes === pending[i] && f.pendingAudit.length === 0)) return;
    }
  }

  onTransition(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#flows.values()].map((f) => f.writes));
    const flows = [...this.#flows.values()];
    this.#flows.clear();
    for (const live of flows) live.actor.stop();
  }

  // --- internals

  #live(id: string): LiveFlow {
    const live = this.#flows.get(id);
    if (!live) throw notFound(`No flow with id "${id}".`);
    return live;
  }

  async #revive(record: FlowRecord): Promise<void> {
    const def = this.#opts.registry.get(record.machine, record.version);
    const snapshot = JSON.parse(await this.#opts.box.open(record.sealedSnapshot));
    this.#start(record, def, snapshot, undefined);
  }

  #start(record: FlowRecord, def: RegisteredMachine, snapshot: unknown, input: unknown): LiveFlow {
    const live = {
      id: record.id,
      def,
      record,
      lock: Promise.resolve(),
      writes: Promise.resolve(),
      pendingAudit: [],
      lastState: "",
      writeError: undefined,
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
    live.lastState = def.stateName(actor.getSnapshot() as AnyMachineSnapshot);
    this.#flows.set(record.id, live);
    actor.start();
    return live;
  }

  /** Each snapshot of the root actor: note the transition and queue a write. */
  #observe(live: LiveFlow, snapshot: AnyMachineSnapshot, event: EngineEvent) {
    if (this.#stopped || event.type === "xstate.init" || this.#flows.get(live.id) !== live) return;
    const to = live.def.stateName(snapshot);
    const user = typeof event.user === "string" ? event.user : null;
    live.pendingAudit.push({ flowId: live.id, at: this.#iso(), from: live.lastState, to, event: auditEventName(event.type), user });
    live.lastState = to;
    this.#write(live, false).catch(() => {
      /* the error is kept in live.writeError and surfaces to whoever waits */
    });
  }

  #write(live: LiveFlow, creating: boolean): Promise<void> {
    const run = async () => {
      // A retired actor (rolled back after a failed write) must never write again: its snapshot
      // is what the store refused, and a stopped one would make the flow unusable.
      if (this.#flows.get(live.id) !== live) return;
      const audit = live.pendingAudit.splice(0);
      if (audit.length === 0 && !creating) return; // an earlier write already took this snapshot
      const snapshot = live.actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status === "stopped") return;
      const persisted = live.actor.getPersistedSnapshot();
      const next: FlowRecord = {
        ...live.record,
        revision: live.record.revision + 1,
        updatedAt: this.#iso(),
        summary: live.def.summarize(snapshot),
        sealedSnapshot: await this.#opts.box.seal(JSON.stringify(persisted)),
      };
      try {
        await this.#opts.store.save(next, creating ? null : live.record.revision);
        live.record = next;
        live.writeError = undefined;
      } catch (error) {
        live.writeError = error;
        this.#log(`flow ${live.id}: write failed (${(error as Error).message}); the change is rolled back`);
        await this.#rollback(live, creating);
        throw error;
      }
      try {
        await this.#opts.store.appendAudit(audit);
      } catch (error) {
        this.#log(`flow ${live.id}: audit append failed (${(error as Error).message})`);
      }
      for (const listener of this.#listeners) listener({ flowId: live.id, record: next, audit });
    };
    const result = live.writes.then(run, run);
    live.writes = result.catch(() => undefined);
    return result;
  }

  /**
   * What is in memory must be what is in the store: after a failed or stale write, the live actor
   * is replaced by one restored from the newest stored record (another writer's, if it moved first).
   */
  async #rollback(live: LiveFlow, creating: boolean): Promise<void> {
    if (this.#flows.get(live.id) === live) this.#flows.delete(live.id);
    live.pendingAudit.length = 0; // those transitions were not applied
    live.actor.stop();
    if (creating || this.#stopped) return;
    const latest = (await this.#opts.store.get(live.id).catch(() => undefined)) ?? live.record;
    await this.#revive(latest).catch((error) => this.#log(`flow ${live.id}: could not be restored after a failed write (${(error as Error).message})`));
  }

  async #flushed(live: LiveFlow): Promise<void> {
    // Let the actor's synchronous microsteps queue their writes, then wait for all of them.
    await live.writes;
    if (live.writeError) {
      throw new AuthflowError("persist_failed", 503, "The change could not be written to the store; it was not applied. Try again.", {
        cause: live.writeError,
      });
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
