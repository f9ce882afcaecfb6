import { describe, expect, it } from "vitest";
import { CALLBACK_URL, flush, harness, top, view } from "./helpers.ts";
import type { AnyActorRef } from "xstate";

type Actor = ReturnType<ReturnType<typeof harness>["start"]>;

function callback(actor: Actor, extra: Record<string, string> = {}) {
  const ctx = actor.getSnapshot().context;
  actor.send({ type: "CALLBACK", at: Date.now(), state: ctx.attempt!.request.state, callbackUrl: CALLBACK_URL, code: "the-code", iss: "https://op", ...extra });
}

async function authorized(h: ReturnType<typeof harness>, user = "alice") {
  const actor = h.start();
  actor.send(h.authorize(user));
  callback(actor);
  await flush();
  await flush();
  return actor;
}

const roundTrip = (actor: AnyActorRef) => JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));

describe("authorization machine: transition table (DESIGN §2)", () => {
  it("idle + AUTHORIZE with a registered redirect URL → awaitingCode with the authorization URL", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    const s = actor.getSnapshot();
    expect(view(s)).toBe("awaitingCode");
    expect(s.context.attempt?.request.url).toBe("https://op/authorize?x");
    expect(s.context.attempt?.user).toBe("alice");
  });

  it("redirect-URL guard: an unregistered redirect URL refuses AUTHORIZE", () => {
    const h = harness();
    const actor = h.start();
    const event = h.authorize("alice", { redirect: { redirectUri: "https://other/cb", registeredRedirectUris: [CALLBACK_URL], callbackUrl: CALLBACK_URL } });
    expect(actor.getSnapshot().can(event)).toBe(false);
    actor.send(event);
    expect(view(actor.getSnapshot())).toBe("idle");
  });

  it("redirect-URL guard: a registered URL that is not this server's callback URL refuses AUTHORIZE", () => {
    const h = harness();
    const actor = h.start();
    const event = h.authorize("alice", { redirect: { redirectUri: CALLBACK_URL, registeredRedirectUris: [CALLBACK_URL], callbackUrl: "https://erp.example/callback/" } });
    actor.send(event);
    expect(view(actor.getSnapshot())).toBe("idle");
  });

  it("a second AUTHORIZE while awaiting the code starts over with new one-time values", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    const first = actor.getSnapshot().context.attempt!.request.state;
    h.clock.advance(1000);
    actor.send(h.authorize("bob"));
    const s = actor.getSnapshot();
    expect(view(s)).toBe("awaitingCode");
    expect(s.context.attempt!.request.state).not.toBe(first);
    expect(s.context.attempt!.user).toBe("bob");
  });

  it("callback with a code (auto) → exchanging → idportenAuthorized → altinnAuthorized, user bound", async () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    callback(actor);
    expect(top(view(actor.getSnapshot()))).toBe("exchanging");
    await flush();
    await flush();
    const s = actor.getSnapshot();
    expect(view(s)).toEqual({ altinnAuthorized: "ready" });
    expect(s.context.boundUser).toBe("alice");
    expect(s.context.authorization?.idporten.grantedScope).toContain("openid");
    expect(s.context.authorization?.altinn?.token).toBe("altinn-1");
    expect(s.context.authorization?.expiresAt).toBe(h.clock.now() + 31536000_000);
  });

  it("a callback whose state is foreign changes nothing", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    actor.send({ type: "CALLBACK", at: 0, state: "someone-else", callbackUrl: CALLBACK_URL, code: "c" });
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
    expect(actor.getSnapshot().context.attempt!.response).toBeNull();
  });

  it("a callback on another URL than the redirect URI used changes nothing", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    callback(actor, { callbackUrl: "https://evil.example/callback" });
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
  });

  it("manual mode: the callback keeps the code, stays awaitingCode; a replay changes nothing; EXCHANGE_CODE by the same user exchanges", async () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { exchangeMode: "manual" }));
    callback(actor);
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
    expect(actor.getSnapshot().context.attempt!.response?.code).toBe("the-code");
    callback(actor, { code: "replayed" });
    expect(actor.getSnapshot().context.attempt!.response?.code).toBe("the-code");
    const bob = { type: "EXCHANGE_CODE", at: 0, user: "bob" } as const;
    expect(actor.getSnapshot().can(bob)).toBe(false);
    actor.send({ type: "EXCHANGE_CODE", at: 0, user: "alice" });
    expect(top(view(actor.getSnapshot()))).toBe("exchanging");
    await flush();
    expect(view(actor.getSnapshot())).toEqual({ idportenAuthorized: "ready" });
    expect(h.calls.altinn).toBe(0);
    actor.send({ type: "EXCHANGE_ALTINN", at: 0, user: "bob" });
    expect(view(actor.getSnapshot())).toEqual({ idportenAuthorized: "ready" });
    actor.send({ type: "EXCHANGE_ALTINN", at: 0, user: "alice" });
    await flush();
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
  });

  it("manual mode: a code held but never exchanged times out with words that say so", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { exchangeMode: "manual" }));
    callback(actor);
    h.clock.advance(600_000);
    expect(view(actor.getSnapshot())).toBe("idle");
    expect(actor.getSnapshot().context.lastError?.error_description).toMatch(/received but not exchanged/);
  });

  it("EXCHANGE_CODE before a code is held is not accepted", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { exchangeMode: "manual" }));
    expect(actor.getSnapshot().can({ type: "EXCHANGE_CODE", at: 0, user: "alice" })).toBe(false);
  });

  it("callback with an error → idle with the provider's error", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    callback(actor, { error: "access_denied", error_description: "User cancelled" });
    const s = actor.getSnapshot();
    expect(view(s)).toBe("idle");
    expect(s.context.lastError).toMatchObject({ error: "access_denied", error_description: "User cancelled" });
  });

  it("login timeout → idle with lastError login_timeout", () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice"));
    h.clock.advance(599_000);
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
    h.clock.advance(1_000);
    expect(view(actor.getSnapshot())).toBe("idle");
    expect(actor.getSnapshot().context.lastError?.error).toBe("login_timeout");
  });

  it("token error → idle with error and error_description verbatim, and a hint", async () => {
    const description = "invalid_grant (correlation id: 5b0e3b8c-8a0e-4bd0-9d57-4f8e1f2a9c11)";
    const h = harness(undefined, { exchange: async () => Promise.reject({ error: "invalid_grant", error_description: description }) });
    const actor = h.start();
    actor.send(h.authorize("alice"));
    callback(actor);
    await flush();
    const s = actor.getSnapshot();
    expect(view(s)).toBe("idle");
    expect(s.context.lastError).toMatchObject({ error: "invalid_grant", error_description: description });
    expect(s.context.lastError?.hint).toMatch(/new code/);
  });

  it("authorization lifetime reached → expired, tokens dropped", async () => {
    const h = harness();
    const actor = await authorized(h);
    h.clock.advance(31536000_000 - 1);
    expect(top(view(actor.getSnapshot()))).toBe("altinnAuthorized");
    h.clock.advance(1);
    expect(view(actor.getSnapshot())).toBe("expired");
    expect(actor.getSnapshot().context.authorization).toBeNull();
  });

  it("refresh answering invalid_grant → expired", async () => {
    const h = harness(undefined, { refresh: async () => Promise.reject({ error: "invalid_grant", error_description: "invalid_grant (correlation id: x)" }) });
    const actor = await authorized(h);
    actor.send({ type: "RENEW", at: 0, user: "alice" });
    await flush();
    expect(view(actor.getSnapshot())).toBe("expired");
  });

  it("renewal rotates the refresh token and fetches a new Altinn token", async () => {
    const h = harness();
    const actor = await authorized(h);
    const before = actor.getSnapshot().context.authorization!;
    actor.send({ type: "RENEW", at: 0, user: "alice" });
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "renewing" });
    await flush();
    await flush();
    const after = actor.getSnapshot().context.authorization!;
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(after.idporten.refreshToken).not.toBe(before.idporten.refreshToken);
    expect(after.altinn!.token).toBe("altinn-2");
    expect(after.expiresAt).toBe(before.expiresAt);
  });

  it("a renewal that fails for another reason keeps the authorization, with lastError", async () => {
    const h = harness(undefined, { refresh: async () => Promise.reject(new Error("connect ECONNREFUSED")) });
    const actor = await authorized(h);
    actor.send({ type: "RENEW", at: 0, user: "alice" });
    await flush();
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(actor.getSnapshot().context.lastError?.error).toBe("temporarily_unavailable");
  });

  it("an Altinn failure leaves the flow idportenAuthorized with the reason", async () => {
    const h = harness(undefined, { altinn: async () => Promise.reject({ error: "altinn_forbidden", error_description: "403 from Altinn" }) });
    const actor = await authorized(h);
    expect(view(actor.getSnapshot())).toEqual({ idportenAuthorized: "ready" });
    expect(actor.getSnapshot().context.lastError?.error).toBe("altinn_forbidden");
  });

  it("REVOKE by the bound user → idle, tokens dropped; by anyone else → refused", async () => {
    const h = harness();
    const actor = await authorized(h);
    expect(actor.getSnapshot().can({ type: "REVOKE", at: 0, user: "bob" })).toBe(false);
    actor.send({ type: "REVOKE", at: 0, user: "alice" });
    expect(view(actor.getSnapshot())).toBe("idle");
    expect(actor.getSnapshot().context.authorization).toBeNull();
    expect(actor.getSnapshot().context.boundUser).toBeNull();
  });

  it("expired + AUTHORIZE → awaitingCode", async () => {
    const h = harness();
    const actor = await authorized(h);
    h.clock.advance(31536000_000);
    actor.send(h.authorize("alice"));
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
  });
});

