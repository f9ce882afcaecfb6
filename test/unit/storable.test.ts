// store/postgres/storable.ts: U+0000 and half characters (lone UTF-16 surrogates) become U+FFFD, in
// strings and keys at any depth; an emoji stays; a value with nothing to replace is the same object.
import { describe, expect, it } from "vitest";
import { storable, storableText } from "../../src/store/postgres/storable.ts";

describe("storable", () => {
  it("replaces U+0000 and lone surrogates with U+FFFD, and keeps a proper pair (an emoji)", () => {
    expect(storableText("a\u0000b\ud800c\udc00d😀")).toBe("a\uFFFDb\uFFFDc\uFFFDd😀");
    expect(storableText("\udc00\ud800")).toBe("\uFFFD\uFFFD"); // low then high: no pair
    expect(storableText("Åse 😀")).toBe("Åse 😀");
  });

  it("mends strings and keys at any depth, and leaves numbers, booleans, null and Dates as they are", () => {
    const at = new Date(0);
    expect(storable({ "k\u0000": ["x\ud800", 1, true, null, { at, d: "\udc00" }], ok: "fine" })).toEqual({ "k\uFFFD": ["x\uFFFD", 1, true, null, { at, d: "\uFFFD" }], ok: "fine" });
    expect(storable("\u0000")).toBe("\uFFFD");
  });

  it("gives back the very value when there is nothing to replace (a flow write's usual case: nothing copied)", () => {
    const summary = { legalEntity: "999999999", lastError: { error: "invalid_grant", error_description: "Åse 😀" }, activeStates: ["grant.none"], n: 1 };
    expect(storable(summary)).toBe(summary);
    const entries = [summary, { event: "AUTHORIZE" }];
    expect(storable(entries)).toBe(entries);
  });
});
