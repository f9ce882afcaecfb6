// The path of a request as the access log and error lines may show it.
/**
 * A request's path as it may be logged or echoed: without the query (the callback's holds a one-time
 * code) and with a login link's secret part cut off. Cut from the URL's text, not parsed: this runs
 * for every access-log line, and a URL parse was a measurable part of a token call. The path stays as
 * it was sent (percent-escapes kept, so nothing decoded can break a log line).
 */
export function loggablePath(url: string): string {
  const scheme = url.indexOf("//");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 2);
  if (start === -1) return "/";
  let end = url.length;
  for (const stop of ["?", "#"]) {
    const at = url.indexOf(stop, start);
    if (at !== -1 && at < end) end = at;
  }
  const path = url.slice(start, end);
  // The dot may come escaped (%2E): the router decodes it, so such a link opens too.
  return path.startsWith("/login/") ? path.replace(/^\/login\/((?:(?!%2e)[^/.])*)(?:\.|%2e)[^/]*/i, "/login/$1.…") : path;
}