describe("user binding (DESIGN §2)", () => {
  it("another user may AUTHORIZE; the earlier authorization keeps serving until the new one succeeds", async () => {
    const h = harness();
    const actor = await authorized(h, "alice");
    actor.send(h.authorize("bob"));
    const s = actor.getSnapshot();
    expect(view(s)).toBe("awaitingCode");
    expect(s.context.boundUser).toBe("alice");
    expect(s.context.authorization?.altinn?.token).toBeTruthy();
    callback(actor);
    await flush();
    await flush();
    expect(actor.getSnapshot().context.boundUser).toBe("bob");
  });

  it("a colleague's abandoned login returns the flow to the bound user's authorized state", async () => {
    const h = harness();
    const actor = await authorized(h, "alice");
    actor.send(h.authorize("bob"));
    h.clock.advance(600_000);
    const s = actor.getSnapshot();
    expect(view(s)).toEqual({ altinnAuthorized: "ready" });
    expect(s.context.boundUser).toBe("alice");
    expect(s.context.lastError?.error).toBe("login_timeout");
  });

  it("a colleague's failed exchange returns to the authorized state too", async () => {
    let n = 0;
    const h = harness(undefined, { exchange: async () => (++n === 1 ? {} : Promise.reject({ error: "invalid_grant", error_description: "late" })) });
    const actor = await authorized(h, "alice");
    actor.send(h.authorize("bob"));
    callback(actor);
    await flush();
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(actor.getSnapshot().context.boundUser).toBe("alice");
    expect(actor.getSnapshot().context.lastError?.error).toBe("invalid_grant");
  });

  it("only the bound user may renew", async () => {
    const h = harness();
    const actor = await authorized(h, "alice");
    expect(actor.getSnapshot().can({ type: "RENEW", at: 0, user: "bob" })).toBe(false);
    expect(actor.getSnapshot().can({ type: "RENEW", at: 0, user: "alice" })).toBe(true);
  });
});

