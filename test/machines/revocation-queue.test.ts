// The queue of revocations owed (review of the earliest-first order): the one whose call is out keeps
// its answer whatever is added meanwhile — a replaced grant's revocation added while another's call
// was out took the head, and that call's answer was recorded on it (dropped, never revoked) — and a
// replaced grant's revocation due now is tried now, not after another's backoff.
import { expect, it } from "vitest";
import { SimulatedClock } from "../../src/clock.ts";
import { CALLBACK_URL, flush, harness } from "./helpers.ts";

function callback(actor: any) {
  const ctx = actor.getSnapshot().context;
  actor.send({ type: "CALLBACK", at: Date.now(), state: ctx.attempt!.request.state, callbackUrl: CALLBACK_URL, code: "the-code", iss: "https://op" });
}

for (const outcome of ["succeeds", "fails"] as const) {
  it(`a login that replaces the grant while a revocation's call is out: that call's answer (it ${outcome}) is recorded on its own entry`, async () => {
    let refreshRelease!: () => void;
    const revokes: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
    let revokeN = 0;
    const h = harness(undefined, {
      revoke: (n) => {
        revokeN = n;
        if (n === 1) return Promise.reject({ error: "server_error", error_description: "down" });
        return new Promise((resolve, reject) => revokes.push({ resolve, reject }));
      },
      refresh: () => new Promise((r) => (refreshRelease = () => r({ refreshToken: "rt-renewed" }))),
      exchange: async (n) => ({ refreshToken: `rt-login${n}` }),
    });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { exchangeMode: "auto" }));
    callback(actor); await flush(); await flush();           // grant rt-1
    h.clock.advance(1000);
    actor.send(h.authorize("alice"));
    callback(actor); await flush(); await flush();           // grant rt-2, rt-1 owed; its revoke fails -> +30 s
    const c = () => actor.getSnapshot().context;
    // a renewal of rt-2 is out
    actor.send({ type: "RENEW", at: h.clock.now(), user: "alice" } as any);
    await flush();
    // a third login completes while the renewal is out: its tokens wait in `replacement`
    h.clock.advance(1000);
    actor.send(h.authorize("alice"));
    callback(actor); await flush(); await flush();
    // rt-1's retry comes due: its revocation call leaves and is out
    h.clock.advance(30_000);
    await flush();
    // the renewal answers: the replacement takes over, the renewed grant's token is owed a revocation
    refreshRelease();
    await flush(); await flush(); await flush();
    const replacedToken = c().revocations.find((r: any) => r.refreshToken !== "rt-login1")?.refreshToken;
    // rt-1's revocation answers
    if (outcome === "succeeds") revokes[0]!.resolve({ revoked: true });
    else revokes[0]!.reject({ error: "server_error", error_description: "down" });
    await flush(); await flush();
    if (outcome === "succeeds") {
      // rt-1 was revoked: it should be gone; the replaced grant's token still owed.
      expect(c().revocations.map((r: any) => r.refreshToken)).toEqual([replacedToken]);
    } else {
      const rt1 = c().revocations.find((r: any) => r.refreshToken === "rt-login1");
      expect(rt1?.failures).toBe(2);
      // The replaced grant's entry was never tried: no failure recorded on it.
      expect(c().revocations.find((r: any) => r.refreshToken === replacedToken)?.failures).toBe(0);
    }
  });
}

it("a login whose code exchange left before a revocation's retry, answered while that retry is out: the retried one is dropped, the replaced grant's stays owed", async () => {
  const revokes: Array<(v: unknown) => void> = [];
  let exchangeRelease: (() => void) | undefined;
  const clock = new SimulatedClock(Date.UTC(2026, 0, 1));
  const h = harness(clock, {
    revoke: (n) => (n === 1 ? Promise.reject({ error: "server_error", error_description: "down" }) : new Promise((r) => revokes.push(r))),
    exchange: (n) => (n < 3 ? Promise.resolve({ refreshToken: `rt-login${n}` }) : ((sentAt) => new Promise((r) => (exchangeRelease = () => r({ refreshToken: `rt-login${n}`, receivedAt: sentAt }))))(clock.now())),
  });
  const actor = h.start();
  const c = () => actor.getSnapshot().context;
  actor.send(h.authorize("alice")); callback(actor); await flush(); await flush();
  h.clock.advance(1000);
  actor.send(h.authorize("alice")); callback(actor); await flush(); await flush(); // rt-login1 owed, +30 s
  h.clock.advance(29_500);
  actor.send(h.authorize("alice")); callback(actor); await flush();               // code exchange sent (receivedAt = now)
  h.clock.advance(500); await flush();                                             // rt-login1's retry leaves
  exchangeRelease!(); await flush(); await flush();                                // the login answers: rt-login2 grant replaced
  revokes[0]!({ revoked: true }); await flush(); await flush();                    // rt-login1 revoked
  expect(c().revocations.map((r: any) => r.refreshToken)).toEqual(["rt-login2"]);
});

it("a replaced grant's revocation added while another waits on its backoff is tried at once", async () => {
  const h = harness(undefined, {
    revoke: (n) => (n <= 3 ? Promise.reject({ error: "server_error", error_description: "down" }) : Promise.resolve({ revoked: true })),
    exchange: async (n) => ({ refreshToken: `rt-login${n}` }),
  });
  const actor = h.start();
  const c = () => actor.getSnapshot().context;
  actor.send(h.authorize("alice")); callback(actor); await flush(); await flush();
  h.clock.advance(1000);
  actor.send(h.authorize("alice")); callback(actor); await flush(); await flush();   // rt-login1 fails (1)
  h.clock.advance(30_000); await flush(); await flush();                             // fails (2) -> +60 s
  h.clock.advance(60_000); await flush(); await flush();                             // fails (3) -> +120 s
  h.clock.advance(1000);
  actor.send(h.authorize("alice")); callback(actor); await flush(); await flush();   // rt-login2's grant replaced
  h.clock.advance(5_000); await flush(); await flush();
  expect(h.calls.revoked).toContain("rt-login2");
});
