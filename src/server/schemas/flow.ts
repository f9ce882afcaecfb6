// The flow view (what summarize() and toView() make of a flow), a page of them, and its audit trail.
import { TOP_STATES } from "../../machines/authorization-types.ts";
import { Instant, oneOf, organisationNumber, shown, z } from "./common.ts";

const GRANT_STATES = ["idle", "idportenAuthorized", "altinnAuthorized", "expired"] as const;

const nullable = <T extends z.ZodTypeAny>(schema: T, description: string) => schema.nullable().openapi({ description });

export const ProviderErrorSchema = z
  .object({
    error: z.string().openapi({ description: "The error code, as the provider (or authflow) said it.", example: "invalid_grant" }),
    error_description: z.string().openapi({ description: "The provider's words." }),
    hint: z.string().optional().openapi({ description: "What to do, in authflow's words." }),
  })
  .openapi("ProviderError", { description: "An OAuth/OIDC error as ID-porten or Altinn said it, with a hint." });

export const FlowViewSchema = z
  .object({
    id: z.string().openapi({ format: "uuid", description: "The flow's id." }),
    legalEntity: z.string().openapi({ description: "The organisation number the flow authorizes for.", example: "999999999" }),
    integration: z.string().openapi({ description: "The integration the flow uses: its ID-porten client and settings (the configured one unless another was named at creation)." }),
    state: z.enum(TOP_STATES).openapi({
      description: "The public state: the login's awaitingCode/exchanging while one is in progress, else the authorization's.",
    }),
    substate: nullable(z.string(), "The authorization's inner state (ready, renewing, exchangingAltinn), or null."),
    authorizationState: z.enum(GRANT_STATES).openapi({ description: "The authorization's own state, also while a login runs beside it." }),
    activeStates: z.array(z.string()).openapi({ description: 'The machine\'s active leaf states, e.g. "grant.altinnAuthorized.ready".' }),
    boundUser: nullable(z.string(), "The user the authorization is bound to (the one who logged in), or null."),
    pendingUser: nullable(z.string(), "The user whose login is in progress, or null."),
    authorizationUrl: nullable(
      z.string().openapi({ format: "uri" }),
      "The login link on this server, while awaiting the code (null in lists: the link is a capability).",
    ),
    loginOpened: nullable(z.boolean(), "While awaiting the code: whether a browser has opened the login link; else null."),
    codeReceived: z.boolean().openapi({ description: "A login's authorization code has come back (manual mode keeps it for EXCHANGE_CODE)." }),
    idporten: z
      .object({
        grantedScope: z.string().openapi({ description: "The scopes ID-porten granted, space-separated." }),
        accessTokenExpiresAt: nullable(Instant, "When the ID-porten access token expires."),
        pid: nullable(z.string(), "The person's national identity number, masked to its first six digits."),
        acr: nullable(z.string(), "The level of assurance of the login, e.g. idporten-loa-substantial."),
      })
      .nullable()
      .openapi({ description: "The ID-porten side of the authorization, or null when there is none." }),
    altinn: z
      .object({ expiresAt: nullable(Instant, "When the Altinn token expires.") })
      .nullable()
      .openapi({ description: "The Altinn token's expiry, or null when there is no Altinn token." }),
    authorizedAt: nullable(Instant, "When the person logged in for the current authorization."),
    authorizationExpiresAt: nullable(Instant, "The authorization's hard end (its lifetime; renewals do not move it)."),
    loginDeadline: nullable(Instant, "While awaiting the code: when the login gives up."),
    attention: z
      .object({
        error: z.string(),
        error_description: z.string(),
        hint: nullable(z.string(), "What to do."),
        since: nullable(Instant, "Since when."),
      })
      .nullable()
      .openapi({ description: "What only a person can fix (e.g. a refused client secret), or null." }),
    needsAttention: z
      .array(z.object({ reason: z.string().openapi({ example: "authorization_expiring" }), detail: z.string() }))
      .openapi({ description: "Why a person is needed: attention, an expired authorization, or one that ends within AUTHORIZATION_WARNING_DAYS." }),
    pendingRevocations: z.number().int().min(0).openapi({ description: "Refresh tokens still to be revoked at ID-porten (retried until done)." }),
    lastError: ProviderErrorSchema.nullable().openapi({ description: "The last error, or null." }),
    createdAt: Instant.openapi({ description: "When the flow was created." }),
    updatedAt: Instant.openapi({ description: "When the flow last changed." }),
  })
  .openapi("Flow", { description: "A flow's public view. Never a token, a secret, ID-porten's own URL, state or nonce, or a full national identity number." });