describe("keep-alive renewal", () => {
  it("renews before the refresh token's inactivity window closes", async () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(0);
    h.clock.advance(480_000);
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(1);
    h.clock.advance(480_000);
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(2);
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
  });
});

describe("renewal failures (review findings)", () => {
  it("a keep-alive renewal that keeps failing backs off (30 s, then halving the time left) instead of retrying at once, and never past the refresh token's end", async () => {
    const h = harness(undefined, { refresh: async () => Promise.reject(new Error("connect ECONNREFUSED")) });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await flush();
    await flush();
    const settle = async () => {
      for (let i = 0; i < 5; i++) await flush();
    };
    h.clock.advance(480_000);
    await settle();
    expect(h.calls.refresh).toBe(1);
    h.clock.advance(29_000);
    await settle();
    expect(h.calls.refresh).toBe(1);
    h.clock.advance(1_000);
    await settle();
    expect(h.calls.refresh).toBe(2);
    // The next backoff (60 s) would land at 570 s; the refresh token dies at 600 s, so the try comes
    // halfway through what is left: 555 s, then 577.5 s, … — always before 600.
    h.clock.advance(44_000);
    await settle();
    expect(h.calls.refresh).toBe(2);
    h.clock.advance(1_000);
    await settle();
    expect(h.calls.refresh).toBe(3);
    h.clock.advance(22_500);
    await settle();
    expect(h.calls.refresh).toBe(4);
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(actor.getSnapshot().context.authorization?.renewalFailures).toBe(4);
  });

  it("a keep-alive that fails once at 80 % of a short window is retried before the refresh token dies (the soak's finding)", async () => {
    let failing = true;
    const h = harness(undefined, { refresh: async () => (failing ? Promise.reject({ error: "server_error", error_description: "503" }) : {}) });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 30 }));
    callback(actor);
    for (let i = 0; i < 4; i++) await flush();
    const start = h.clock.now();
    h.clock.advance(24_000); // 80 %: the keep-alive fails
    for (let i = 0; i < 5; i++) await flush();
    expect(h.calls.refresh).toBe(1);
    failing = false;
    h.clock.advance(3_000); // halfway to the token's end at 30 s, not the 30 s backoff
    for (let i = 0; i < 5; i++) await flush();
    expect(h.calls.refresh).toBe(2);
    const auth = actor.getSnapshot().context.authorization!;
    expect(auth.idporten.refreshedAt - start).toBeLessThan(30_000);
    expect(auth.renewalFailures).toBe(0);
  });

  it("a colleague's AUTHORIZE during a renewal is taken and does not cancel it: the rotated refresh token lands", async () => {
    let release!: () => void;
    const h = harness(undefined, { refresh: () => new Promise((r) => (release = () => r({}))) });
    const actor = await authorized(h);
    actor.send({ type: "RENEW", at: 0, user: "alice" });
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "renewing" });
    actor.send(h.authorize("bob"));
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
    release();
    await flush();
    await flush();
    expect(actor.getSnapshot().context.authorization?.idporten.refreshToken).toBe("rt-2");
    expect(actor.getSnapshot().value).toMatchObject({ grant: { altinnAuthorized: "ready" }, login: "awaitingCode" });
  });

  it("RENEW is not accepted without a refresh token", async () => {
    const h = harness(undefined, { exchange: async () => ({ refreshToken: null }) });
    const actor = await authorized(h);
    expect(actor.getSnapshot().context.authorization?.idporten.refreshToken).toBeNull();
    expect(actor.getSnapshot().can({ type: "RENEW", at: 0, user: "alice" })).toBe(false);
  });
});

