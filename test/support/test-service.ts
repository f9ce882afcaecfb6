export * from "../../src/scenarios/harness.ts";
