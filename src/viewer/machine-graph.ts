// The diagram is derived from the machine definition itself — a walk of its state nodes — so it
// can never drift from the machine that runs. The viewer, the Mermaid export and the machine list
// all read this one graph.
import type { AnyStateMachine } from "xstate";

export interface GraphNode {
  /** Dotted path below the root, e.g. "idportenAuthorized.ready". */
  path: string;
  key: string;
  parent: string | null;
  initial: boolean;
  depth: number;
}

export interface GraphEdge {
  source: string;
  /** null for a transition that stays (actions only). */
  target: string | null;
  /** The event, "always" for eventless transitions, "done: actor" / "error: actor" for invoked actors. */
  event: string;
  guard: string | null;
}

export interface MachineGraph {
  id: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface StateNodeLike {
  id: string;
  key: string;
  path: string[];
  states: Record<string, StateNodeLike>;
  initial?: { target: Array<{ key: string }> };
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  invoke: Array<{ id: string; src: unknown }>;
}
interface TransitionLike {
  target?: Array<{ path: string[] }>;
  guard?: unknown;
}


/** "a && b", "!a", "a || b": xstate's and()/not()/or() guards, in words. */
export function guardLabel(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  // (and([]) is how a fall-back branch says "otherwise")
  if (typeof guard === "string") return guard;
  // xstate's and()/or()/not() are functions carrying their operands in `guards`.
  const g = guard as { name?: string; guards?: unknown[]; type?: unknown };
  if (typeof g === "object" && typeof g.type === "string") return g.type;
  const parts = (g.guards ?? []).map((inner) => guardLabel(inner) ?? "?");
  switch (g.name) {
    case "and":
      return parts.length ? parts.join(" && ") : null; // and([]) always holds: no guard to show
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
  const walk = (node: StateNodeLike, parent: StateNodeLike | null) => {
    const path = node.path.join(".");
    if (parent) {
      const initial = parent.initial?.target.some((t) => t.key === node.key) ?? false;
      nodes.push({ path, key: node.key, parent: parent.path.join(".") || null, initial, depth: node.path.length });
      const add = (event: string, t: TransitionLike) => {
        const targets = t.target?.length ? t.target.map((x) => x.path.join(".")) : [null];
        for (const target of targets) edges.push({ source: path, target, event, guard: guardLabel(t.guard) });
      };
      for (const [eventType, transitions] of node.transitions) for (const t of transitions) add(eventLabel(eventType, node), t);
      for (const t of node.always ?? []) add("always", t);
    } else {
      // Root-level transitions (e.g. REVOKE from anywhere) are drawn from the root.
      for (const [eventType, transitions] of node.transitions) {
        for (const t of transitions) {
          for (const target of t.target ?? []) edges.push({ source: "*", target: target.path.join("."), event: eventType, guard: guardLabel(t.guard) });
        }
      }
    }
    for (const child of Object.values(node.states)) walk(child, node);
  };
  walk(machine.root as unknown as StateNodeLike, null);
  // Transitions inherited from the root appear on every state's transition map: keep them once.
  const rootEvents = new Set(edges.filter((e) => e.source === "*").map((e) => `${e.event}>${e.target}`));
  return {
    id: machine.id,
    nodes,
    edges: edges.filter((e) => e.source === "*" || !rootEvents.has(`${e.event}>${e.target}`)),
  };
}

/** A Mermaid stateDiagram-v2 of the same graph. */
export function toMermaid(graph: MachineGraph): string {
  const id = (path: string) => path.replace(/\./g, "_");
  const lines = ["stateDiagram-v2"];
  const children = (parent: string | null) => graph.nodes.filter((n) => n.parent === parent);
  const emit = (parent: string | null, indent: string) => {
    for (const node of children(parent)) {
      if (node.initial) lines.push(`${indent}[*] --> ${id(node.path)}`);
      const inner = children(node.path);
      if (inner.length) {
        lines.push(`${indent}state ${node.key} as ${id(node.path)} {`);
        emit(node.path, indent + "  ");
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${node.key}" as ${id(node.path)}`);
      }
    }
  };
  emit(null, "  ");
  for (const e of graph.edges) {
    const label = `${e.event}${e.guard ? ` [${e.guard}]` : ""}`.replace(/:/g, "#58;");
    const sources = e.source === "*" ? children(null).map((n) => n.path) : [e.source];
    for (const source of sources) lines.push(`  ${id(source)} --> ${id(e.target ?? source)} : ${label}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The machine's definition (xstate's own serializable form) as plain JSON for Stately Studio.
 * JSON.stringify alone silently drops every combined guard — and()/or()/not() are functions — so a
 * guarded transition would import as unguarded; here each guard is its name ("codeHeld &&
 * attemptUser") and any other function (an inline action or actor input) is its name or dropped.
 */
export function definitionJson(machine: AnyStateMachine): unknown {
  return JSON.parse(
    JSON.stringify(machine.definition, (key, value) => {
      if (typeof value !== "function") return value;
      if (key === "guard") return guardLabel(value) ?? undefined;
      if (key === "actions" || /^\d+$/.test(key)) return value.name ? { type: value.name } : undefined;
      return undefined;
    }),
  );
}
