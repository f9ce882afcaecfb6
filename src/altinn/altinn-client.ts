// Altinn's token exchange: GET …/authentication/api/v1/exchange/id-porten with the ID-porten access
// token as bearer; 200 is the Altinn JWT as plain text with the same expiry as the token it came
// from. 401/403/429 get names and hints of their own (see machines/flow-error.ts); error bodies are
// ProblemDetails, reduced to their words (problem-details.ts).
import type { Clock } from "../clock.ts";
import type { AltinnExchangeInput, AltinnToken } from "../machines/authorization-types.ts";
import { decodeJwtPayload } from "../idporten/jwt.ts";
import { GATEWAY_LOST, isNetworkFailure, UpstreamError } from "../idporten/upstream-error.ts";
import { describeChallenge, describeErrorBody } from "./problem-details.ts";

export interface AltinnSettings {
  exchangeUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  /** The engine's clock; only used when the ID-porten token is not a JWT (see expiryOf). */
  clock?: Clock;
}

const REFUSALS: Record<number, string> = {
  401: "altinn_unauthorized",
  403: "altinn_forbidden",
  429: "altinn_locked_out",
};

const num = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/**
 * Expiry is kept on the engine's clock (which testers can move), never on a peer's wall clock.
 * Altinn says its token lives as long as the access token it came from, but its own `exp` is the
 * truth if it is earlier: the difference between the two tokens' `exp` (both peers' clocks, NTP-
 * synced to each other) moves the access token's expiry, which is already on the engine's clock.
 * Without a JWT from ID-porten, the Altinn token's own lifetime (exp − iat) counts from now.
 */
function expiryOf(input: AltinnExchangeInput, claims: Record<string, unknown>, clock: Clock | undefined): number {
  const altinnExp = num(claims.exp)!;
  const idportenExp = num(decodeJwtPayload(input.accessToken)?.exp);
  if (idportenExp !== undefined) {
    return altinnExp < idportenExp ? input.accessTokenExpiresAt - (idportenExp - altinnExp) * 1000 : input.accessTokenExpiresAt;
  }
  const issuedAt = num(claims.iat) ?? num(claims.nbf);
  if (clock && issuedAt !== undefined) return Math.min(input.accessTokenExpiresAt, clock.now() + (altinnExp - issuedAt) * 1000);
  return input.accessTokenExpiresAt;
}

export function createAltinnClient(settings: AltinnSettings) {
  const doFetch = settings.fetch ?? fetch;
  const seconds = settings.timeoutMs / 1000;
  return {
    async exchange(input: AltinnExchangeInput): Promise<AltinnToken> {
      let response: Response;
      let body: string;
      // The body is read under the same deadline: a peer that sends headers and then stalls is as lost as one that never answers.
      try {
        response = await doFetch(settings.exchangeUrl, {
          headers: { authorization: `Bearer ${input.accessToken}`, accept: "text/plain, application/json" },
          // A redirect is a wrong ALTINN_EXCHANGE_URL, not something to follow with a bearer token.
          redirect: "manual",
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
        body = (await response.text()).trim();
      } catch (error) {
        const name = (error as Error)?.name;
        const timedOut = name === "TimeoutError" || name === "AbortError";
        throw new UpstreamError(
          {
            error: "temporarily_unavailable",
            error_description: timedOut
              ? `Altinn did not answer the token exchange within ${seconds} s.`
              : `Could not reach Altinn for the token exchange: ${(error as Error)?.message ?? error}`,
          },
          error,
          { lost: timedOut || isNetworkFailure(error) },
        );
      }
      if (response.status !== 200) {
        const said = describeErrorBody(body, response.headers.get("content-type")) || describeChallenge(response.headers.get("www-authenticate"));
        if (response.status >= 300 && response.status < 400) {
          throw new UpstreamError({ error: "invalid_response", error_description: `Altinn answered ${response.status} (a redirect to ${response.headers.get("location") ?? "nowhere"}) to the token exchange: check ALTINN_EXCHANGE_URL.` });
        }
        const error = REFUSALS[response.status] ?? "temporarily_unavailable";
        throw new UpstreamError({ error, error_description: `Altinn answered ${response.status} to the token exchange${said ? `: ${said}` : "."}` }, undefined, { lost: GATEWAY_LOST.has(response.status) });
      }
      // The body is the JWT itself (some deployments quote it as a JSON string).
      let token = body;
      try {
        if (body.startsWith('"')) token = JSON.parse(body) as string;
      } catch {
        // left as it came; the JWT check below says what is wrong
      }
      const claims = typeof token === "string" ? decodeJwtPayload(token) : null;
      if (!claims || num(claims.exp) === undefined) {
        throw new UpstreamError({ error: "invalid_response", error_description: "Altinn answered 200 to the token exchange without a JWT that has an exp." });
      }
      return { token, expiresAt: expiryOf(input, claims, settings.clock) };
    },
  };
}
