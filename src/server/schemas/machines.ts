// /api/machines: the registered machines, and one machine's definition in several formats.
import { oneOf, z } from "./common.ts";

export const MachineListSchema = z
  .object({
    machines: z.array(
      z.object({
        name: z.string().openapi({ example: "authorization" }),
        version: z.number().int(),
        id: z.string().openapi({ description: "The machine's id in its definition." }),
        states: z.array(z.string()).openapi({ description: "Every state, as a dotted path." }),
      }),
    ),
  })
  .openapi("MachineList");

export const MachineParams = z.object({
  name: z.string().openapi({ param: { name: "name", in: "path" }, description: "The machine's name (GET /api/machines lists them).", example: "authorization" }),
});

export const MachineFormatQuery = z.object({
  format: oneOf("format", ["json", "graph", "svg", "mermaid"])
    .optional()
    .openapi({ description: "json (default): the definition for Stately Studio; graph: nodes and edges; svg: the viewer's diagram; mermaid: a Mermaid state diagram." }),
});

export const MachineDefinitionSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    definition: z.record(z.string(), z.unknown()).openapi({ description: "xstate's serializable definition, guards and actions by name (importable in Stately Studio)." }),
  })
  .openapi("MachineDefinition");

const StateType = z.enum(["atomic", "compound", "parallel", "final", "history"]);

export const MachineGraphSchema = z
  .object({
    id: z.string(),
    type: StateType,
    nodes: z.array(
      z.object({
        path: z.string().openapi({ description: 'Dotted path below the root, e.g. "grant.idportenAuthorized.ready".' }),
        key: z.string(),
        parent: z.string().nullable(),
        initial: z.boolean(),
        depth: z.number().int(),
        type: StateType,
        region: z.boolean().openapi({ description: "A region of a parallel state." }),
        description: z.string().nullable(),
      }),
    ),
    edges: z.array(
      z.object({
        source: z.string().openapi({ description: '"*" for the root\'s own transitions.' }),
        target: z.string().nullable().openapi({ description: "null for a transition that stays (actions only)." }),
        event: z.string(),
        guard: z.string().nullable(),
        targets: z.array(z.string()).optional(),
      }),
    ),
  })
  .openapi("MachineGraph");