describe("persistence: JSON round-trip restore in every state", () => {
  it("idle, awaitingCode, idportenAuthorized, altinnAuthorized and expired restore to the same state and context", async () => {
    const h = harness();
    const samples: unknown[] = [];
    const actor = h.start();
    samples.push(roundTrip(actor));
    actor.send(h.authorize("alice", {}, { exchangeMode: "manual" }));
    samples.push(roundTrip(actor));
    callback(actor);
    samples.push(roundTrip(actor));
    actor.send({ type: "EXCHANGE_CODE", at: 0, user: "alice" });
    await flush();
    samples.push(roundTrip(actor));
    actor.send({ type: "EXCHANGE_ALTINN", at: 0, user: "alice" });
    await flush();
    samples.push(roundTrip(actor));
    h.clock.advance(31536000_000);
    samples.push(roundTrip(actor));
    const states = samples.map((s) => top(view(s as { value: unknown })));
    expect(states).toEqual(["idle", "awaitingCode", "awaitingCode", "idportenAuthorized", "altinnAuthorized", "expired"]);
    for (const sample of samples) {
      const restored = h.start(sample as never);
      expect(view(restored.getSnapshot())).toEqual(view(sample as { value: unknown }));
      expect(restored.getSnapshot().context).toEqual((sample as { context: unknown }).context);
    }
  });

  it("exchanging restores and re-runs the exchange (which may honestly end in invalid_grant)", async () => {
    let n = 0;
    const h = harness(undefined, { exchange: () => (++n === 1 ? new Promise(() => {}) : Promise.reject({ error: "invalid_grant", error_description: "used" })) });
    const actor = h.start();
    actor.send(h.authorize("alice"));
    callback(actor);
    const persisted = roundTrip(actor);
    expect(top(view(persisted))).toBe("exchanging");
    actor.stop();
    const restored = h.start(persisted);
    await flush();
    expect(view(restored.getSnapshot())).toBe("idle");
    expect(restored.getSnapshot().context.lastError?.error).toBe("invalid_grant");
  });
});

describe("a one-year deadline", () => {
  it("does not fire early on a real timer limit and is not lost across a restore", async () => {
    const h = harness();
    const actor = await authorized(h);
    // Past setTimeout's 24.8-day limit: a naive `after` would have fired at once.
    h.clock.advance(25 * 24 * 3600_000);
    expect(top(view(actor.getSnapshot()))).toBe("altinnAuthorized");
    const persisted = roundTrip(actor);
    actor.stop();
    expect(h.clock.pendingTimers).toBe(0);
    const restored = h.start(persisted);
    h.clock.advance(300 * 24 * 3600_000);
    expect(top(view(restored.getSnapshot()))).toBe("altinnAuthorized");
    h.clock.advance(40 * 24 * 3600_000);
    expect(view(restored.getSnapshot())).toBe("expired");
  });
});

