// Altinn's token exchange (Altinn/altinn-authentication, AuthenticationController):
// GET …/exchange/id-porten with an ID-porten access token as Bearer → 200 text/plain Altinn JWT
// with the same expiry; 401 for a missing, invalid or expired token or one without pid/acr;
// 403 when the token has no accepted scope.

import { Hono, type Context } from "hono";
import { createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { maskPid } from "./persons.ts";
import { ACR_HIGH, ACR_SUBSTANTIAL } from "./provider.ts";
import { publicJwk } from "./keys.ts";

export const ALTINN_EXCHANGE_PATH = "/altinn/authentication/api/v1/exchange/id-porten";

/** Partner scopes Altinn accepts besides any `altinn:` scope. */
const ACCEPTED_PARTNER_SCOPES = ["skatteetaten:mvameldinginnsending", "skatteetaten:mvameldingvalidering"];

const AUTH_LEVELS: Record<string, number> = { [ACR_SUBSTANTIAL]: 3, [ACR_HIGH]: 4 };

/** Whether Altinn would exchange a token with this `scope` claim. */
export function hasAcceptedScope(scope: unknown): boolean {
  if (typeof scope !== "string") return false;
  return scope.split(" ").some((s) => s.startsWith("altinn:") || ACCEPTED_PARTNER_SCOPES.includes(s));
}

export interface AltinnSetup {
  issuer: string;
  /** The ID-porten signing key: tokens are verified against the provider's own JWKS. */
  idportenKey: JWK;
  /** The separate key Altinn tokens are signed with. */
  altinnKey: JWK;
  log: (line: string) => void;
}

export function altinnRoutes(setup: AltinnSetup): Hono {
  const { issuer, log } = setup;
  const idportenJwks = createLocalJWKSet({ keys: [publicJwk(setup.idportenKey)] });
  const signingKey = importJWK(setup.altinnKey, "RS256");
  const altinnIssuer = `${issuer}/altinn/authentication/api/v1/openid/`;
  const app = new Hono();

  app.get(ALTINN_EXCHANGE_PATH, async (c) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!bearer) return problem(c, 401, "Unauthorized", "An ID-porten access token is required as Bearer token");

    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(bearer, idportenJwks, { issuer, algorithms: ["RS256"], typ: "at+jwt", requiredClaims: ["exp"] }));
    } catch (error) {
      const reason = error instanceof joseErrors.JWTExpired ? "the token has expired" : "the token is not a valid ID-porten access token";
      log(`altinn: refused, ${reason}`);
      return problem(c, 401, "Unauthorized", reason);
    }

    const { pid, acr, scope, exp } = claims;
    if (typeof pid !== "string" || typeof acr !== "string") {
      return problem(c, 401, "Unauthorized", "the token has no pid or no acr");
    }
    const authLevel = AUTH_LEVELS[acr];
    if (authLevel === undefined) return problem(c, 401, "Unauthorized", `acr ${acr} is not a level Altinn accepts`);
    if (!hasAcceptedScope(scope)) {
      log(`altinn: refused ${maskPid(pid)}, no accepted scope`);
      return problem(c, 403, "Forbidden", "the token has no altinn: scope and no accepted partner scope");
    }

    const altinnToken = await new SignJWT({
      pid,
      acr,
      scope,
      client_id: claims.client_id,
      "urn:altinn:authlevel": authLevel,
    })
      .setProtectedHeader({ alg: "RS256", kid: setup.altinnKey.kid, typ: "JWT" })
      .setIssuer(altinnIssuer)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime(exp as number) // the same expiry as the ID-porten token it came from
      .sign(await signingKey);
    log(`altinn: exchanged a token for ${maskPid(pid)}`);
    return c.text(altinnToken, 200);
  });

  return app;
}

function problem(c: Context, status: 401 | 403, title: string, detail: string): Response {
  return c.body(JSON.stringify({ type: "about:blank", title, status, detail }), status, {
    "content-type": "application/problem+json",
  });
}
