// The diagram is derived from the machine definition itself — a walk of its state nodes — so it
// can never drift from the machine that runs. The viewer, the Mermaid export and the machine list
// all read this one graph.
//
// A parallel state's children are regions: all of them are active at once, none is "initial". The
// authorization machine's root is parallel (grant, login, revocation); each region is drawn as a
// labelled box with its own initial state, in the SVG and in Mermaid (`--` separated regions).
import type { AnyStateMachine } from "xstate";

export type StateType = "atomic" | "compound" | "parallel" | "final" | "history";

export interface GraphNode {
  /** Dotted path below the root, e.g. "grant.idportenAuthorized.ready". */
  path: string;
  key: string;
  parent: string | null;
  /** The parent's initial state (never true for a region: every region of a parallel state is entered). */
  initial: boolean;
  depth: number;
  type: StateType;
  /** A region of a parallel state (the root's, here). */
  region: boolean;
  /** In words, from the state's own `description` (or the viewer's, for the known regions). */
  description: string | null;
}

export interface GraphEdge {
  /** "*" for the root's own transitions (taken in any state). */
  source: string;
  /** null for a transition that stays (actions only). */
  target: string | null;
  /** The event, "always" for eventless transitions, "done: actor" / "error: actor" for invoked actors. */
  event: string;
  guard: string | null;
  /** Every target of the transition this edge belongs to, when it has several (one edge is listed per target). */
  targets?: string[];
}

export interface MachineGraph {
  id: string;
  /** The root's type: "parallel" when its top-level states are regions. */
  type: StateType;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface StateNodeLike {
  id: string;
  key: string;
  type: StateType;
  path: string[];
  description?: string;
  states: Record<string, StateNodeLike>;
  initial?: { target: Array<{ key: string }> };
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  invoke: Array<{ id: string; src: unknown }>;
}
interface TransitionLike {
  target?: Array<{ id: string; path: string[] }>;
  guard?: unknown;
  actions?: unknown[];
  reenter?: boolean;
}

/**
 * What the regions of the authorization machine are for, until the machine says so itself with a
 * `description` on each region (a state's own description always wins).
 */
const KNOWN_DESCRIPTIONS: Record<string, Record<string, string>> = {
  authorization: {
    grant: "the authorization",
    login: "a login in progress",
    revocation: "owed to ID-porten",
  },
};

/** A state value as `stateIn()` takes it — "#machine.a.b" or {a: "b"} — as dotted paths. */
function stateValueLabel(value: unknown, rootId?: string): string {
  if (typeof value === "string") {
    if (rootId && value.startsWith(`#${rootId}.`)) return value.slice(rootId.length + 2);
    return value;
  }
  if (value && typeof value === "object") {
    const paths: string[] = [];
    const walk = (v: unknown, prefix: string) => {
      if (typeof v === "string") return void paths.push(prefix ? `${prefix}.${v}` : v);
      const entries = Object.entries(v as Record<string, unknown>);
      if (!entries.length && prefix) paths.push(prefix);
      for (const [k, inner] of entries) walk(inner, prefix ? `${prefix}.${k}` : k);
    };
    walk(value, "");
    return paths.join(", ");
  }
  return "?";
}

/**
 * "a && b", "!a", "a || b", "in(grant.idle)": xstate's and()/or()/not()/stateIn() guards, in words.
 * `rootId` (the machine's id) shortens stateIn("#authorization.grant.idle") to in(grant.idle).
 */
export function guardLabel(guard: unknown, rootId?: string): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === "string") return guard;
  // xstate's and()/or()/not()/stateIn() are functions carrying their operands in `guards`
  // (stateIn: `stateValue`); a parameterized guard is {type, params}.
  const g = guard as { name?: string; guards?: unknown[]; type?: unknown; stateValue?: unknown; check?: unknown };
  if (typeof g === "object" && typeof g.type === "string") return g.type;
  if (typeof guard === "function" && g.stateValue !== undefined && typeof g.check === "function") return `in(${stateValueLabel(g.stateValue, rootId)})`;
  const parts = (g.guards ?? []).map((inner) => guardLabel(inner, rootId) ?? "?");
  switch (g.name) {
    case "and":
      // (and([]) is how a fall-back branch says "otherwise": it always holds, no guard to show)
      return parts.length ? parts.join(" && ") : null;
    case "or":
      return parts.join(" || ");
    case "not":
      return `!${parts[0] ?? "?"}`;
    default:
      return g.name || "guard";
  }
}

