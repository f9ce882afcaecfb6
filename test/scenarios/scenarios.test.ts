// Every scenario of `npm run scenario` is also a test: it must end in PASS.
import { describe, expect, it } from "vitest";
import { SCENARIOS } from "../../src/scenarios/catalog.ts";
import { play } from "../../src/scenarios/play.ts";

describe("failure scenarios (npm run scenario)", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${scenario.summary}`, async () => {
      const lines: string[] = [];
      const result = await play(scenario, (line) => lines.push(line));
      expect(result.failure ?? "", lines.join("\n")).toBe("");
      expect(result.passed).toBe(true);
      expect(lines.at(-1)).toBe(`PASS ${scenario.name}`);
    }, 30_000);
  }
});
