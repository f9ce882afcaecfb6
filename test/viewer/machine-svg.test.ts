// The SVG diagram and the Stately export are derived from the machine: change the machine and
// they change; every transition is in them with its event and guard.
import { createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { authorizationMachine } from "../../src/machines/authorization-machine.ts";
import { TOP_STATES } from "../../src/machines/authorization-types.ts";
import { definitionJson, machineGraph, toMermaid } from "../../src/viewer/machine-graph.ts";
import { toSvg, toSvgDocument } from "../../src/viewer/machine-svg.ts";

const stateGroups = (svg: string) => [...svg.matchAll(/<g class="state[^"]*" data-state="([^"]*)"/g)].map((m) => m[1]);
const edgeGroups = (svg: string) =>
  [...svg.matchAll(/<g class="edge" data-source="([^"]*)" data-target="([^"]*)" data-event="([^"]*)"><title>([^<]*)<\/title>/g)].map((m) => ({
    source: m[1],
    target: m[2] || null,
    event: m[3],
    title: m[4],
  }));
const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");

describe("the SVG diagram", () => {
  const graph = machineGraph(authorizationMachine);
  const svg = toSvg(graph);

  it("has one group per state (substates nested in their parent) and one for 'from any state'", () => {
    expect(stateGroups(svg)).toEqual([...graph.nodes.map((n) => n.path).sort(byOrderIn(graph.nodes.map((n) => n.path))), "*"]);
    for (const top of TOP_STATES) expect(svg).toContain(`data-state="${top}" role="group" aria-label="state ${top}"`);
    // altinnAuthorized's group contains its substates' groups
    const start = svg.indexOf('data-state="altinnAuthorized"');
    const end = svg.indexOf('data-state="expired"');
    expect(svg.slice(start, end)).toContain('data-state="altinnAuthorized.renewing"');
  });

  it("has every transition of the graph, labelled with its event and guard, with an arrow when it goes somewhere", () => {
    const edges = edgeGroups(svg);
    expect(edges).toHaveLength(graph.edges.length);
    const drawn = edges.map((d) => ({ ...d, title: unescape(d.title) }));
    for (const e of graph.edges) {
      expect(drawn).toContainEqual({ source: e.source, target: e.target, event: e.event, title: `${e.event}${e.guard ? ` [${e.guard}]` : ""} → ${e.target ?? "(stays)"}` });
    }
    const arrows = svg.match(/<path class="arrow"/g) ?? [];
    expect(arrows).toHaveLength(graph.edges.filter((e) => e.target !== null).length);
    // a long combined guard is wrapped onto lines of its own rather than widening the box
    expect(svg).toContain("[callbackForThisAttempt &amp;&amp; callbackHasError</text>");
    expect(svg).toContain("  &amp;&amp; hasValidAuthorization &amp;&amp; altinnHeld]</text>");
  });

  it("marks the initial states and escapes what it writes", () => {
    expect(svg).toMatch(/<g class="state initial" data-state="idle"/);
    expect(svg).toMatch(/<g class="state initial" data-state="altinnAuthorized\.ready"/);
    const odd = toSvg({ id: "a<b", nodes: [{ path: "s", key: "s", parent: null, initial: true, depth: 1 }], edges: [{ source: "s", target: "s", event: 'E&"<x>', guard: "g<1" }] });
    expect(odd).toContain("E&amp;&quot;&lt;x&gt;");
    expect(odd).not.toContain("<x>");
    expect(odd).toContain('data-machine="a&lt;b"');
  });

  it("adding a state to a copy of the machine adds it to the diagram, with its transitions", () => {
    const config = authorizationMachine.config as { states: Record<string, unknown> };
    const extended = createMachine({ ...(config as object), states: { ...config.states, suspended: { on: { RESUME: "idle" } } } } as never);
    const bigger = toSvg(machineGraph(extended));
    expect(stateGroups(svg)).not.toContain("suspended");
    expect(stateGroups(bigger)).toEqual([...stateGroups(svg).slice(0, -1), "suspended", "*"]);
    expect(edgeGroups(bigger)).toContainEqual(expect.objectContaining({ source: "suspended", target: "idle", event: "RESUME" }));
    expect(edgeGroups(bigger)).toHaveLength(edgeGroups(svg).length + 1);
  });

  it("a standalone document carries its own stylesheet", () => {
    const doc = toSvgDocument(graph);
    expect(doc).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*><style>/);
    expect(doc).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // nothing fetched from anywhere
  });
});

describe("the Stately Studio export", () => {
  const json = definitionJson(authorizationMachine) as Record<string, any>;

  it("is plain JSON with every guard kept, by name (combined guards too)", () => {
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.id).toBe("authorization");
    expect(Object.keys(json.states)).toEqual([...TOP_STATES]);
    expect(json.states.awaitingCode.on.EXCHANGE_CODE[0].guard).toBe("codeHeld && attemptUser");
    expect(json.states.awaitingCode.on.CALLBACK.map((t: { guard?: string }) => t.guard)).toEqual([
      "callbackForThisAttempt && callbackHasError && hasValidAuthorization && altinnHeld",
      "callbackForThisAttempt && callbackHasError && hasValidAuthorization",
      "callbackForThisAttempt && callbackHasError",
      "callbackForThisAttempt && callbackHasCode && autoExchange",
      "callbackForThisAttempt && callbackHasCode && !autoExchange",
    ]);
    expect(json.states.idle.on.AUTHORIZE[0]).toMatchObject({ guard: "redirectUrlRegistered", actions: ["startAttempt"], target: ["#authorization.awaitingCode"] });
    expect(json.states.exchanging.invoke[0]).toMatchObject({ id: "exchangeCode", src: "exchangeCode" });
  });

  it("has a guard wherever the diagram shows one", () => {
    const guarded = machineGraph(authorizationMachine).edges.filter((e) => e.guard && e.source !== "*" && !e.event.includes(":") && e.event !== "always");
    for (const e of guarded) {
      const node = e.source.split(".").reduce((n: any, key: string) => n.states[key], json);
      const transitions = node.on[e.event] as Array<{ guard?: string }>;
      expect(transitions.map((t) => t.guard), `${e.source} ${e.event}`).toContain(e.guard);
    }
  });

  it("and Mermaid comes from the same walk", () => {
    const mermaid = toMermaid(machineGraph(authorizationMachine));
    expect(mermaid).toContain("awaitingCode --> exchanging : EXCHANGE_CODE [codeHeld && attemptUser]");
    expect(mermaid).toContain("altinnAuthorized_renewing --> expired : error#58; refreshIdporten [refusedGrant]");
  });
});

function byOrderIn(order: string[]) {
  return (a: string, b: string) => order.indexOf(a) - order.indexOf(b);
}
