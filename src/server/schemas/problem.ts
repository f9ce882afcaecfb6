// The problem document (RFC 9457) every error is answered with, and the responses a route lists for it.
import { ERROR_CODES } from "../../errors.ts";
import { Instant, z } from "./common.ts";

const FlowErrorShape = z.object({
  error: z.string(),
  error_description: z.string(),
  hint: z.string().optional(),
});

export const ProblemSchema = z
  .object({
    type: z
      .string()
      .regex(/^https:\/\/authflow\.dev\/problems\/[a-z_]+$/)
      .openapi({
        description: `The kind of problem: https://authflow.dev/problems/<code>, where <code> is one of: ${Object.entries(ERROR_CODES)
          .map(([code, meaning]) => `${code} (${meaning})`)
          .join("; ")}.`,
        example: "https://authflow.dev/problems/bad_request",
      }),
    title: z.string().openapi({ description: "The HTTP status in words.", example: "Bad request" }),
    status: z.number().int().openapi({ description: "The HTTP status code.", example: 400 }),
    detail: z.string().openapi({ description: "What went wrong and what to do, in words a person can act on.", example: '"user" is required: the id of the person acting (1–128 printable characters).' }),
    errors: z
      .array(
        z.object({
          in: z.enum(["body", "query", "path"]).openapi({ description: "Where the value was: the JSON body, the query string or the path." }),
          field: z.string().openapi({ description: 'The field or parameter, dotted for a nested one ("" for the body itself).' }),
          detail: z.string(),
        }),
      )
      .optional()
      .openapi({ description: "Request validation: each field that was refused, and why." }),
    state: z.string().optional().openapi({ description: "The flow's state (409)." }),
    acceptedEvents: z.array(z.string()).optional().openapi({ description: "The events the flow takes now (409)." }),
    guard: z.string().optional().openapi({ description: "The guard that refused the event (403, 422)." }),
    client: z.string().optional().openapi({ description: "The API client whose reach refused the request (403)." }),
    integration: z.string().optional().openapi({ description: "The integration named that this server does not have (422)." }),
    lastError: FlowErrorShape.nullable().optional().openapi({ description: "What the provider last said (409, 503 on the token call)." }),
    retryAfterSeconds: z.number().int().optional().openapi({ description: "Try again after this many seconds (also the Retry-After header)." }),
    movedTo: z.string().optional().openapi({ description: "Where a damaged flow's file was set aside (410)." }),
    damagedAt: Instant.optional().openapi({ description: "When the damage was found (410)." }),
    checks: z
      .record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() }))
      .optional()
      .openapi({ description: "The readiness checks, each ok or not, with a detail (503 on /readyz)." }),
  })
  .openapi("Problem", { description: "RFC 9457 problem details: the only shape an error is answered with." });

const MEANING = {
  400: "The request is refused: a field, parameter or the path is not what the API takes, or the body is not valid JSON (the detail names it).",
  401: "No bearer token, or one that is not API_TOKEN nor an API_CLIENTS client's token.",
  403: "The caller may not act for this user or legal entity, or the flow is bound to another user.",
  404: "No such flow, machine or route.",
  409: "The flow's state does not allow this now (the detail says what it takes).",
  410: "The flow was set aside as damaged (the detail says where its file went).",
  413: "The request body is over 64 KiB.",
  415: 'The request body is not sent as JSON ("Content-Type: application/json").',
  422: "The request is understood but refused (an unknown integration, a redirect URL that is not registered).",
  503: "Not available now; try again (Retry-After says when, where known).",
} as const;

type ProblemResponse = { description: string; content: { "application/problem+json": { schema: typeof ProblemSchema } } };

/** Problem responses for the given statuses, each described, each application/problem+json. */
export function problems<const S extends ReadonlyArray<keyof typeof MEANING>>(...statuses: S): { [K in S[number]]: ProblemResponse } {
  return Object.fromEntries(statuses.map((status) => [status, { description: MEANING[status], content: { "application/problem+json": { schema: ProblemSchema } } }])) as {
    [K in S[number]]: ProblemResponse;
  };
}
