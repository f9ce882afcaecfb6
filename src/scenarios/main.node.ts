// npm run scenario -- <name> | --list | --all
import { SCENARIOS } from "./catalog.ts";
import { play } from "./play.ts";

const args = process.argv.slice(2);
if (args.length === 0 || args.includes("--list") || args.includes("-l")) {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  for (const s of SCENARIOS) console.log(`${s.name.padEnd(width)}  ${s.summary}`);
  if (args.length === 0) console.log("\nUsage: npm run scenario -- <name> [<name> …] | --all | --list");
  process.exit(0);
}
const chosen = args.includes("--all") ? SCENARIOS : args.map((name) => SCENARIOS.find((s) => s.name === name) ?? name);
const unknown = chosen.filter((s) => typeof s === "string");
if (unknown.length) {
  console.error(`Unknown scenario(s): ${unknown.join(", ")}. See npm run scenario -- --list`);
  process.exit(2);
}
let passed = 0;
let failed = 0;
for (const scenario of chosen) {
  if (typeof scenario === "string") continue;
  const result = await play(scenario, (line) => console.log(line));
  result.passed ? passed++ : failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