describe("re-authorization never costs the bound user (issue 8)", () => {
  it("keep-alive goes on while a colleague's login is pending, and AUTHORIZE sent again and again never starves it", async () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 30, loginTimeoutSeconds: 30 }));
    callback(actor);
    await flush();
    await flush();
    for (let i = 0; i < 6; i++) {
      actor.send(h.authorize("bob", {}, { keepAliveSeconds: 30, loginTimeoutSeconds: 30 }));
      h.clock.advance(20_000);
      await flush();
      await flush();
      // The refresh token never goes 30 s unused.
      expect(h.clock.now() - actor.getSnapshot().context.authorization!.idporten.refreshedAt).toBeLessThan(30_000);
    }
    // 120 s in steps of 20 s, renewing 24 s after each renewal: at 24 (answered at 40), 64 (80), 104 (120).
    expect(h.calls.refresh).toBe(3);
    const s = actor.getSnapshot();
    expect(view(s)).toBe("awaitingCode");
    expect(s.context.boundUser).toBe("alice");
    expect(s.context.authorization?.idporten.refreshToken).toBe("rt-4");
    h.clock.advance(30_000);
    await flush();
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(actor.getSnapshot().context.attempt).toBeNull();
    expect(actor.getSnapshot().context.boundUser).toBe("alice");
  });

  it("a colleague's login that succeeds while a renewal is in flight waits for it, then replaces the authorization and revokes the old grant", async () => {
    let release!: () => void;
    let refreshes = 0;
    const h = harness(undefined, { refresh: () => (++refreshes === 1 ? new Promise((r) => (release = () => r({}))) : Promise.resolve({})) });
    const actor = await authorized(h, "alice");
    actor.send(h.authorize("bob"));
    actor.send({ type: "RENEW", at: h.clock.now(), user: "alice" });
    callback(actor);
    await flush();
    await flush();
    // Bob's tokens are held; alice's refresh is still in flight, so nothing is replaced yet.
    let s = actor.getSnapshot();
    expect(s.context.replacement?.user).toBe("bob");
    expect(s.context.boundUser).toBe("alice");
    expect(s.value).toMatchObject({ grant: { altinnAuthorized: "renewing" }, login: "inactive" });
    release();
    await flush();
    await flush();
    await flush();
    s = actor.getSnapshot();
    expect(s.context.boundUser).toBe("bob");
    expect(view(s)).toEqual({ altinnAuthorized: "ready" });
    // Alice's rotated refresh token (rt-3: exchange 1, bob's exchange 2, the refresh 3) is the one revoked.
    expect(h.calls.revoked).toEqual(["rt-3"]);
    expect(s.context.revocations).toEqual([]);
  });

  it("REVOKE revokes the refresh token at ID-porten; a failed revocation is retried with backoff and never blocks", async () => {
    let tries = 0;
    const h = harness(undefined, { revoke: async () => (++tries < 3 ? Promise.reject({ error: "temporarily_unavailable", error_description: "down" }) : { revoked: true }) });
    const actor = await authorized(h, "alice");
    actor.send({ type: "REVOKE", at: h.clock.now(), user: "alice" });
    await flush();
    expect(view(actor.getSnapshot())).toBe("idle");
    expect(tries).toBe(1);
    expect(actor.getSnapshot().context.revocations[0]?.lastError?.error).toBe("temporarily_unavailable");
    // A new login is not held up by the revocation owed.
    actor.send(h.authorize("alice"));
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
    h.clock.advance(29_000);
    await flush();
    expect(tries).toBe(1);
    h.clock.advance(1_000);
    await flush();
    expect(tries).toBe(2);
    h.clock.advance(60_000);
    await flush();
    await flush();
    expect(tries).toBe(3);
    expect(h.calls.revoked).toEqual(["rt-1", "rt-1", "rt-1"]);
    expect(actor.getSnapshot().context.revocations).toEqual([]);
  });

  it("a revocation that keeps failing is owed only while its refresh token can still be used: with an inactivity window, until it has passed (not the grant's year)", async () => {
    const tries: number[] = [];
    const h = harness(undefined, { revoke: async () => (tries.push(h.clock.now()), Promise.reject({ error: "temporarily_unavailable", error_description: "down" })) });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await flush();
    await flush();
    const refreshedAt = actor.getSnapshot().context.authorization!.idporten.refreshedAt;
    actor.send({ type: "REVOKE", at: h.clock.now(), user: "alice" });
    await flush();
    expect(actor.getSnapshot().context.revocations[0]).toMatchObject({ until: refreshedAt + 600_000 });
    for (let minute = 0; minute < 12 && actor.getSnapshot().context.revocations.length > 0; minute++) {
      h.clock.advance(60_000);
      await flush();
      await flush();
    }
    expect(actor.getSnapshot().context.revocations).toEqual([]);
    expect(h.clock.now() - refreshedAt).toBeLessThanOrEqual(660_000);
    // Tried by the backoff (0, 30, 90, 210, 450 s), then once more shortly before the token's end
    // rather than given up when the next step (930 s) would pass it: review, the token stayed usable
    // 150 s with nobody trying, and DELETE was let through.
    expect(tries.map((at) => Math.round((at - refreshedAt) / 1000))).toEqual([0, 30, 90, 210, 450, 570]);
    // Without a window it is owed until the grant ends.
    const h2 = harness(undefined, { revoke: async () => Promise.reject({ error: "temporarily_unavailable", error_description: "down" }) });
    const other = await authorized(h2);
    other.send({ type: "REVOKE", at: h2.clock.now(), user: "alice" });
    await flush();
    expect(other.getSnapshot().context.revocations[0]!.until).toBeGreaterThan(h2.clock.now() + 3600_000);
  });

  it("a revocation ID-porten refuses for the client's secret needs a person (attention), until a revocation goes through", async () => {
    let refuse = true;
    const h = harness(undefined, {
      revoke: async () => (refuse ? Promise.reject({ error: "invalid_client", error_description: "client authentication failed" }) : { revoked: true }),
    });
    const actor = await authorized(h, "alice");
    actor.send({ type: "REVOKE", at: h.clock.now(), user: "alice" });
    await flush();
    // Review: REVOKE cleared the attention and the refusal was kept only inside the pending entry —
    // the flow was listed nowhere, and retried hourly for as long as the token lived.
    const attention = actor.getSnapshot().context.attention;
    expect(attention).toMatchObject({ error: "invalid_client", since: h.clock.now() });
    expect(attention!.error_description).toMatch(/refused the revocation of an ended authorization's refresh token \(client authentication failed\)/);
    // The secret is mended: the next try revokes, and the attention is over.
    refuse = false;
    h.clock.advance(30_000);
    await flush();
    await flush();
    expect(actor.getSnapshot().context.revocations).toEqual([]);
    expect(actor.getSnapshot().context.attention).toBeNull();
  });

  it("a revocation refused for the client's secret until its token can no longer be used is given up, and its attention with it", async () => {
    const h = harness(undefined, { revoke: async () => Promise.reject({ error: "invalid_client", error_description: "client authentication failed", hint: "Renew it; the authorization itself is still good." }) });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await flush();
    await flush();
    actor.send({ type: "REVOKE", at: h.clock.now(), user: "alice" });
    await flush();
    const attention = actor.getSnapshot().context.attention!;
    expect(attention.error).toBe("invalid_client");
    // Not "still good": REVOKE ended it.
    expect(attention.hint).toBe("Renew it.");
    for (let minute = 0; minute < 12 && actor.getSnapshot().context.revocations.length > 0; minute++) {
      h.clock.advance(60_000);
      await flush();
      await flush();
    }
    // Review: the attention stayed for good, saying the token "is tried again" when nothing was owed.
    expect(actor.getSnapshot().context.revocations).toEqual([]);
    expect(actor.getSnapshot().context.attention).toBeNull();
  });

  it("REVOKE of a grant while a replaced grant's revocation is owed on a backoff: its own is tried at once, and a refusal for the secret stays a matter for a person", async () => {
    // Review: REVOKE's revocation was queued behind the other's backoff (up to an hour, the grant just
    // revoked usable meanwhile), and REVOKE cleared the attention the other's refusal had set.
    const h = harness(undefined, { revoke: async () => Promise.reject({ error: "invalid_client", error_description: "client authentication failed" }) });
    const actor = h.start();
    actor.send(h.authorize("alice"));
    callback(actor);
    await flush();
    await flush();
    // A second login replaces the first grant, whose revocation ID-porten refuses: attention.
    actor.send(h.authorize("alice"));
    callback(actor);
    await flush();
    await flush();
    expect(h.calls.revoked).toEqual(["rt-1"]);
    // rt-1's next try is on its backoff (30 s here; up to an hour after many refusals).
    expect(actor.getSnapshot().context.revocations[0]!.nextAt - h.clock.now()).toBe(30_000);
    expect(actor.getSnapshot().context.attention?.error).toBe("invalid_client");
    actor.send({ type: "REVOKE", at: h.clock.now(), user: "alice" });
    // rt-1's refusal is still owed: REVOKE leaves the flow needing a person.
    expect(actor.getSnapshot().context.attention?.error).toBe("invalid_client");
    await flush();
    await flush();
    // The grant just revoked is tried now, not after rt-1's backoff.
    expect(h.calls.revoked).toEqual(["rt-1", "rt-2"]);
    expect(actor.getSnapshot().context.revocations.map((r) => r.refreshToken).sort()).toEqual(["rt-1", "rt-2"]);
    expect(actor.getSnapshot().context.attention?.error).toBe("invalid_client");
  });

  it("REVOKE is not taken while a refresh is in flight (its one-time token is spent; the live one is the one to revoke)", async () => {
    let release!: () => void;
    const h = harness(undefined, { refresh: () => new Promise((r) => (release = () => r({}))) });
    const actor = await authorized(h);
    actor.send({ type: "RENEW", at: 0, user: "alice" });
    expect(actor.getSnapshot().can({ type: "REVOKE", at: 0, user: "alice" })).toBe(false);
    release();
    await flush();
    await flush();
    actor.send({ type: "REVOKE", at: h.clock.now(), user: "alice" });
    await flush();
    expect(h.calls.revoked).toEqual(["rt-2"]);
  });
});

