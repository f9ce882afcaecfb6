// The SVG diagram and the Stately export are derived from the machine: change the machine and
// they change; every transition is in them with its event and guard.
import { createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { authorizationMachine } from "../../src/machines/authorization-machine.ts";
import { REGIONS, TOP_STATES } from "../../src/machines/authorization-types.ts";
import { definitionJson, machineGraph, toMermaid, type GraphEdge } from "../../src/viewer/machine-graph.ts";
import { toSvg, toSvgDocument } from "../../src/viewer/machine-svg.ts";

const stateGroups = (svg: string) => [...svg.matchAll(/<g class="state[^"]*" data-state="([^"]*)"/g)].map((m) => m[1]);
const edgeGroups = (svg: string) =>
  [...svg.matchAll(/<g class="edge" data-source="([^"]*)" data-target="([^"]*)" data-event="([^"]*)"><title>([^<]*)<\/title>/g)].map((m) => ({
    source: m[1],
    targets: m[2] ? m[2].split(" ") : [],
    event: m[3],
    title: m[4],
  }));
const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
/** The rectangle drawn for a state: <rect> right after its group's opening tag (and initial marker). */
const rectOf = (svg: string, path: string) => {
  const m = new RegExp(`data-state="${path.replace(/\./g, "\\.")}"[^>]*>(?:<circle[^>]*/><path[^>]*/>)?<rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)"`).exec(svg);
  if (!m) throw new Error(`no box for ${path}`);
  const [x, y, w, h] = m.slice(1).map(Number) as [number, number, number, number];
  return { x, y, right: x + w, bottom: y + h };
};
const REVOKE_GUARD = "boundUser && !in(grant.idportenAuthorized.renewing) && !in(grant.altinnAuthorized.renewing) && !in(login.exchanging)";

