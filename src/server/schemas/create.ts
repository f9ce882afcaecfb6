// POST /api/flows: the body that creates a flow.
import { organisationNumber, printableAs, shown, userId, z } from "./common.ts";

export const CreateFlowBody = z
  .object({
    legalEntity: organisationNumber("legalEntity"),
    integration: z
      .string({ error: (iss) => `"integration" must be a string; got ${shown(iss.input)}.` })
      .superRefine(printableAs("integration"))
      .nullish()
      .openapi({ description: "The integration (optional: this server has one, and names it in the flow view)." }),
    user: userId("user")
      .optional()
      .openapi({ description: "Who creates it (optional: a flow is bound to whoever first logs in); if named, the caller must be allowed to act for them." }),
  })
  .openapi("CreateFlow", { description: "A flow for a legal entity." });
