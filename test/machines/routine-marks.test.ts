// Which audit entries the authorization flow marks routine (folded by the stores after a while:
// store/audit-fold.ts), driving the real machine as the engine does (flow-engine.ts #observe: one
// entry per root snapshot, routine = def.routine(event, the snapshot before, the snapshot after)).
// Routine is upkeep that changes nothing a person sees. The first three cases are upkeep that did
// change something — found by a review, where routine was decided on the public state's name alone
// and a pending login hid the authorization's own state behind "awaitingCode".
import { describe, expect, it } from "vitest";
import { createActor, type AnyMachineSnapshot } from "xstate";
import { authorizationFlowMachine } from "../../src/flows/authorization-flow.ts";
import { grantState } from "../../src/machines/authorization-state.ts";
import type { AuthorizationContext } from "../../src/machines/authorization-types.ts";
import { CALLBACK_URL, flush, harness } from "./helpers.ts";

const def = authorizationFlowMachine({ clock: { now: () => 0 } as never, idporten: {} as never, altinn: {} as never });

interface Row {
  event: string;
  routine: boolean;
  grant: string;
  boundUser: string | null;
  lastError: string | null;
}

function observed(h: ReturnType<typeof harness>) {
  const rows: Row[] = [];
  let before: AnyMachineSnapshot | undefined;
  const actor = createActor(h.machine, {
    input: { legalEntity: "999999999", integration: "default", createdAt: h.clock.now() },
    inspect: (ev) => {
      if (ev.type !== "@xstate.snapshot" || ev.actorRef.sessionId !== ev.rootId) return;
      const after = ev.snapshot as AnyMachineSnapshot;
      const event = ev.event as { type: string; [k: string]: unknown };
      if (event.type !== "xstate.init") {
        const ctx = after.context as AuthorizationContext;
        rows.push({ event: event.type.replace(/^xstate\.(done|error)\.actor\./, "$1: "), routine: def.routine!(event, before!, after), grant: grantState(after), boundUser: ctx.boundUser, lastError: ctx.lastError?.error ?? null });
      }
      before = after;
    },
  });
  actor.start();
  return { actor, rows };
}

const callback = (actor: { getSnapshot(): AnyMachineSnapshot; send(e: unknown): void }) =>
  actor.send({ type: "CALLBACK", at: Date.now(), state: (actor.getSnapshot().context as AuthorizationContext).attempt!.request.state, callbackUrl: CALLBACK_URL, code: "c", iss: "https://op" });
const settle = async (turns = 8) => {
  for (let i = 0; i < turns; i++) await flush();
};

