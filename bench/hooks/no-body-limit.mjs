// Preload for an A/B in bench/profile-token.ts (never used by the service itself):
//   node --import tsx --import ./bench/hooks/no-body-limit.mjs src/main.node.ts
// "hono/body-limit" resolves to a pass-through middleware, so the cost of the real one can be
// measured: it reads c.req.raw.body, which makes @hono/node-server build a full web Request (with
// a ReadableStream over the socket) for every request that has a body.
import { register } from "node:module";

register("data:text/javascript," + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === "hono/body-limit") {
    return { url: "data:text/javascript," + encodeURIComponent("export const bodyLimit = () => (c, next) => next();"), format: "module", shortCircuit: true };
  }
  return next(specifier, context);
}`));
