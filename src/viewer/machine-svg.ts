// The machine as an SVG diagram, laid out from the same derived graph as the Mermaid export (so it
// cannot drift from the machine that runs). The machine itself is the outer frame; its own
// transitions (taken in any state, e.g. REVOKE) are rows at its top. Each state is a box — substates
// nested inside their parent — listing its transitions as rows ("EVENT [guard] → target"); every row
// has a port on the right, and an arrow runs from the port to each target state's box in a lane of
// its own. A parallel machine's regions are dashed boxes labelled with what they are for
// ("grant — the authorization"), each with its own initial state. Labels never collide because they
// sit inside the boxes; arrows only cross other lines.
//
// Hooks for the live viewer: every state is <g class="state" data-state="<path>"> (the machine's
// frame is data-state="*"), every transition <g class="edge" data-source="<path>"
// data-target="<path> [<path> …]">; the page sets aria-current on the current state's group and
// current-sub on every active leaf. All text is escaped; the output is self-contained (no fonts, no links).
import type { GraphEdge, GraphNode, MachineGraph } from "./machine-graph.ts";

/** Pixel width of one character of the 12px monospace labels (DejaVu Sans Mono ≈ 7.23). */
const CHAR = 7.3;
/** Generous widths of one character of the box names (14px / 13px bold sans-serif). */
const NAME_CHAR = 8.6;
const NAME_CHAR_NESTED = 8;
const LINE = 15;
const HEAD = 26;
const PAD = 8;
const INDENT = 14;
const GAP = 10;
const LANE = 11;
/** Rows longer than this (in characters) put the guard on lines of its own. */
const MAX_ROW_CHARS = 52;
const MIN_BOX = 250;

export const ANY_STATE = "*";

interface Row {
  /** The transition's edges: one per target (a transition with several targets is one row). */
  edges: GraphEdge[];
  /** The first line: event and target(s) (and the guard when it fits). */
  head: { event: string; guard: string | null; target: string };
  /** Guard lines of their own, when the guard did not fit on the first line. */
  guardLines: string[];
  y: number;
  height: number;
}

