// A browser for scenarios, without a browser: one cookie jar that lives across requests (so an
// ID-porten SSO session and the login cookie are kept, as a real browser keeps them), redirects
// followed hop by hop, and forms posted. Every server here is on 127.0.0.1, so, like a browser,
// the jar sends a cookie to every port; it honours expiry and deletion, not Path.

export interface Page {
  status: number;
  /** The address of this page (or, with `stopAt`, the next address, not requested). */
  url: string;
  body: string;
  /** Every address requested on the way, in order. */
  visited: string[];
}

export class ScenarioBrowser {
  readonly #jar = new Map<string, string>();

  /** The jar as a Cookie header (what this browser sends). */
  get cookies(): string {
    return [...this.#jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  has(cookiePrefix: string): boolean {
    return [...this.#jar.keys()].some((name) => name.startsWith(cookiePrefix));
  }

  /** GET `url` and follow redirects; with `stopAt`, stop before requesting an address that starts with it. */
  open(url: string, options: { stopAt?: string } = {}): Promise<Page> {
    return this.#walk(url, { method: "GET" }, options.stopAt);
  }

  /** Submits a form (application/x-www-form-urlencoded) and follows the redirects. */
  submit(url: string, form: Record<string, string>, options: { stopAt?: string } = {}): Promise<Page> {
    return this.#walk(url, { method: "POST", body: new URLSearchParams(form).toString(), type: "application/x-www-form-urlencoded" }, options.stopAt);
  }

  async #walk(url: string, first: { method: string; body?: string; type?: string }, stopAt?: string): Promise<Page> {
    const visited: string[] = [];
    let next = url;
    let request = first;
    for (let hop = 0; hop < 20; hop++) {
      visited.push(next);
      const headers: Record<string, string> = {};
      if (this.#jar.size) headers.cookie = this.cookies;
      if (request.type) headers["content-type"] = request.type;
      const res = await fetch(next, { method: request.method, redirect: "manual", headers, ...(request.body !== undefined ? { body: request.body } : {}) });
      this.#take(res.headers.getSetCookie());
      const location = res.headers.get("location");
      if (!location || res.status < 300 || res.status >= 400) return { status: res.status, url: next, body: await res.text(), visited };
      await res.body?.cancel();
      next = new URL(location, next).toString();
      if (stopAt && next.startsWith(stopAt)) return { status: res.status, url: next, body: "", visited };
      request = { method: "GET" };
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }

  #take(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const attribute = (key: string) => attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const maxAge = attribute("max-age");
      const expires = attribute("expires");
      const gone = value === "" || (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now());
      if (gone) this.#jar.delete(name);
      else this.#jar.set(name, value);
    }
  }
}

/** The simulator's login page: is this it, and how to pick a person on it (the form the person buttons post). */
export function isSimulatorLoginPage(page: Page): boolean {
  return page.status === 200 && /Choose a test person/.test(page.body);
}

export function loginFormAction(page: Page): string {
  const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
  if (!action) throw new Error(`no login form on ${page.url}`);
  return new URL(action.replace(/&#47;/g, "/"), page.url).toString();
}
