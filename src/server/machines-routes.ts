// /api/machines: the registered machines, exported from their definitions — as JSON that Stately
// Studio imports, as the graph, as the SVG diagram the viewer shows, or as a Mermaid state diagram.
import { ApiApp } from "./api-app.ts";
import { createRoute, z } from "@hono/zod-openapi";
import { notFound } from "../errors.ts";
import type { RegisteredMachine } from "../engine/machine-registry.ts";
import { definitionJson, machineGraph, toMermaid } from "../viewer/machine-graph.ts";
import { toSvgDocument } from "../viewer/machine-svg.ts";
import { validationHook } from "./validate.ts";
import { MachineDefinitionSchema, MachineFormatQuery, MachineGraphSchema, MachineListSchema, MachineParams } from "./schemas/machines.ts";
import { problems } from "./schemas/problem.ts";

const bearer = [{ bearer: [] }];

const list = createRoute({
  method: "get",
  path: "/",
  tags: ["Machines"],
  summary: "The registered machines",
  security: bearer,
  responses: { 200: { description: "Each machine's name, version, id and states.", content: { "application/json": { schema: MachineListSchema } } }, ...problems(401) },
});

const one = createRoute({
  method: "get",
  path: "/{name}",
  tags: ["Machines"],
  summary: "A machine's definition: JSON for Stately Studio (guards and actions by name), its graph, the viewer's SVG diagram, or Mermaid",
  security: bearer,
  request: { params: MachineParams, query: MachineFormatQuery },
  responses: {
    200: {
      description: "format=json (default): MachineDefinition; format=graph: MachineGraph; format=svg: image/svg+xml; format=mermaid: text/plain.",
      content: {
        "application/json": { schema: z.union([MachineDefinitionSchema, MachineGraphSchema]) },
        "image/svg+xml": { schema: z.string().openapi({ description: "The SVG diagram." }) },
        "text/plain": { schema: z.string().openapi({ description: "A Mermaid state diagram." }) },
      },
    },
    ...problems(400, 401, 404),
  },
});

export function machinesRoutes(machines: () => RegisteredMachine[]) {
  const app = new ApiApp({ defaultHook: validationHook });
  const latest = (name: string) => {
    const found = machines().filter((m) => m.name === name).sort((a, b) => b.version - a.version)[0];
    if (!found) throw notFound(`No machine "${name}" is registered. GET /api/machines lists them.`);
    return found;
  };

  app.openapi(list, (c) =>
    c.json(
      { machines: machines().map((m) => ({ name: m.name, version: m.version, id: m.logic.id, states: machineGraph(m.logic).nodes.map((n) => n.path) })) },
      200,
    ),
  );

  app.openapi(one, (c) => {
    const machine = latest(c.req.valid("param").name);
    const format = c.req.valid("query").format ?? "json";
    if (format === "mermaid") return c.text(toMermaid(machineGraph(machine.logic)), 200);
    if (format === "graph") return c.json(machineGraph(machine.logic), 200);
    if (format === "svg") return c.body(toSvgDocument(machineGraph(machine.logic)), 200, { "content-type": "image/svg+xml; charset=utf-8" }) as never;
    // machine.definition is xstate's own serializable form, made JSON-safe with guards and actions
    // by name; the inline actor inputs are dropped (Stately Studio does not need them).
    return c.json({ name: machine.name, version: machine.version, definition: definitionJson(machine.logic) as Record<string, unknown> }, 200);
  });
  return app;
}
