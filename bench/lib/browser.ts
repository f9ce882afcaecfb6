// A browser's walk through a login, as src/scenarios/harness.ts `login` does it: global fetch with
// redirect: "manual" and a cookie jar, hop by hop, until an answer without a Location (the page),
// or until the next hop would start with `stopAt` (the callback URL, not sent).
export interface Walk {
  status: number;
  /** The last URL requested, or with `stopAt` the URL not requested. */
  url: string;
  body: string;
  hops: number;
}

export async function walk(startUrl: string, options: { stopAt?: string; jar?: Map<string, string> } = {}): Promise<Walk> {
  const jar = options.jar ?? new Map<string, string>();
  let next = startUrl;
  for (let hop = 0; hop < 20; hop++) {
    const headers: Record<string, string> = jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
    const res = await fetch(next, { redirect: "manual", headers });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(";")[0]!;
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    const location = res.headers.get("location");
    if (!location) return { status: res.status, url: next, body: await res.text(), hops: hop + 1 };
    await res.arrayBuffer();
    next = new URL(location, next).toString();
    if (options.stopAt && next.startsWith(options.stopAt)) return { status: res.status, url: next, body: "", hops: hop + 1 };
  }
  throw new Error(`too many redirects from ${startUrl}`);
}

/** `url` with login_hint=<pid> added (the simulator logs that synthetic person in, no page). */
export function withLoginHint(url: string, pid: string): string {
  const u = new URL(url);
  u.searchParams.set("login_hint", pid);
  return u.toString();
}
