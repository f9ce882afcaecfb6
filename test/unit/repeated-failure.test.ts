// The deadline tick's failures while the database is away: named when they start, once a minute
// while they last, and when they end — not once a second.
import { expect, it } from "vitest";
import { RepeatedFailure } from "../../src/engine/repeated-failure.ts";

it("an outage of two and a half minutes, failing every second: four lines, in words, without the database's address", () => {
  let now = 0;
  const lines: string[] = [];
  const failures = new RepeatedFailure("deadline tick", "every 1 s", (line) => lines.push(line), { now: () => now });
  const lost = Object.assign(new Error("write CONNECTION_CLOSED 10.0.0.5:5432"), { code: "CONNECTION_CLOSED" });
  failures.succeeded(); // nothing was failing: nothing to say
  for (; now <= 150_000; now += 1000) failures.failed(lost);
  failures.succeeded();
  expect(lines).toEqual([
    "deadline tick failed: the connection was closed; tried again every 1 s, named here once a minute while it lasts",
    "deadline tick still failing: 61 attempts in 60 s; the last: the connection was closed",
    "deadline tick still failing: 121 attempts in 120 s; the last: the connection was closed",
    "deadline tick works again, after 151 failed attempts in 151 s",
  ]);
  expect(lines.join("\n")).not.toContain("10.0.0.5");
  // The next outage is named anew; another error in plain words.
  failures.failed(new Error("disk on fire"));
  expect(lines.at(-1)).toBe("deadline tick failed: disk on fire; tried again every 1 s, named here once a minute while it lasts");
});
