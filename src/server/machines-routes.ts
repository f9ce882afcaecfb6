// /api/machines: the registered machines, exported from their definitions — as JSON that Stately
// Studio imports, as the graph, as the SVG diagram the viewer shows, or as a Mermaid state diagram.
import { Hono } from "hono";
import { badRequest, notFound } from "../errors.ts";
import type { RegisteredMachine } from "../engine/machine-registry.ts";
import { definitionJson, machineGraph, toMermaid } from "../viewer/machine-graph.ts";
import { toSvgDocument } from "../viewer/machine-svg.ts";

export function machinesRoutes(machines: () => RegisteredMachine[]) {
  const app = new Hono();
  const latest = (name: string) => {
    const found = machines().filter((m) => m.name === name).sort((a, b) => b.version - a.version)[0];
    if (!found) throw notFound(`No machine "${name}" is registered. GET /api/machines lists them.`);
    return found;
  };

  app.get("/", (c) =>
    c.json({
      machines: machines().map((m) => ({ name: m.name, version: m.version, id: m.logic.id, states: machineGraph(m.logic).nodes.map((n) => n.path) })),
    }),
  );

  app.get("/:name", (c) => {
    const machine = latest(c.req.param("name"));
    const format = c.req.query("format") ?? "json";
    if (format === "mermaid") return c.text(toMermaid(machineGraph(machine.logic)));
    if (format === "graph") return c.json(machineGraph(machine.logic));
    if (format === "svg") return c.body(toSvgDocument(machineGraph(machine.logic)), 200, { "content-type": "image/svg+xml; charset=utf-8" });
    if (format !== "json") throw badRequest(`"format" must be json, graph, svg or mermaid; got "${format.slice(0, 20)}".`);
    // machine.definition is xstate's own serializable form, made JSON-safe with guards and actions
    // by name; the inline actor inputs are dropped (Stately Studio does not need them).
    return c.json({ name: machine.name, version: machine.version, definition: definitionJson(machine.logic) });
  });
  return app;
}
