// A tap on the wire between the service and its peers: while installed, every call made through
// the global fetch in this process (openid-client's discovery, PAR, token, revocation calls; the
// Altinn exchange) is recorded with its request and response bodies, as a proxy would see them.
// It reads what travels, not what the service keeps, so tests can learn the secrets the service
// handled (refresh tokens, code_verifier, nonce, client secret) without reaching into its internals.
//
// Install it before the service starts: the Altinn client takes `fetch` when it is made.

export interface TappedCall {
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  status: number;
  responseBody: string;
}

export interface WireTap {
  calls: TappedCall[];
  /** The calls whose URL path ends with `path` (e.g. "/token"). */
  to(path: string): TappedCall[];
  /** Form fields of the calls to `path` with the given grant_type (all grant types when omitted). */
  tokenRequests(grantType?: string): URLSearchParams[];
  restore(): void;
}

export function tapFetch(): WireTap {
  const original = globalThis.fetch;
  const calls: TappedCall[] = [];
  const tapped: typeof fetch = async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const requestBody = request.body ? await request.clone().text() : "";
    const response = await original(request);
    const call: TappedCall = {
      method: request.method,
      url: request.url,
      requestHeaders: Object.fromEntries(request.headers),
      requestBody,
      status: response.status,
      responseBody: "",
    };
    calls.push(call);
    // Read a copy, so the caller's body stream is left whole (and its own timeout still applies).
    void response
      .clone()
      .text()
      .then((text) => (call.responseBody = text), () => undefined);
    return response;
  };
  globalThis.fetch = tapped;
  const to = (path: string) => calls.filter((c) => new URL(c.url).pathname.endsWith(path));
  return {
    calls,
    to,
    tokenRequests: (grantType) =>
      to("/token")
        .map((c) => new URLSearchParams(c.requestBody))
        .filter((form) => grantType === undefined || form.get("grant_type") === grantType),
    restore() {
      if (globalThis.fetch === tapped) globalThis.fetch = original;
    },
  };
}