export const FlowListQuery = z.object({
  // Checked like a create's: a filter that no flow can match is the caller's mistake, said so (not an empty page).
  legalEntity: organisationNumber("legalEntity").optional().openapi({ description: "Only flows for this organisation number." }),
  state: oneOf("state", TOP_STATES).optional().openapi({ description: "Only flows in this public state." }),
  attention: oneOf("attention", ["true", "false"]).optional().openapi({ description: "true: only flows that need a person; false: only those that do not." }),
  limit: z
    .string()
    .optional()
    .refine((text) => text === undefined || (/^\d{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= 500), {
      error: (iss) => `"limit" must be a whole number from 1 to 500; got ${shown(iss.input, 20)}.`,
    })
    .transform((text) => (text === undefined ? 100 : Number(text)))
    .openapi({ type: "integer", minimum: 1, maximum: 500, default: 100, description: "Flows per page (1–500)." }),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/, { error: '"cursor" must be the "next" value of a previous page.' })
    .optional()
    .openapi({ description: 'The "next" value of the previous page (of the same order).' }),
  order: oneOf("order", ["oldest", "newest"]).optional().openapi({ description: "oldest (the default): by creation time, oldest first; newest: newest first." }),
});

export const FlowListSchema = z
  .object({
    flows: z.array(FlowViewSchema).openapi({ description: "The page's flows, oldest first." }),
    next: nullable(z.string(), "The cursor of the following page, or null on the last page."),
  })
  .openapi("FlowList", { description: "A page of flows." });

export const AuditEntrySchema = z
  .object({
    flowId: z.string().openapi({ format: "uuid" }),
    at: Instant.openapi({ description: "When the transition happened (on a folded entry: when the newest of the entries it stands for did)." }),
    from: nullable(z.string(), "The public state before (null for the flow's creation)."),
    to: z.string().openapi({ description: "The public state after." }),
    event: z.string().openapi({ description: 'The event that moved the flow: one a caller sent (AUTHORIZE, RENEW, …), a timer\'s (KEEP_ALIVE, …), a call\'s answer ("done: exchangeCode", "error: refreshIdporten", …), or "folded: routine upkeep".' }),
    user: nullable(z.string(), "The acting user, when the event named one."),
    client: nullable(z.string(), 'Who sent the event: an API client\'s name, or "page".').optional(),
    person: nullable(z.string(), "On the login's entry: the person who logged in, masked to the first six digits.").optional(),
    routine: z
      .boolean()
      .optional()
      .openapi({
        description:
          "true: routine upkeep that changed nothing a person sees — its state, the authorization's own state behind a pending login, who it is bound to, whose it is, what needs attention, the last error: a keep-alive, the renewal or Altinn exchange a token call needed, and their answers; and a retry of upkeep that failed as the try before it did (the same error; a revocation retried again), the first failure of such a run being an entry of its own. The stores keep the newest 21 one by one and fold older ones into one entry.",
      }),
    folded: z
      .object({
        entries: z.number().int().min(2).openapi({ description: "How many routine entries this one stands for (two or more)." }),
        first: Instant.openapi({ description: "When the first of them happened." }),
        last: Instant.openapi({ description: "When the last of them happened." }),
      })
      .optional()
      .openapi({ description: 'On the entry that stands for folded routine entries (event "folded: routine upkeep"): how many, and between which times.' }),
  })
  .openapi("AuditEntry", { description: "One transition of a flow, or one entry standing for folded routine ones (`folded`; its from, to and at are the newest folded entry's)." });

export const AuditSchema = z
  .object({ transitions: z.array(AuditEntrySchema).openapi({ description: "The most recent transitions (at most 100), oldest first." }) })
  .openapi("Audit");

export const FlowStreamDataSchema = z
  .object({ view: FlowViewSchema, audit: z.array(AuditEntrySchema).openapi({ description: "Recent transitions, oldest first." }) })
  .openapi("FlowStreamData", { description: "The data of each `flow` event of the stream." });
