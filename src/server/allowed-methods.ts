// A request for a path that exists, with a method it does not take, is 405 with Allow (RFC 9110
// §15.5.6), not 404 "Nothing here": the caller's URL is right and its method is not (a review found
// PUT /api/flows/{id} answered 404). Read off the app's own route table, so it stays true as routes come.

interface Route {
  method: string;
  path: string;
}

/** The methods the routes take at `pathname` (none: no such path). Middleware (method ALL) does not count. */
export function allowedMethods(routes: readonly Route[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || !matches(route.path, pathname)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD"); // Hono answers HEAD with the GET route
  }
  return [...methods];
}

const patterns = new Map<string, RegExp>();

/** Hono's path syntax as used here: literal segments, `:name` (optionally `:name{regex}`), and `*`. */
function matches(path: string, pathname: string): boolean {
  let pattern = patterns.get(path);
  if (!pattern) {
    const source = path
      .split("/")
      .map((segment) => (segment === "*" ? ".*" : segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    // Strict, as Hono's router is: /api/flows/ is not /api/flows (a review saw a 405 "does not take GET; it takes GET").
    patterns.set(path, (pattern = new RegExp(`^${source}$`)));
  }
  return pattern.test(pathname);
}
