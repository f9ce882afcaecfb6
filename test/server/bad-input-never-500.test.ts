// Regression guard for "bad input gets a clear 4xx problem, never a 500": every method on every
// route with malformed bodies. (The stream is only opened, not read.)
import { it, expect } from "vitest";
import { startTestService, API_TOKEN } from "../support/test-service.ts";
it("no combination of method, path and malformed body yields a 500 or a non-problem error", async () => {
  const t = await startTestService();
  const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
  const bodies = ["", "null", "1", "\"x\"", "{}", "[]", "{\"type\":null}", "{\"type\":\"AUTHORIZE\",\"user\":\"a\",\"uiLocale\":5}", "{\"user\":{}}", "{\"legalEntity\":[]}", "\u0000", "{\"__proto__\":{\"x\":1},\"legalEntity\":\"999999999\"}", "{\"advanceSeconds\":\"1\"}"];
  const paths = ["/api/flows", `/api/flows/${id}`, `/api/flows/${id}/events`, `/api/flows/${id}/token`, `/api/flows/${id}/stream`, `/api/flows/${id}/audit`, "/api/clock", "/api/machines/x", "/api/flows/%00", "/api/flows/../../etc/passwd", "/callback?state=..&code=x", "/callback?error=x&state=abc.def", "/api/flows?legalEntity=%ff", "/api/nope"];
  const bad: string[] = [];
  for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) for (const path of paths) for (const body of method === "GET" || method === "DELETE" ? [undefined] : bodies) {
    const res = await fetch(t.url + path, { method, headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" }, body, signal: AbortSignal.timeout(3000) }).catch((e) => ({ status: -1, headers: new Headers(), text: async () => String(e) }) as any);
    const text = path.endsWith("/stream") && method === "GET" ? "" : await res.text();
    if (res.status >= 500 || res.status < 0) bad.push(`${method} ${path} ${body} → ${res.status} ${text.slice(0, 100)}`);
    if (res.status >= 400 && !path.startsWith("/callback") && !(res.headers.get("content-type") ?? "").includes("problem+json")) bad.push(`${method} ${path} → ${res.status} not problem: ${res.headers.get("content-type")}`);
  }
  await t.close();
  expect(bad).toEqual([]);
}, 120_000);
