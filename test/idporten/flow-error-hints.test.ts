// What the flow records for the outbound clients' errors: plain JSON, the peer's words verbatim,
// and a hint a person can act on for the errors that need one.
import { describe, expect, it } from "vitest";
import { UpstreamError, isLost } from "../../src/idporten/upstream-error.ts";
import { toFlowError } from "../../src/machines/flow-error.ts";

describe("toFlowError for the outbound clients", () => {
  it("invalid_client and unauthorized_client keep their code and say to renew the secret or key, not to log in again", () => {
    for (const error of ["invalid_client", "unauthorized_client"]) {
      const recorded = toFlowError(new UpstreamError({ error, error_description: `${error} (correlation id: 1)` }));
      expect(recorded).toMatchObject({ error, error_description: `${error} (correlation id: 1)` });
      expect(recorded.hint).toMatch(/IDPORTEN_CLIENT_SECRET \(or IDPORTEN_CLIENT_KEY\)/);
      expect(recorded.hint).toMatch(/authorization itself is still good/);
    }
  });

  it("insufficient_acr, invalid_scope and altinn_unauthorized have hints of their own", () => {
    expect(toFlowError({ error: "insufficient_acr", error_description: "x" }).hint).toMatch(/lower security level/);
    expect(toFlowError({ error: "invalid_scope", error_description: "x" }).hint).toMatch(/IDPORTEN_SCOPE/);
    expect(toFlowError({ error: "altinn_unauthorized", error_description: "x" }).hint).toMatch(/Tenor/);
  });

  it("is plain JSON with exactly error, error_description and hint", () => {
    const recorded = toFlowError(new UpstreamError({ error: "temporarily_unavailable", error_description: "no answer" }, new Error("cause"), { lost: true }));
    expect(JSON.parse(JSON.stringify(recorded))).toEqual(recorded);
    expect(Object.keys(recorded).sort()).toEqual(["error", "error_description", "hint"]);
  });

  it("isLost reads the flag from what was thrown", () => {
    expect(isLost(new UpstreamError({ error: "temporarily_unavailable", error_description: "x" }, undefined, { lost: true }))).toBe(true);
    expect(isLost(new UpstreamError({ error: "invalid_grant", error_description: "x" }))).toBe(false);
    expect(isLost(new Error("other"))).toBe(false);
  });
});