describe("the SVG diagram", () => {
  const graph = machineGraph(authorizationMachine);
  const svg = toSvg(graph);

  it("has the machine's frame, one group per state (substates nested in their parent), and a labelled box per region", () => {
    expect(stateGroups(svg)).toEqual(["*", ...graph.nodes.map((n) => n.path)]);
    expect(svg).toMatch(/<g class="state root[^"]*" data-state="\*" role="group" aria-label="machine authorization, parallel: its 3 regions are active at once">/);
    for (const region of REGIONS) expect(svg).toMatch(new RegExp(`<g class="state region compound" data-state="${region}" role="group" aria-label="region ${region}: [^"]+">`));
    const label = (name: string, caption: string) => new RegExp(`<text class="name" x="[\\d.]+" y="[\\d.]+">${name}<tspan class="caption"> — ${caption}</tspan></text>`);
    expect(svg).toMatch(label("grant", "the authorization"));
    expect(svg).toMatch(label("login", "a login in progress"));
    expect(svg).toMatch(label("revocation", "owed to ID-porten"));
    for (const top of TOP_STATES) expect(svg).toMatch(new RegExp(`data-state="(grant|login)\\.${top}" role="group" aria-label="state (grant|login)\\.${top}"`));
    // altinnAuthorized's group contains its substates' groups; the grant region holds it
    const start = svg.indexOf('data-state="grant.altinnAuthorized"');
    const end = svg.indexOf('data-state="grant.expired"');
    expect(svg.slice(start, end)).toContain('data-state="grant.altinnAuthorized.renewing"');
    expect(svg.slice(svg.indexOf('data-state="grant"'), svg.indexOf('data-state="login"'))).toContain('data-state="grant.altinnAuthorized.renewing"');
  });

  it("lays the regions out as separate boxes inside the frame: none overlaps another, each holds its states", () => {
    const frame = rectOf(svg, "\\*");
    const boxes = REGIONS.map((r) => rectOf(svg, r));
    for (const [i, box] of boxes.entries()) {
      expect(box.x).toBeGreaterThan(frame.x);
      expect(box.right).toBeLessThan(frame.right);
      expect(box.bottom).toBeLessThan(frame.bottom);
      if (i > 0) expect(box.y, `${REGIONS[i]} starts below ${REGIONS[i - 1]}`).toBeGreaterThan(boxes[i - 1]!.bottom);
      for (const node of graph.nodes.filter((n) => n.path.startsWith(`${REGIONS[i]}.`))) {
        const inner = rectOf(svg, node.path);
        expect(inner.x, node.path).toBeGreaterThan(box.x);
        expect(inner.y, node.path).toBeGreaterThan(box.y);
        expect(inner.bottom, node.path).toBeLessThan(box.bottom);
      }
    }
    // Sibling states never overlap.
    for (const parent of [null, ...graph.nodes.map((n) => n.path)]) {
      const siblings = graph.nodes.filter((n) => n.parent === parent).map((n) => rectOf(svg, n.path));
      for (let i = 1; i < siblings.length; i++) expect(siblings[i]!.y).toBeGreaterThan(siblings[i - 1]!.bottom);
    }
  });

  it("has every transition of the graph, labelled with its event and guard, with an arrow to each target", () => {
    const drawn = edgeGroups(svg).map((d) => ({ ...d, title: unescape(d.title) }));
    // One row per transition: the edges of a multi-target transition share one.
    const transitions = new Set(graph.edges.map((e) => `${e.source}|${e.event}|${e.guard}|${e.targets?.join(",") ?? e.target}`));
    expect(drawn).toHaveLength(transitions.size);
    for (const e of graph.edges) {
      const targets = e.targets ?? [e.target];
      expect(drawn).toContainEqual({
        source: e.source,
        targets: targets.filter((t): t is string => t !== null),
        event: e.event,
        title: `${e.event}${e.guard ? ` [${e.guard}]` : ""} → ${targets.map((t) => t ?? "(stays)").join(", ")}`,
      });
    }
    const arrows = svg.match(/<path class="arrow"/g) ?? [];
    expect(arrows).toHaveLength(graph.edges.filter((e) => e.target !== null).length);
    // a long combined guard is wrapped onto lines of its own rather than widening the box
    expect(svg).toContain("[callbackForThisAttempt &amp;&amp; callbackHasCode</text>");
    expect(svg).toContain("  &amp;&amp; !autoExchange]</text>");
  });

  it("draws the root REVOKE as one row in the machine's frame, with both targets, two arrows and its guard readable", () => {
    const row = /<g class="edge" data-source="\*" data-target="grant\.idle login\.inactive" data-event="REVOKE">(.*?)<\/g>/.exec(svg);
    expect(row).not.toBeNull();
    expect(unescape(row![1]!)).toContain(`<title>REVOKE [${REVOKE_GUARD}] → grant.idle, login.inactive</title>`);
    expect(row![1]).toContain('<tspan class="to"> → grant.idle + login.inactive</tspan>');
    expect(row![1]!.match(/<path class="arrow"/g)).toHaveLength(2);
    const guardLines = [...row![1]!.matchAll(/<text class="guard"[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]!));
    expect(guardLines.join(" ").replace(/\s+/g, " ")).toBe(`[${REVOKE_GUARD}]`.replace(/\s+/g, " "));
    expect(svg).toContain('<text class="note"');
    expect(svg).toContain(">in any state:</text>");
  });

  it("shows the eventless transitions", () => {
    const always = edgeGroups(svg).filter((e) => e.event === "always");
    expect(always).toContainEqual(expect.objectContaining({ source: "grant.idle", targets: ["grant.idportenAuthorized"] }));
    expect(always).toContainEqual(expect.objectContaining({ source: "grant.altinnAuthorized.ready", targets: ["grant.idportenAuthorized"] }));
    expect(always).toContainEqual(expect.objectContaining({ source: "revocation.inactive", targets: ["revocation.waiting"] }));
    expect(svg).toContain('<tspan class="guard"> [replacementHeld]</tspan>');
    expect(svg).toContain('<tspan class="guard"> [revocationDue]</tspan>');
  });

  it("marks an initial state in every region and escapes what it writes", () => {
    for (const initial of ["grant.idle", "grant.idportenAuthorized.deciding", "grant.altinnAuthorized.ready", "login.inactive", "revocation.inactive"]) {
      expect(svg).toMatch(new RegExp(`<g class="state[^"]* initial[^"]*" data-state="${initial.replace(/\./g, "\\.")}"`));
    }
    // regions themselves are all entered at once: none is "initial"
    for (const region of REGIONS) expect(svg).not.toMatch(new RegExp(`<g class="state[^"]* initial[^"]*" data-state="${region}"`));
    const odd = toSvg({
      id: "a<b",
      type: "compound",
      nodes: [{ path: "s", key: "s", parent: null, initial: true, depth: 1, type: "atomic", region: false, description: null }],
      edges: [{ source: "s", target: "s", event: 'E&"<x>', guard: "g<1" }],
    });
    expect(odd).toContain("E&amp;&quot;&lt;x&gt;");
    expect(odd).not.toContain("<x>");
    expect(odd).toContain('data-machine="a&lt;b"');
  });

  it("adding a state to a copy of the machine adds it to the diagram, with its transitions", () => {
    const config = authorizationMachine.config as { states: Record<string, { states: Record<string, unknown> }> };
    const revocation = config.states.revocation!;
    const extended = createMachine({
      ...(config as object),
      states: { ...config.states, revocation: { ...revocation, states: { ...revocation.states, suspended: { on: { RESUME: "inactive" } } } } },
    } as never);
    const bigger = toSvg(machineGraph(extended));
    expect(stateGroups(svg)).not.toContain("revocation.suspended");
    expect(stateGroups(bigger)).toEqual([...stateGroups(svg), "revocation.suspended"]);
    expect(edgeGroups(bigger)).toContainEqual(expect.objectContaining({ source: "revocation.suspended", targets: ["revocation.inactive"], event: "RESUME" }));
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
  const login = json.states.login.states;
  const grant = json.states.grant.states;

  it("is plain JSON with every guard kept, by name (combined and stateIn guards too)", () => {
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.id).toBe("authorization");
    expect(json.type).toBe("parallel");
    expect(Object.keys(json.states)).toEqual([...REGIONS]);
    expect(login.awaitingCode.on.EXCHANGE_CODE[0].guard).toBe("codeHeld && attemptUser");
    expect(login.awaitingCode.on.CALLBACK.map((t: { guard?: string }) => t.guard)).toEqual([
      "callbackForThisAttempt && callbackHasError",
      "callbackForThisAttempt && callbackHasCode && autoExchange",
      "callbackForThisAttempt && callbackHasCode && !autoExchange",
    ]);
    expect(login.inactive.on.AUTHORIZE[0]).toMatchObject({ guard: "redirectUrlRegistered", actions: ["startAttempt"], target: ["#authorization.login.awaitingCode"] });
    expect(login.exchanging.invoke[0]).toMatchObject({ id: "exchangeCode", src: "exchangeCode" });
    expect(json.on.REVOKE[0]).toMatchObject({ guard: REVOKE_GUARD, actions: ["revoke"], target: ["#authorization.grant.idle", "#authorization.login.inactive"] });
  });

  it("keeps the eventless transitions that xstate's own definition leaves out, guards by name", () => {
    expect(grant.idle.always).toEqual([
      expect.objectContaining({ target: ["#authorization.grant.idportenAuthorized"], guard: "replacementHeld", actions: ["bindReplacement", "requeueRevocations"], reenter: true }),
    ]);
    expect(grant.altinnAuthorized.states.ready.always[0]).toMatchObject({ guard: "replacementHeld", target: ["#authorization.grant.idportenAuthorized"] });
    expect(grant.idportenAuthorized.states.deciding.always.map((t: { guard?: string }) => t.guard ?? null)).toEqual(["replacementHeld", "autoAltinn && altinnMayBeAsked", null]);
    expect(json.states.revocation.states.inactive.always[0]).toMatchObject({ guard: "revocationDue", target: ["#authorization.revocation.waiting"] });
    expect(json.states.revocation.states.waiting.always[0]).toMatchObject({ guard: "!revocationDue", target: ["#authorization.revocation.inactive"] });
  });

  it("has a guard wherever the diagram shows one (eventless transitions too)", () => {
    const guarded = machineGraph(authorizationMachine).edges.filter((e: GraphEdge) => e.guard && !e.event.includes(":"));
    expect(guarded.length).toBeGreaterThan(15);
    for (const e of guarded) {
      const node = e.source === "*" ? json : e.source.split(".").reduce((n: any, key: string) => n.states[key], json);
      const transitions = (e.event === "always" ? node.always : node.on[e.event]) as Array<{ guard?: string }>;
      expect(transitions.map((t) => t.guard), `${e.source} ${e.event}`).toContain(e.guard);
    }
  });

  it("and Mermaid comes from the same walk", () => {
    const mermaid = toMermaid(machineGraph(authorizationMachine));
    expect(mermaid).toContain("login_awaitingCode --> login_exchanging : EXCHANGE_CODE [codeHeld && attemptUser]");
    expect(mermaid).toContain("grant_altinnAuthorized_renewing --> grant_expired : error · refreshIdporten [refusedGrant]");
  });
});
