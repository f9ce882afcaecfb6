// Altinn's token exchange (Altinn/altinn-authentication, AuthenticationController,
// AuthenticateIdPortenToken): GET …/exchange/id-porten with an ID-porten access token as Bearer →
// 200 text/plain Altinn JWT with the same expiry. The checks, in Altinn's order:
//   1. a token that is missing, unreadable, badly signed or expired → 401;
//   2. no `altinn:` scope and no accepted partner scope → 403 (`Forbid()`: the authentication
//      handler answers it, with an empty body);
//   3. no `pid` or no `acr` → 401;
//   4. a person Altinn's register does not know → 401 (the user profile lookup fails).
// A 401 is ASP.NET's `Unauthorized()` with [ApiController]: a ProblemDetails body with type,
// title, status and traceId, and no detail — so the reason is only in the simulator's log.

import { Hono, type Context } from "hono";
import { createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { ACR_HIGH, ACR_SUBSTANTIAL } from "./acr.ts";
import type { AltinnRegister } from "./altinn-register.ts";
import { publicJwk } from "./keys.ts";
import { maskPid } from "./persons.ts";

export const ALTINN_EXCHANGE_PATH = "/altinn/authentication/api/v1/exchange/id-porten";

/** Partner scopes Altinn accepts besides any `altinn:` scope. */
const ACCEPTED_PARTNER_SCOPES = ["skatteetaten:mvameldinginnsending", "skatteetaten:mvameldingvalidering"];

/** Claims of the ID-porten token Altinn does not carry over into its own. */
const DROPPED_CLAIMS = ["aud", "iss", "at_hash", "jti", "sub", "exp", "iat", "nbf"];

/** Whether Altinn would exchange a token with this `scope` claim. */
export function hasAcceptedScope(scope: unknown): boolean {
  if (typeof scope !== "string") return false;
  return scope.split(" ").some((s) => s.startsWith("altinn:") || ACCEPTED_PARTNER_SCOPES.includes(s));
}

/** Altinn's authentication level for an acr: substantial 3, high 4, otherwise its last character. */
export function authLevelOf(acr: string): number {
  if (acr === ACR_SUBSTANTIAL) return 3;
  if (acr === ACR_HIGH) return 4;
  if (acr === "idporten-loa-low") return 0;
  const last = Number(acr.slice(-1));
  return Number.isInteger(last) ? last : 0;
}

export interface AltinnSetup {
  issuer: string;
  /** The ID-porten signing key: tokens are verified against the provider's own JWKS. */
  idportenKey: JWK;
  /** The separate key Altinn tokens are signed with. */
  altinnKey: JWK;
  register: AltinnRegister;
  log: (line: string) => void;
}

export function altinnRoutes(setup: AltinnSetup): Hono {
  const { issuer, register, log } = setup;
  const idportenJwks = createLocalJWKSet({ keys: [publicJwk(setup.idportenKey)] });
  const signingKey = importJWK(setup.altinnKey, "RS256");
  const altinnIssuer = `${issuer}/altinn/authentication/api/v1/openid/`;
  const app = new Hono();

  app.get(ALTINN_EXCHANGE_PATH, async (c) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!bearer) return unauthorized(c, log, "no Bearer token");

    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(bearer, idportenJwks, { issuer, algorithms: ["RS256"], typ: "at+jwt", requiredClaims: ["exp"] }));
    } catch (error) {
      return unauthorized(c, log, error instanceof joseErrors.JWTExpired ? "the token has expired" : "the token is not a valid ID-porten access token");
    }

    const { pid, acr, scope, exp } = claims;
    if (!hasAcceptedScope(scope)) {
      log(`altinn: refused (403), the token has no altinn: scope and no accepted partner scope`);
      return c.body(null, 403);
    }
    if (typeof pid !== "string" || !pid || typeof acr !== "string" || !acr) return unauthorized(c, log, "the token has no pid or no acr");
    const person = await register.lookUp(pid);
    if (!person) return unauthorized(c, log, `${maskPid(pid)} is not in Altinn's register`);

    const carried = Object.fromEntries(Object.entries(claims).filter(([name]) => !DROPPED_CLAIMS.includes(name)));
    const altinnToken = await new SignJWT({
      ...carried,
      nameid: String(person.userId),
      "urn:altinn:userid": String(person.userId),
      "urn:altinn:partyid": person.partyId,
      "urn:altinn:authenticatemethod": "NotDefined", // ID-porten access tokens carry no amr
      "urn:altinn:authlevel": authLevelOf(acr),
    })
      .setProtectedHeader({ alg: "RS256", kid: setup.altinnKey.kid, typ: "JWT" })
      .setIssuer(altinnIssuer)
      .setJti(crypto.randomUUID())
      .setNotBefore("0s")
      .setIssuedAt()
      .setExpirationTime(exp as number) // the same expiry as the ID-porten token it came from
      .sign(await signingKey);
    log(`altinn: exchanged a token for ${maskPid(pid)}`);
    return c.text(altinnToken, 200);
  });

  return app;
}

/** ASP.NET Core's ProblemDetails for `Unauthorized()`; the reason goes to the log only. */
function unauthorized(c: Context, log: (line: string) => void, reason: string): Response {
  const traceId = `00-${hex(16)}-${hex(8)}-00`;
  log(`altinn: refused (401), ${reason}, traceId ${traceId}`);
  const body = { type: "https://tools.ietf.org/html/rfc9110#section-15.5.2", title: "Unauthorized", status: 401, traceId };
  return c.body(JSON.stringify(body), 401, { "content-type": "application/problem+json; charset=utf-8" });
}

function hex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
