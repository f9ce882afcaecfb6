// GET /healthz and GET /readyz: public, no token.
import { createRoute } from "@hono/zod-openapi";
import { z } from "./common.ts";
import { problems } from "./problem.ts";

export const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");

export const ReadySchema = z
  .object({
    status: z.literal("ready"),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })).openapi({ description: "Each named check (store, lock, provider, stopping, …)." }),
  })
  .openapi("Ready");

export const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Health"],
  summary: "Liveness: the process answers",
  security: [],
  responses: { 200: { description: "The process answers.", content: { "application/json": { schema: HealthSchema } } } },
});

export const readyzRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["Health"],
  summary: "Readiness: the store is open, the DATA_DIR lock held, ID-porten reached and the process not stopping",
  security: [],
  responses: {
    200: {
      description: 'Ready, with the checks ({"status":"ok"} when the server runs without readiness checks).',
      content: { "application/json": { schema: z.union([ReadySchema, HealthSchema]) } },
    },
    503: { ...problems(503)[503], description: "Not ready: the detail names the failing checks, `checks` holds them all." },
  },
});