interface Box {
  node: GraphNode | null; // null: the machine's own frame
  path: string;
  /** The name, and what it is for (a region's description, the machine's kind). */
  label: string;
  caption: string | null;
  x: number;
  y: number;
  width: number;
  height: number;
  rows: Row[];
  children: Box[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const px = (n: number) => String(Math.round(n * 10) / 10);

/** Where an edge goes, in words short enough for a row: a sibling by its key, anything else by its path. */
function targetLabel(edge: GraphEdge, nodes: Map<string, GraphNode>): string {
  if (edge.target === null) return "(stays)";
  if (edge.target === edge.source) return `${nodes.get(edge.target)?.key ?? edge.target} (re-entered)`;
  const source = nodes.get(edge.source);
  const target = nodes.get(edge.target);
  if (source && target && source.parent !== null && source.parent === target.parent) return target.key;
  return edge.target;
}

/** Splits "a && b && c" into lines of at most `max` characters, breaking only between operands. */
function wrapGuard(guard: string, max: number): string[] {
  const parts = guard.split(/ (?=&&|\|\|)/);
  const lines: string[] = [];
  let line = "";
  for (const part of parts) {
    const next = line ? `${line} ${part}` : part;
    if (line && next.length + 2 > max) {
      lines.push(line);
      line = part;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? `[${l}` : `  ${l}`)).map((l, i, all) => (i === all.length - 1 ? `${l}]` : l));
}

/** The full label of a transition, as its tooltip and the tests read it. */
export function transitionTitle(edges: GraphEdge[]): string {
  const e = edges[0]!;
  const targets = edges.map((x) => x.target ?? "(stays)").join(", ");
  return `${e.event}${e.guard ? ` [${e.guard}]` : ""} → ${targets}`;
}

function makeRow(edges: GraphEdge[], nodes: Map<string, GraphNode>): Omit<Row, "y"> {
  const edge = edges[0]!;
  const target = edges.map((e) => targetLabel(e, nodes)).join(" + ");
  const oneLine = `${edge.event}${edge.guard ? ` [${edge.guard}]` : ""} → ${target}`;
  if (!edge.guard || oneLine.length <= MAX_ROW_CHARS) {
    return { edges, head: { event: edge.event, guard: edge.guard, target }, guardLines: [], height: LINE + 3 };
  }
  const guardLines = wrapGuard(edge.guard, MAX_ROW_CHARS);
  return { edges, head: { event: edge.event, guard: null, target }, guardLines, height: LINE * (1 + guardLines.length) + 3 };
}

const rowChars = (row: Omit<Row, "y">) =>
  Math.max(`${row.head.event}${row.head.guard ? ` [${row.head.guard}]` : ""} → ${row.head.target}`.length, ...row.guardLines.map((l) => l.length));

/** A state's transitions grouped into rows: the edges of one multi-target transition share a row. */
function transitionsOf(graph: MachineGraph, path: string): GraphEdge[][] {
  const groups: GraphEdge[][] = [];
  for (const e of graph.edges.filter((x) => x.source === path)) {
    const last = groups[groups.length - 1];
    const first = last?.[0];
    const sameTransition = first && e.targets && first.event === e.event && first.guard === e.guard && first.targets?.join(" ") === e.targets.join(" ");
    if (sameTransition) last.push(e);
    else groups.push([e]);
  }
  return groups;
}

function regionLabel(node: GraphNode): { label: string; caption: string | null } {
  return { label: node.key, caption: node.region && node.description ? `— ${node.description}` : null };
}

export function toSvg(graph: MachineGraph, options: { title?: string } = {}): string {
  const nodes = new Map(graph.nodes.map((n) => [n.path, n]));
  const childrenOf = (parent: string | null) => graph.nodes.filter((n) => n.parent === parent);
  const parallel = graph.type === "parallel";
  const tops = childrenOf(null);
  const rootCaption = parallel ? `parallel: its ${tops.length} regions are active at once` : null;

  // Width: the widest row or name, wherever it is nested (the machine's frame is depth 0).
  let width = MIN_BOX;
  const fit = (chars: number, perChar: number, depth: number) => (width = Math.max(width, chars * perChar + 2 * PAD + 2 * INDENT * depth + 10));
  const measure = (path: string, depth: number) => {
    for (const edges of transitionsOf(graph, path)) fit(rowChars(makeRow(edges, nodes)), CHAR, depth);
    for (const child of childrenOf(path === ANY_STATE ? null : path)) {
      const { label, caption } = regionLabel(child);
      fit(label.length + (caption ? caption.length + 1 : 0), depth === 0 ? NAME_CHAR : NAME_CHAR_NESTED, depth + 1);
      measure(child.path, depth + 1);
    }
  };
  measure(ANY_STATE, 0);
  fit(graph.id.length + (rootCaption ? rootCaption.length + 3 : 0), NAME_CHAR, 0);
  width = Math.ceil(width);

  const X0 = 34; // room for the initial-state markers on the left
  const layout = (node: GraphNode | null, path: string, x: number, y: number, w: number): Box => {
    const { label, caption } = node ? regionLabel(node) : { label: graph.id, caption: rootCaption };
    const box: Box = { node, path, label, caption, x, y, width: w, height: 0, rows: [], children: [] };
    let cursor = y + HEAD;
    // The machine's own transitions are taken whatever state it is in: said above them.
    if (!node && transitionsOf(graph, path).length) cursor += LINE;
    for (const edges of transitionsOf(graph, path)) {
      const row = makeRow(edges, nodes);
      box.rows.push({ ...row, y: cursor });
      cursor += row.height;
    }
    const kids = childrenOf(node ? node.path : null);
    if (kids.length) cursor += 4;
    for (const kid of kids) {
      const child = layout(kid, kid.path, x + INDENT, cursor, w - 2 * INDENT);
      box.children.push(child);
      cursor += child.height + (kid.region ? GAP : GAP / 2);
    }
    box.height = cursor - y + PAD - (kids.length ? (kids[kids.length - 1]!.region ? GAP : GAP / 2) : 0);
    return box;
  };
  const root = layout(null, ANY_STATE, X0, 12, width);
  const height = root.y + root.height + 14;

  // Header position of every state, for arrows to land on; rows with a target get a port.
  const header = new Map<string, { y: number; right: number }>();
  const rows: Array<{ row: Row; box: Box }> = [];
  const index = (box: Box) => {
    header.set(box.path, { y: box.y + HEAD / 2, right: box.x + box.width });
    for (const row of box.rows) rows.push({ row, box });
    box.children.forEach(index);
  };
  index(root);
  const portX = X0 + width;
  const portY = (row: Row) => row.y + LINE / 2 + 1;

  // Lanes: each arrow's vertical run gets the innermost lane where it overlaps no other run.
  const arrows = rows
    .flatMap(({ row }) => row.edges.filter((e) => e.target !== null && header.has(e.target)).map((edge) => ({ row, edge })))
    .map(({ row, edge }) => {
      const from = portY(row);
      const to = header.get(edge.target!)!;
      return { row, edge, from, to, lo: Math.min(from, to.y), hi: Math.max(from, to.y), lane: 0 };
    })
    .sort((a, b) => a.hi - a.lo - (b.hi - b.lo) || a.lo - b.lo);
  const lanes: Array<Array<[number, number]>> = [];
  for (const arrow of arrows) {
    let lane = 0;
    while (lanes[lane]?.some(([lo, hi]) => arrow.lo < hi + 3 && lo < arrow.hi + 3)) lane++;
    (lanes[lane] ??= []).push([arrow.lo, arrow.hi]);
    arrow.lane = lane;
  }
  const laneX = (lane: number) => portX + 14 + lane * LANE;
  const totalWidth = Math.ceil(laneX(Math.max(lanes.length - 1, 0)) + 14);
  const arrowsOf = new Map<Row, typeof arrows>();
  for (const a of arrows) arrowsOf.set(a.row, [...(arrowsOf.get(a.row) ?? []), a]);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine${parallel ? " parallel" : ""}" role="group" aria-label="${esc(options.title ?? `State machine ${graph.id}`)}" width="${totalWidth}" height="${Math.ceil(height)}" viewBox="0 0 ${totalWidth} ${Math.ceil(height)}" data-machine="${esc(graph.id)}">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );

  const drawRow = (row: Row, box: Box) => {
    const tx = box.x + PAD;
    const ty = row.y + LINE - 3;
    const e = row.edges[0]!;
    const parts = [`<tspan class="ev">${esc(row.head.event)}</tspan>`];
    if (row.head.guard) parts.push(`<tspan class="guard"> [${esc(row.head.guard)}]</tspan>`);
    parts.push(`<tspan class="to"> → ${esc(row.head.target)}</tspan>`);
    const lines = [`<text x="${px(tx)}" y="${px(ty)}">${parts.join("")}</text>`];
    row.guardLines.forEach((g, i) => lines.push(`<text class="guard" x="${px(tx)}" y="${px(ty + LINE * (i + 1))}">${esc(g)}</text>`));
    const mine = arrowsOf.get(row) ?? [];
    let path = "";
    if (mine.length) {
      const py = portY(row);
      path = `<circle class="port" cx="${px(portX)}" cy="${px(py)}" r="2.5"/>`;
      for (const arrow of mine) {
        path += `<path class="arrow" d="M${px(portX)},${px(py)} H${px(laneX(arrow.lane))} V${px(arrow.to.y)} H${px(arrow.to.right + 1)}" marker-end="url(#arrow)"/>`;
      }
    }
    const targets = row.edges.map((x) => x.target ?? "").join(" ");
    return `<g class="edge" data-source="${esc(e.source)}" data-target="${esc(targets)}" data-event="${esc(e.event)}"><title>${esc(transitionTitle(row.edges))}</title>${lines.join("")}${path}</g>`;
  };

  const drawBox = (box: Box): string => {
    const node = box.node;
    const initial = node?.initial ?? false;
    // A substate sits in a state (not directly in a region or the machine's frame): drawn a shade darker.
    const nested = node !== null && node.parent !== null && !nodes.get(node.parent)?.region;
    const kind = node ? (node.region ? " region" : nested ? " nested" : "") : " root";
    const cls = `state${kind}${initial ? " initial" : ""}${box.children.length ? " compound" : ""}`;
    const hy = box.y + HEAD / 2;
    // The initial state's marker: a dot and an arrow in the margin left of its box (small inside a box).
    const small = node !== null && node.parent !== null;
    const [dot, r] = small ? [box.x - 10, 2.5] : [box.x - 20, 4];
    const marker = initial
      ? `<circle class="initial-dot" cx="${px(dot)}" cy="${px(hy)}" r="${r}"/><path class="initial-arrow" d="M${px(dot + r)},${px(hy)} H${px(box.x - 1)}" marker-end="url(#arrow)"/>`
      : "";
    const name =
      `<text class="name" x="${px(box.x + PAD)}" y="${px(box.y + HEAD - 8)}">${esc(box.label)}` +
      (box.caption ? `<tspan class="caption"> ${esc(box.caption)}</tspan>` : "") +
      `</text>`;
    const note = !node && box.rows.length ? `<text class="note" x="${px(box.x + PAD)}" y="${px(box.y + HEAD + LINE - 4)}">in any state:</text>` : "";
    const aria = node ? `${node.region ? "region" : "state"} ${box.path}${node.description ? `: ${node.description}` : ""}` : `machine ${graph.id}${box.caption ? `, ${box.caption}` : ""}`;
    return (
      `<g class="${cls}" data-state="${esc(box.path)}" role="group" aria-label="${esc(aria)}">` +
      marker +
      `<rect x="${px(box.x)}" y="${px(box.y)}" width="${px(box.width)}" height="${px(box.height)}" rx="${node?.region ? 6 : 9}"/>` +
      name +
      note +
      box.rows.map((r) => drawRow(r, box)).join("") +
      box.children.map(drawBox).join("") +
      `</g>`
    );
  };
  out.push(drawBox(root));
  out.push("</svg>");
  return out.join("\n");
}

/** The stylesheet for toSvg()'s classes (the viewer serves it in /inspect/viewer.css; a standalone export embeds it). */
export const SVG_STYLE = `
  svg.machine { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
  svg.machine .state > rect { fill: #fff; stroke: #94a3b8; stroke-width: 1.5; }
  svg.machine .state.nested > rect { fill: #f8fafc; stroke-width: 1; }
  svg.machine .state.root > rect { fill: #fff; stroke: #475569; stroke-width: 1.5; }
  svg.machine .state.region > rect { fill: #f1f5f9; stroke: #64748b; stroke-width: 1.5; stroke-dasharray: 7 4; }
  svg.machine .name { font: 600 14px system-ui, sans-serif; fill: #0f172a; }
  svg.machine .name .caption { font-weight: 400; fill: #475569; }
  svg.machine .state.nested > .name { font-size: 13px; }
  svg.machine text { fill: #334155; white-space: pre; }
  svg.machine .note { font: italic 12px system-ui, sans-serif; fill: #475569; }
  svg.machine .ev { font-weight: 700; fill: #0f172a; }
  svg.machine .guard { fill: #6d28d9; }
  svg.machine .to { fill: #334155; }
  svg.machine .arrow { fill: none; stroke: #94a3b8; stroke-width: 1.2; }
  svg.machine .arrowhead { fill: #64748b; }
  svg.machine .port { fill: #64748b; }
  svg.machine .initial-dot { fill: #334155; }
  svg.machine .initial-arrow { stroke: #334155; stroke-width: 1.2; }
  svg.machine .edge:hover .arrow { stroke: #2563eb; stroke-width: 2.5; }
  svg.machine .edge:hover text { fill: #2563eb; }
  svg.machine .state.current-sub > rect { fill: #c9ecd4; stroke: #0b6b2f; stroke-width: 2; }
  svg.machine .state[aria-current="true"] > rect { fill: #e8f6ec; stroke: #0b6b2f; stroke-width: 3; }
  svg.machine .state.current-sub[aria-current="true"] > rect { fill: #c9ecd4; }
  svg.machine .edge.live .arrow { stroke: #0b6b2f; stroke-width: 1.8; }
  svg.machine .edge.live .ev { fill: #0b6b2f; }
`;

/** A standalone SVG document (for ?format=svg): the diagram with its stylesheet embedded. */
export function toSvgDocument(graph: MachineGraph): string {
  return toSvg(graph).replace(/(<svg[^>]*>)/, `$1<style>${SVG_STYLE}</style>`);
}
