// ID-porten's error body at the token, revocation and PAR endpoints: the description is the error
// code again with a correlation id, nothing more ({"error":"invalid_grant","error_description":
// "invalid_grant (correlation id: …)"}). The reason stays in the simulator's log, under that id.

export interface IdportenErrorBody {
  error: string;
  error_description: string;
}

export function idportenErrorBody(error: string, correlationId: string = crypto.randomUUID()): IdportenErrorBody {
  return { error, error_description: `${error} (correlation id: ${correlationId})` };
}

/** The correlation id inside a body made by idportenErrorBody. */
export function correlationIdOf(body: IdportenErrorBody): string {
  return /\(correlation id: ([^)]+)\)$/.exec(body.error_description)?.[1] ?? "";
}