function eventLabel(eventType: string, node: StateNodeLike): string {
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (!done) return eventType;
  const invoke = node.invoke.find((i) => i.id === done[2]);
  const src = typeof invoke?.src === "string" ? invoke.src : done[2];
  return `${done[1]}: ${src}`;
}

export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const known = KNOWN_DESCRIPTIONS[machine.id] ?? {};
  const add = (source: string, event: string, t: TransitionLike) => {
    const all = t.target?.length ? t.target.map((x) => x.path.join(".")) : [null];
    const guard = guardLabel(t.guard, machine.id);
    for (const target of all) edges.push({ source, target, event, guard, ...(all.length > 1 ? { targets: all as string[] } : {}) });
  };
  const walk = (node: StateNodeLike, parent: StateNodeLike | null) => {
    const path = node.path.join(".");
    if (parent) {
      const region = parent.type === "parallel";
      const initial = !region && (parent.initial?.target.some((t) => t.key === node.key) ?? false);
      nodes.push({
        path,
        key: node.key,
        parent: parent.path.join(".") || null,
        initial,
        depth: node.path.length,
        type: node.type,
        region,
        description: node.description ?? known[path] ?? null,
      });
    }
    // Root-level transitions (e.g. REVOKE, taken in any state) are drawn from "*".
    const source = parent ? path : "*";
    for (const [eventType, transitions] of node.transitions) for (const t of transitions) add(source, eventLabel(eventType, node), t);
    for (const t of node.always ?? []) add(source, "always", t);
    for (const child of Object.values(node.states)) walk(child, node);
  };
  const root = machine.root as unknown as StateNodeLike;
  walk(root, null);
  // Transitions inherited from the root appear on every state's transition map: keep them once.
  const rootEvents = new Set(edges.filter((e) => e.source === "*").map((e) => `${e.event}>${e.target}`));
  return {
    id: machine.id,
    type: root.type,
    nodes,
    edges: edges.filter((e) => e.source === "*" || !rootEvents.has(`${e.event}>${e.target}`)),
  };
}

/**
 * A Mermaid stateDiagram-v2 of the same graph. A parallel root becomes one composite state whose
 * regions are separated by `--` (Mermaid draws concurrency only inside a composite); each region is
 * a composite of its own, labelled, with its own `[*]`. An edge is written inside the innermost
 * composite that holds both its ends; the root's own transitions come from a "from any state" box.
 * Labels avoid what the grammar reserves in a description (`:` `;` `#`).
 */