describe("routine audit entries (the authorization flow)", () => {
  it("a keep-alive and the renewal a token call needed are routine, each of their entries; the login and a person's RENEW are not", async () => {
    const h = harness();
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await settle();
    const upkeepFrom = rows.length;
    actor.send({ type: "KEEP_ALIVE", at: h.at() });
    await settle();
    actor.send({ type: "RENEW", user: "alice", at: h.at(), upkeep: true });
    await settle();
    const upkeep = rows.slice(upkeepFrom);
    // (A keep-alive while the tokens are fresh renews nothing: its own entry is all there is.)
    expect(upkeep.map((r) => r.event)).toEqual(["KEEP_ALIVE", "RENEW", "done: refreshIdporten", "done: exchangeAltinn"]);
    expect(upkeep.every((r) => r.routine)).toBe(true);
    // The login itself and a person's own RENEW are not.
    expect(rows.slice(0, upkeepFrom).some((r) => r.routine)).toBe(false);
    actor.send({ type: "RENEW", user: "alice", at: h.at() });
    await settle();
    expect(rows.at(-3)).toMatchObject({ event: "RENEW", routine: false });
  });

  it("Altinn refusing a person it does not know: the keep-alive asks again on a backoff (8, 16, 32 minutes …), and a refusal repeated is routine", async () => {
    // Review finding: every keep-alive (8 minutes) asked Altinn again and wrote a full entry — 65,000 a year.
    const h = harness(undefined, { altinn: async () => Promise.reject({ error: "altinn_unauthorized", error_description: "Altinn refused the ID-porten token (401)" }) });
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await settle();
    for (let keepAlive = 0; keepAlive < 7; keepAlive++) {
      h.clock.advance(480_000);
      await settle();
    }
    // Asked at the login, then at +8, +24 and +56 minutes: 4 of 8 chances.
    expect(h.calls.refresh).toBe(7);
    expect(h.calls.altinn).toBe(4);
    const refusals = rows.filter((r) => r.event === "error: exchangeAltinn");
    expect(refusals.map((r) => r.routine)).toEqual([false, true, true, true]);
    expect(rows.filter((r) => !r.routine).map((r) => r.event)).not.toContain("KEEP_ALIVE");
  });

  it("while a colleague's login is pending, the Altinn token that first completes the authorization is not routine", async () => {
    const h = harness(undefined, {
      altinn: async (n) => {
        if (n === 1) throw { error: "altinn_401", error_description: "Altinn does not know the person" };
        return { token: "a", expiresAt: Date.now() + 7200_000 };
      },
    });
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice"));
    callback(actor);
    await settle(5);
    actor.send(h.authorize("bob")); // the public state is now the login's: awaitingCode
    actor.send({ type: "EXCHANGE_ALTINN", user: "alice", at: h.at(), upkeep: true }); // what a token call sends
    await settle(5);
    const completed = rows.find((r) => r.event === "done: exchangeAltinn" && r.grant === "altinnAuthorized")!;
    expect(completed.routine).toBe(false);
  });

  it("a renewal's answer that hands the authorization to the person who just logged in is not routine", async () => {
    let release!: () => void;
    const h = harness(undefined, {
      refresh: () => new Promise((resolve) => (release = () => resolve({}))),
      altinn: async () => {
        throw { error: "altinn_401", error_description: "unknown person" };
      },
    });
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await settle(5);
    actor.send({ type: "RENEW", user: "alice", at: h.at(), upkeep: true }); // a token call's renewal, in flight
    actor.send(h.authorize("bob", {}, { keepAliveSeconds: 600 }));
    callback(actor); // bob's login completes while it is out
    await settle(5);
    release();
    await settle(5);
    const handover = rows.find((r) => r.event === "done: refreshIdporten")!;
    expect(handover.boundUser).toBe("bob");
    expect(handover.routine).toBe(false);
  });

  it("the renewal that ends a failure needing a person is not routine, nor is the failure", async () => {
    const h = harness(undefined, {
      refresh: async (n) => {
        if (n === 1) throw { error: "invalid_client", error_description: "secret expired" };
        return {};
      },
    });
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await settle(5);
    actor.send({ type: "RENEW", user: "alice", at: h.at(), upkeep: true });
    await settle(5);
    actor.send({ type: "KEEP_ALIVE", at: h.at() }); // resumed after the secret was fixed
    await settle();
    expect(rows.find((r) => r.event === "error: refreshIdporten")!.routine).toBe(false);
    const recovered = rows.filter((r) => r.event === "done: refreshIdporten").at(-1)!;
    expect(recovered.lastError).toBeNull();
    expect(recovered.routine).toBe(false);
  });
  it("a failure repeated by upkeep's retries is routine after the first; another error, and a revocation's first failure, are not", async () => {
    let refusals = 0;
    const h = harness(undefined, {
      refresh: async (n) => {
        if (n === 1) return {}; // the token call's renewal below
        refusals++;
        if (refusals <= 4) throw { error: "invalid_client", error_description: `invalid_client (correlation id: ${refusals})` };
        throw { error: "server_error", error_description: "ID-porten answered 503" };
      },
    });
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await settle();
    actor.send({ type: "RENEW", user: "alice", at: h.at(), upkeep: true });
    await settle();
    // Five keep-alives refused: four times the same client refusal (the secret expired), then another error.
    for (let i = 0; i < 5; i++) {
      h.clock.advance(3600_000);
      actor.send({ type: "KEEP_ALIVE", at: h.at() });
      await settle();
    }
    const failures = rows.filter((r) => r.event === "error: refreshIdporten");
    // (The keep-alive timer retries on its own as the clock moves: more server errors follow.)
    expect(failures.slice(0, 5).map((r) => [r.lastError, r.routine])).toEqual([
      ["invalid_client", false],
      ["invalid_client", true],
      ["invalid_client", true],
      ["invalid_client", true],
      ["server_error", false],
    ]);
    expect(failures.slice(5).length).toBeGreaterThan(0);
    expect(failures.slice(5).every((r) => r.lastError === "server_error" && r.routine)).toBe(true);
    // A revocation that keeps failing: its first failure stays, its retries fold. (Here no
    // inactivity window: the token above has died unused, and a dead token is owed no revocation.)
    const h2 = harness(undefined, { revoke: async () => Promise.reject({ error: "temporarily_unavailable", error_description: "down" }) });
    const second = observed(h2);
    second.actor.send(h2.authorize("alice"));
    callback(second.actor);
    await settle();
    second.actor.send({ type: "REVOKE", at: h2.at(), user: "alice" });
    await settle();
    for (let i = 0; i < 3; i++) {
      h2.clock.advance(3600_000);
      await settle();
    }
    const revocations = second.rows.filter((r) => r.event === "error: revokeToken");
    expect(revocations.length).toBeGreaterThanOrEqual(3);
    expect(revocations.map((r) => r.routine)).toEqual([false, ...revocations.slice(1).map(() => true)]);
    // Each try again is routine upkeep too: it wrote an entry an hour, never folded (review).
    const retries = second.rows.filter((r) => r.event === "REVOCATION_RETRY");
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(retries.every((r) => r.routine)).toBe(true);
  });

  it("a person's RENEW refused again and again stays entry by entry, and so does a revocation failing with another error", async () => {
    let tries = 0;
    const h = harness(undefined, {
      refresh: async () => Promise.reject({ error: "invalid_client", error_description: `invalid_client (correlation id: ${++tries})` }),
      revoke: async (n) => Promise.reject(n % 2 ? { error: "temporarily_unavailable", error_description: "down" } : { error: "server_error", error_description: "500" }),
    });
    const { actor, rows } = observed(h);
    actor.send(h.authorize("alice"));
    callback(actor);
    await settle();
    for (let i = 0; i < 3; i++) {
      actor.send({ type: "RENEW", user: "alice", at: h.at() });
      await settle();
    }
    const failures = rows.filter((r) => r.event === "error: refreshIdporten");
    expect(failures.map((r) => r.routine)).toEqual([false, false, false]);
    actor.send({ type: "REVOKE", at: h.at(), user: "alice" });
    await settle();
    for (let i = 0; i < 3; i++) {
      h.clock.advance(3600_000);
      await settle();
    }
    const revocations = rows.filter((r) => r.event === "error: revokeToken");
    expect(revocations.length).toBeGreaterThanOrEqual(3);
    expect(revocations.every((r) => !r.routine)).toBe(true); // each failed with another error than the one before
  });
});
