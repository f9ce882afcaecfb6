import { createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { authorizationMachine } from "../../src/machines/authorization-machine.ts";
import { TOP_STATES } from "../../src/machines/authorization-types.ts";
import { guardLabel, machineGraph, toMermaid } from "../../src/viewer/machine-graph.ts";
import { and, not } from "xstate";

describe("the diagram is derived from the machine definition", () => {
  const graph = machineGraph(authorizationMachine);

  it("has every top-level state, in the public vocabulary, and the substates inside them", () => {
    expect(graph.nodes.filter((n) => n.parent === null).map((n) => n.path)).toEqual([...TOP_STATES]);
    expect(graph.nodes.find((n) => n.path === "altinnAuthorized.renewing")).toMatchObject({ parent: "altinnAuthorized", key: "renewing" });
    expect(graph.nodes.find((n) => n.path === "idle")?.initial).toBe(true);
  });

  it("labels transitions with their event and guard", () => {
    expect(graph.edges).toContainEqual({ source: "idle", target: "awaitingCode", event: "AUTHORIZE", guard: "redirectUrlRegistered" });
    expect(graph.edges).toContainEqual({ source: "awaitingCode", target: "exchanging", event: "EXCHANGE_CODE", guard: "codeHeld && attemptUser" });
    expect(graph.edges).toContainEqual({ source: "exchanging", target: "idportenAuthorized", event: "done: exchangeCode", guard: null });
    expect(graph.edges).toContainEqual({ source: "*", target: "idle", event: "REVOKE", guard: "boundUser" });
    expect(graph.edges.filter((e) => e.event === "REVOKE")).toHaveLength(1);
  });

  it("adding a state to a copy of the machine adds a node to the graph and to the Mermaid export", () => {
    const config = authorizationMachine.config as { states: Record<string, unknown> };
    const extended = createMachine({ ...(config as object), states: { ...config.states, suspended: { on: { RESUME: "idle" } } } } as never);
    const bigger = machineGraph(extended);
    expect(bigger.nodes.length).toBe(graph.nodes.length + 1);
    expect(bigger.nodes.map((n) => n.path)).toContain("suspended");
    expect(bigger.edges).toContainEqual({ source: "suspended", target: "idle", event: "RESUME", guard: null });
    expect(toMermaid(graph)).not.toContain("suspended");
    expect(toMermaid(bigger)).toContain('state "suspended" as suspended');
    expect(toMermaid(bigger)).toContain("suspended --> idle : RESUME");
  });

  it("exports a Mermaid stateDiagram-v2 with composite states", () => {
    const mermaid = toMermaid(graph);
    expect(mermaid.startsWith("stateDiagram-v2\n  [*] --> idle\n")).toBe(true);
    expect(mermaid).toContain("state altinnAuthorized as altinnAuthorized {");
    expect(mermaid).toContain("idle --> awaitingCode : AUTHORIZE [redirectUrlRegistered]");
  });

  it("writes combined guards in words", () => {
    expect(guardLabel(and(["a", not("b")]))).toBe("a && !b");
    expect(guardLabel(and([]))).toBeNull();
    expect(guardLabel(undefined)).toBeNull();
  });
});