export function toMermaid(graph: MachineGraph): string {
  const byPath = new Map(graph.nodes.map((n) => [n.path, n]));
  const id = (path: string) => path.replace(/[^A-Za-z0-9_]/g, "_");
  const words = (s: string) => s.replace(/:\s*/g, " · ").replace(/[;#"]/g, " ").trim();
  const children = (parent: string | null) => graph.nodes.filter((n) => n.parent === parent);
  const taken = new Set(graph.nodes.map((n) => id(n.path)));
  let rootId = id(graph.id) || "machine";
  while (taken.has(rootId)) rootId += "_root";
  const anyId = taken.has("from_any_state") ? `${rootId}_any` : "from_any_state";

  // The innermost composite holding both ends of an edge: the longest common proper ancestor.
  const ancestors = (path: string) => {
    const out: string[] = [];
    for (let p = byPath.get(path)?.parent ?? null; p !== null; p = byPath.get(p)?.parent ?? null) out.push(p);
    return out;
  };
  const home = (e: GraphEdge): string | null => {
    if (e.source === "*") return "*";
    const up = ancestors(e.source);
    const target = e.target ?? e.source;
    const other = new Set(target === e.source ? up : ancestors(target));
    return up.find((p) => other.has(p)) ?? null;
  };
  const label = (e: GraphEdge) => words(`${e.event}${e.guard ? ` [${e.guard}]` : ""}`);
  const edgesIn = new Map<string | null, GraphEdge[]>();
  for (const e of graph.edges) {
    const h = home(e);
    edgesIn.set(h, [...(edgesIn.get(h) ?? []), e]);
  }
  const writeEdges = (where: string | null, indent: string, lines: string[]) => {
    for (const e of edgesIn.get(where) ?? []) {
      const source = e.source === "*" ? anyId : id(e.source);
      lines.push(`${indent}${source} --> ${id(e.target ?? e.source)} : ${label(e)}`);
    }
  };

  const lines = ["stateDiagram-v2"];
  const emit = (parent: string | null, indent: string) => {
    const kids = children(parent);
    kids.forEach((node, i) => {
      if (node.region && i > 0) lines.push(`${indent}--`);
      if (node.initial) lines.push(`${indent}[*] --> ${id(node.path)}`);
      const name = words(node.region && node.description ? `${node.key} — ${node.description}` : node.key);
      if (children(node.path).length) {
        lines.push(`${indent}state "${name}" as ${id(node.path)} {`);
        emit(node.path, indent + "  ");
        writeEdges(node.path, indent + "  ", lines);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${name}" as ${id(node.path)}`);
      }
    });
  };
  if (graph.type === "parallel") {
    lines.push(`  [*] --> ${rootId}`);
    lines.push(`  state "${words(graph.id)} (parallel: every region is active at once)" as ${rootId} {`);
    emit(null, "    ");
    lines.push("  }");
  } else {
    emit(null, "  ");
  }
  writeEdges(null, "  ", lines);
  if (edgesIn.has("*")) {
    lines.push(`  state "from any state" as ${anyId}`);
    writeEdges("*", "  ", lines);
  }
  return lines.join("\n") + "\n";
}

/**
 * The machine's definition (xstate's own serializable form) as plain JSON for Stately Studio.
 * JSON.stringify alone silently drops every combined guard — and()/or()/not()/stateIn() are
 * functions — so a guarded transition would import as unguarded; here each guard is its name
 * ("codeHeld && attemptUser", "boundUser && !in(login.exchanging)") and any other function (an
 * inline action or actor input) is its name or dropped. xstate's definition leaves out eventless
 * (`always`) transitions; they are put back, in the same form as the `on` transitions.
 */
export function definitionJson(machine: AnyStateMachine): unknown {
  const definition = machine.definition as unknown as Record<string, unknown>;
  const addAlways = (node: StateNodeLike, def: Record<string, unknown>) => {
    if (node.always?.length) {
      def.always = node.always.map((t) => ({
        target: t.target?.map((x) => `#${x.id}`) ?? [],
        guard: t.guard,
        actions: t.actions ?? [],
        source: `#${node.id}`,
        reenter: t.reenter ?? false,
        eventType: "",
      }));
    }
    const states = (def.states ?? {}) as Record<string, Record<string, unknown>>;
    for (const [key, child] of Object.entries(node.states)) if (states[key]) addAlways(child, states[key]);
  };
  addAlways(machine.root as unknown as StateNodeLike, definition);
  return JSON.parse(
    JSON.stringify(definition, (key, value) => {
      if (typeof value !== "function") return value;
      if (key === "guard") return guardLabel(value, machine.id) ?? undefined;
      if (key === "actions" || /^\d+$/.test(key)) return value.name ? { type: value.name } : undefined;
      return undefined;
    }),
  );
}
