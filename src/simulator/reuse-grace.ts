// A reuse grace for rotated one-time refresh tokens. Connect2id, the software the new ID-porten
// runs on, can accept a refresh token again for a few seconds after it was rotated, so a client
// that lost the answer (a timeout, a crash before it wrote the new token) can retry. ID-porten does
// not publish its setting; assume none (the default 0 here).
//
// Within the grace a reuse answers a FRESH rotation: new access and refresh tokens, as Connect2id
// re-issues. The answer of the first use is not kept or replayed — nothing more is kept at rest,
// and the retrying client gets working tokens either way. The refresh token the first use issued
// stays valid too. After the grace, a reuse is what it is without one: oidc-provider answers
// invalid_grant and revokes the whole grant (lib/actions/grants/refresh_token.js).
//
// How: oidc-provider refuses a refresh token whose stored payload says `consumed`. Within the grace
// the RefreshToken adapter's find answers the payload without it, so oidc-provider rotates again;
// the store keeps the time of the FIRST consumption, so a reuse never extends the grace.

import type { Adapter } from "./oidc-types.ts";

export function withReuseGrace(adapter: Adapter, graceSeconds: () => number, onReuse: () => void): Adapter {
  return {
    ...adapter,
    find: async (id) => {
      const payload = await adapter.find(id);
      if (!payload?.consumed) return payload;
      const consumedAt = typeof payload.consumedAt === "number" ? payload.consumedAt : payload.consumed * 1000;
      if (Date.now() - consumedAt >= graceSeconds() * 1000) return payload;
      onReuse();
      const { consumed: _consumed, ...unconsumed } = payload;
      return unconsumed;
    },
  };
}
