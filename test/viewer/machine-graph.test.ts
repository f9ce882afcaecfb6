import { and, createMachine, not, stateIn } from "xstate";
import { describe, expect, it } from "vitest";
import { authorizationMachine } from "../../src/machines/authorization-machine.ts";
import { REGIONS, TOP_STATES } from "../../src/machines/authorization-types.ts";
import { guardLabel, machineGraph, toMermaid } from "../../src/viewer/machine-graph.ts";

const REVOKE_GUARD = "boundUser && !in(grant.idportenAuthorized.renewing) && !in(grant.altinnAuthorized.renewing) && !in(login.exchanging)";

describe("the diagram is derived from the machine definition", () => {
  const graph = machineGraph(authorizationMachine);

  it("has the three parallel regions, every public state inside one of them, and the substates inside those", () => {
    expect(graph.type).toBe("parallel");
    const regions = graph.nodes.filter((n) => n.parent === null);
    expect(regions.map((n) => n.path)).toEqual([...REGIONS]);
    for (const region of regions) expect(region).toMatchObject({ region: true, initial: false, type: "compound", description: expect.any(String) });
    // The public vocabulary (DESIGN §2) is the grant's and the login's states.
    const publicStates = graph.nodes.filter((n) => n.parent === "grant" || n.parent === "login").map((n) => n.key);
    for (const state of TOP_STATES) expect(publicStates).toContain(state);
    expect(graph.nodes.find((n) => n.path === "grant.altinnAuthorized.renewing")).toMatchObject({ parent: "grant.altinnAuthorized", key: "renewing", region: false });
    // An initial state per region.
    for (const initial of ["grant.idle", "login.inactive", "revocation.inactive"]) expect(graph.nodes.find((n) => n.path === initial)?.initial, initial).toBe(true);
    expect(graph.nodes.filter((n) => n.initial && n.depth === 2).map((n) => n.path)).toEqual(["grant.idle", "login.inactive", "revocation.inactive"]);
  });

  it("labels transitions with their event and guard", () => {
    expect(graph.edges).toContainEqual({ source: "login.inactive", target: "login.awaitingCode", event: "AUTHORIZE", guard: "redirectUrlRegistered" });
    expect(graph.edges).toContainEqual({ source: "login.awaitingCode", target: "login.exchanging", event: "EXCHANGE_CODE", guard: "codeHeld && attemptUser" });
    expect(graph.edges).toContainEqual({ source: "login.exchanging", target: "login.inactive", event: "done: exchangeCode", guard: null });
    expect(graph.edges).toContainEqual({ source: "grant.altinnAuthorized.renewing", target: "grant.expired", event: "error: refreshIdporten", guard: "refusedGrant" });
  });

  it("draws the root REVOKE once, with both of its targets and its stateIn guard in words", () => {
    const revoke = graph.edges.filter((e) => e.event === "REVOKE");
    const targets = ["grant.idle", "login.inactive"];
    expect(revoke).toEqual(targets.map((target) => ({ source: "*", target, event: "REVOKE", guard: REVOKE_GUARD, targets })));
  });

  it("shows the eventless transitions: the takeover of a login that succeeded, and revocations falling due", () => {
    for (const source of ["grant.idle", "grant.idportenAuthorized.ready", "grant.altinnAuthorized.ready", "grant.expired"]) {
      expect(graph.edges, source).toContainEqual({ source, target: "grant.idportenAuthorized", event: "always", guard: "replacementHeld" });
    }
    expect(graph.edges).toContainEqual({ source: "revocation.inactive", target: "revocation.waiting", event: "always", guard: "revocationDue" });
    expect(graph.edges).toContainEqual({ source: "revocation.waiting", target: "revocation.inactive", event: "always", guard: "!revocationDue" });
  });

  it("adding a state to a copy of the machine adds a node to the graph and to the Mermaid export", () => {
    const config = authorizationMachine.config as { states: Record<string, { states: Record<string, unknown> }> };
    const login = config.states.login!;
    const extended = createMachine({
      ...(config as object),
      states: { ...config.states, login: { ...login, states: { ...login.states, suspended: { on: { RESUME: "inactive" } } } } },
    } as never);
    const bigger = machineGraph(extended);
    expect(bigger.nodes.length).toBe(graph.nodes.length + 1);
    expect(bigger.nodes.map((n) => n.path)).toContain("login.suspended");
    expect(bigger.edges).toContainEqual({ source: "login.suspended", target: "login.inactive", event: "RESUME", guard: null });
    expect(toMermaid(graph)).not.toContain("suspended");
    expect(toMermaid(bigger)).toContain('state "suspended" as login_suspended');
    expect(toMermaid(bigger)).toContain("login_suspended --> login_inactive : RESUME");
  });

  it("exports a Mermaid stateDiagram-v2: one parallel composite, its regions separated by --, each labelled with its own [*]", () => {
    const mermaid = toMermaid(graph);
    expect(mermaid.startsWith('stateDiagram-v2\n  [*] --> authorization\n  state "authorization (parallel: every region is active at once)" as authorization {\n')).toBe(true);
    const region = (name: string) => new RegExp(`\\n    state "${name} — [^"]+" as ${name} \\{\\n      \\[\\*\\] --> ${name}_(idle|inactive)\\n`);
    for (const name of REGIONS) expect(mermaid).toMatch(region(name));
    expect(mermaid).toContain('state "grant — the authorization" as grant {');
    expect(mermaid).toContain('state "login — a login in progress" as login {');
    expect(mermaid).toContain('state "revocation — owed to ID-porten" as revocation {');
    // Three regions, two separators, inside the parallel composite.
    expect(mermaid.match(/^    --$/gm)).toHaveLength(2);
    expect(mermaid).toContain('      state "altinnAuthorized" as grant_altinnAuthorized {');
    expect(mermaid).toContain("      login_inactive --> login_awaitingCode : AUTHORIZE [redirectUrlRegistered]");
    expect(mermaid).toContain("      grant_expired --> grant_idportenAuthorized : always [replacementHeld]");
    // The root's own transition, from a box of its own, once per target.
    expect(mermaid).toContain('  state "from any state" as from_any_state\n');
    expect(mermaid).toContain(`  from_any_state --> grant_idle : REVOKE [${REVOKE_GUARD}]\n`);
    expect(mermaid).toContain(`  from_any_state --> login_inactive : REVOKE [${REVOKE_GUARD}]\n`);
  });

  it("never writes what the Mermaid grammar reserves in a label (: ; # \") nor a composite without a quoted name", () => {
    const mermaid = toMermaid(graph);
    for (const line of mermaid.split("\n").filter((l) => l.includes(" --> "))) {
      const label = line.split(" : ").slice(1).join(" : ");
      expect(label, line).not.toMatch(/[:;#"]/);
    }
    expect(mermaid).not.toMatch(/^\s*state [^"].* as .*\{$/m);
    expect(mermaid).toContain("grant_altinnAuthorized_renewing --> grant_expired : error · refreshIdporten [refusedGrant]");
  });

  it("writes combined guards in words", () => {
    expect(guardLabel(and(["a", not("b")]))).toBe("a && !b");
    expect(guardLabel(and([]))).toBeNull();
    expect(guardLabel(undefined)).toBeNull();
    expect(guardLabel(and(["a", not(stateIn("#m.x.y"))]), "m")).toBe("a && !in(x.y)");
    expect(guardLabel(stateIn("#m.x.y"))).toBe("in(#m.x.y)");
    expect(guardLabel(stateIn({ grant: "idle", login: { exchanging: {} } }))).toBe("in(grant.idle, login.exchanging)");
    expect(guardLabel({ type: "named", params: { a: 1 } })).toBe("named");
  });
});