describe("a keep-alive for tokens already renewed renews nothing", () => {
  it("a KEEP_ALIVE timed for the old tokens (another copy's timer, an event re-applied after a lost write race) is ignored: one refresh, not two", async () => {
    const h = harness();
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await flush();
    await flush();
    const dueForOld = actor.getSnapshot().context.authorization!.idporten.refreshedAt + 480_000;
    // A renewal a minute in: new tokens, a keep-alive due a minute later than the old one was.
    h.clock.advance(60_000);
    actor.send({ type: "RENEW", at: h.clock.now(), user: "alice" });
    await flush();
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(1);
    actor.send({ type: "KEEP_ALIVE", at: dueForOld });
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(1);
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    // Its own time comes: then it renews.
    actor.send({ type: "KEEP_ALIVE", at: actor.getSnapshot().context.authorization!.idporten.refreshedAt + 480_000 });
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(2);
  });
});

describe("Altinn refusing the person needs a person (review)", () => {
  it("attention for Altinn's 401 outlives an ID-porten renewal; the keep-alive asks Altinn again with the fresh token; an exchange that succeeds clears it", async () => {
    const refused = Object.assign(new Error("401"), { oauth: { error: "altinn_unauthorized", error_description: "Altinn refused the ID-porten token (401)" } });
    let altinnKnowsThePerson = false;
    const h = harness(undefined, { altinn: async (n) => (altinnKnowsThePerson ? { token: `altinn-${n}`, expiresAt: Date.now() + 7200_000 } : Promise.reject(refused)) });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    const state = actor.getSnapshot().context.attempt!.request.state;
    actor.send({ type: "CALLBACK", at: h.at(), state, callbackUrl: CALLBACK_URL, code: "c", iss: "https://op" } as never);
    for (let i = 0; i < 6; i++) await flush();
    expect(view(actor.getSnapshot())).toEqual({ idportenAuthorized: "ready" });
    const attention = actor.getSnapshot().context.attention!;
    expect(attention.error).toBe("altinn_unauthorized");
    expect(attention.since).toBe(h.at()); // when the login's tokens came, not 1970
    // A keep-alive from a stale timer renews nothing: Altinn's attention is no reason to (a refused client secret is).
    actor.send({ type: "KEEP_ALIVE", at: h.at() });
    for (let i = 0; i < 3; i++) await flush();
    expect(h.calls.refresh).toBe(0);

    h.clock.advance(480_000); // the keep-alive: ID-porten renews; Altinn still refuses
    for (let i = 0; i < 6; i++) await flush();
    expect(h.calls.refresh).toBe(1);
    expect(h.calls.altinn).toBe(2);
    expect(view(actor.getSnapshot())).toEqual({ idportenAuthorized: "ready" });
    expect(actor.getSnapshot().context.attention).toMatchObject({ error: "altinn_unauthorized", since: attention.since });
    expect(actor.getSnapshot().context.lastError?.error).toBe("altinn_unauthorized");

    // Refused twice: the next keep-alive renews but leaves Altinn be (16 minutes since it was asked, not 8).
    altinnKnowsThePerson = true; // registered at Altinn meanwhile
    h.clock.advance(480_000);
    for (let i = 0; i < 6; i++) await flush();
    expect(h.calls.refresh).toBe(2);
    expect(h.calls.altinn).toBe(2);
    expect(view(actor.getSnapshot())).toEqual({ idportenAuthorized: "ready" });
    h.clock.advance(480_000);
    for (let i = 0; i < 6; i++) await flush();
    expect(h.calls.altinn).toBe(3);
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(actor.getSnapshot().context).toMatchObject({ attention: null, lastError: null });
  });
});

