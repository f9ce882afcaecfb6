import { describe, expect, it } from "vitest";
import { decodeJwtPayload } from "../../src/idporten/jwt.ts";

const b64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

describe("decodeJwtPayload", () => {
  it("reads the claims of a signed token, UTF-8 and base64url's - and _ included, at every padding length", () => {
    const payloads: string[] = [];
    for (const filler of ["", "a", "ab", "abc"]) {
      // "ÿÿÿ", "???" and ">>>" make bytes that encode to - and _ in base64url.
      const claims = { pid: "01817010055", name: `Ærø ÿÿÿ ??? >>> ~~ ${filler}`, exp: 1_800_000_000, consumer: { ID: "0192:999999999" } };
      const jwt = `${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify(claims))}.c2ln`;
      payloads.push(jwt.split(".")[1]!);
      expect(decodeJwtPayload(jwt)).toEqual(claims);
    }
    expect(payloads.join("")).toMatch(/-/);
    expect(payloads.join("")).toMatch(/_/);
    expect(new Set(payloads.map((p) => p.length % 4)).size).toBeGreaterThan(1);
  });

  it("answers null for what is not a token with a JSON object for claims", () => {
    for (const text of ["", "opaque-token", "a..c", ".x.", `a.${b64url("[1,2]")}.c`, `a.${b64url("42")}.c`, "a.%%%.c", `a.${b64url("{not json")}.c`]) {
      expect(decodeJwtPayload(text), text).toBeNull();
    }
  });

  it("reads the second part also when there is no third (as before)", () => {
    expect(decodeJwtPayload(`a.${b64url('{"exp":5}')}`)).toEqual({ exp: 5 });
  });
});