describe("renewal failures that need words (issue 8)", () => {
  it("a renewal whose answer was lost (timeout) is retried at once, once; then it backs off", async () => {
    const lost = Object.assign(new Error("timeout"), { oauth: { error: "temporarily_unavailable", error_description: "no answer" }, lost: true });
    const h = harness(undefined, { refresh: () => Promise.reject(lost) });
    const actor = await authorized(h);
    actor.send({ type: "RENEW", at: h.clock.now(), user: "alice" });
    await flush();
    await flush();
    await flush();
    expect(h.calls.refresh).toBe(2);
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
    expect(actor.getSnapshot().context.authorization?.renewalFailures).toBe(1);
  });

  it("a refresh refused with invalid_grant ends the authorization with words that say why", async () => {
    const h = harness(undefined, { refresh: () => Promise.reject({ error: "invalid_grant", error_description: "invalid_grant (correlation id: x)" }) });
    const actor = await authorized(h);
    actor.send({ type: "RENEW", at: h.clock.now(), user: "alice" });
    await flush();
    await flush();
    const s = actor.getSnapshot();
    expect(view(s)).toBe("expired");
    expect(s.context.lastError?.error).toBe("authorization_expired");
    expect(s.context.lastError?.error_description).toContain("invalid_grant (correlation id: x)");
    expect(s.context.lastError?.error_description).toContain("answer was lost");
  });

  it("invalid_client on refresh marks the flow as needing a person, keeps the authorization, backs off, and clears once a renewal works", async () => {
    let refused = true;
    const h = harness(undefined, {
      refresh: () => (refused ? Promise.reject({ error: "invalid_client", error_description: "client authentication failed" }) : Promise.resolve({})),
    });
    const actor = h.start();
    actor.send(h.authorize("alice", {}, { keepAliveSeconds: 600 }));
    callback(actor);
    await flush();
    await flush();
    h.clock.advance(480_000);
    await flush();
    await flush();
    let s = actor.getSnapshot();
    expect(view(s)).toEqual({ altinnAuthorized: "ready" });
    expect(s.context.attention?.error).toBe("invalid_client");
    expect(s.context.attention?.hint).toMatch(/IDPORTEN_CLIENT_SECRET/);
    expect(s.context.authorization).not.toBeNull();
    refused = false;
    actor.send({ type: "KEEP_ALIVE", at: h.clock.now() });
    await flush();
    await flush();
    await flush();
    s = actor.getSnapshot();
    expect(s.context.attention).toBeNull();
    expect(s.context.authorization?.renewalFailures).toBe(0);
  });
});

describe("the login is bound to the browser that opened its link (issue 9)", () => {
  const withLink = (h: ReturnType<typeof harness>, user: string) => h.authorize(user, { login: { loginId: `link-${user}`, url: `https://erp.example/login/link-${user}` } });

  it("a callback without the binding of the browser that opened the link changes nothing, code or error; with it, the login completes", async () => {
    const h = harness();
    const actor = h.start();
    actor.send(withLink(h, "alice"));
    const state = actor.getSnapshot().context.attempt!.request.state;
    const cb = (extra: Record<string, unknown>) => ({ type: "CALLBACK" as const, at: h.at(), state, callbackUrl: CALLBACK_URL, ...extra });
    // Before the link is opened, and with a forged binding, nothing is taken.
    expect(actor.getSnapshot().can(cb({ code: "c", browserBinding: null }))).toBe(false);
    actor.send({ type: "LOGIN_OPENED", at: h.at(), loginId: "link-alice", browserBinding: "hash-of-alices-cookie" });
    // The link is single-use: a second browser cannot take it over.
    expect(actor.getSnapshot().can({ type: "LOGIN_OPENED", at: h.at(), loginId: "link-alice", browserBinding: "other" })).toBe(false);
    expect(actor.getSnapshot().can(cb({ error: "access_denied", browserBinding: "hash-of-mallorys-cookie" }))).toBe(false);
    expect(actor.getSnapshot().can(cb({ code: "c" }))).toBe(false);
    actor.send(cb({ error: "access_denied", browserBinding: "hash-of-mallorys-cookie" }));
    expect(view(actor.getSnapshot())).toBe("awaitingCode");
    actor.send(cb({ code: "c", browserBinding: "hash-of-alices-cookie" }));
    await flush();
    await flush();
    expect(view(actor.getSnapshot())).toEqual({ altinnAuthorized: "ready" });
  });

  it("a request ID-porten refused at the push (invalid_scope) ends the login with its words; the authorization beside it is untouched", async () => {
    const h = harness();
    const actor = await authorized(h, "alice");
    actor.send(withLink(h, "bob"));
    actor.send({ type: "LOGIN_REFUSED", at: h.at(), loginId: "link-bob", error: { error: "invalid_scope", error_description: "unregistered scope" } });
    const s = actor.getSnapshot();
    expect(view(s)).toEqual({ altinnAuthorized: "ready" });
    expect(s.context.lastError?.error).toBe("invalid_scope");
    expect(s.context.lastLogin).toMatchObject({ user: "bob", succeeded: false });
    expect(s.context.boundUser).toBe("alice");
  });

  it("a link id that is not this login's is not taken", () => {
    const h = harness();
    const actor = h.start();
    actor.send(withLink(h, "alice"));
    expect(actor.getSnapshot().can({ type: "LOGIN_OPENED", at: h.at(), loginId: "link-bob", browserBinding: "x" })).toBe(false);
  });
});
