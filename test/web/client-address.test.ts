// The sign-in limit per address must count the person, not the reverse proxy in front of everyone:
// behind a trusted proxy the address is the nearest X-Forwarded-For hop that is not a trusted proxy.
import { Hono } from "hono";
import { expect, it } from "vitest";
import { parseTrustedProxies } from "../../src/identity/trusted-proxies.ts";
import { clientAddress } from "../../src/web/web-routes.tsx";

const trusted = parseTrustedProxies("10.0.0.5,10.1.0.0/16").matches;
const app = new Hono().get("/", (c) => c.text(clientAddress(c, trusted)));
const from = async (peer: string, forwarded?: string) =>
  (await app.request("/", { headers: forwarded ? { "x-forwarded-for": forwarded } : {} }, { incoming: { socket: { remoteAddress: peer } } })).text();

it("is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For claims", async () => {
  expect(await from("192.0.2.7", "203.0.113.9")).toBe("192.0.2.7");
});

it("is the nearest untrusted hop behind trusted proxies, so people behind one proxy do not share a limit", async () => {
  expect(await from("10.0.0.5", "203.0.113.9")).toBe("203.0.113.9");
  expect(await from("10.0.0.5", "198.51.100.1, 203.0.113.9, 10.1.2.3")).toBe("203.0.113.9"); // a forged left part is not believed
  expect(await from("::ffff:10.0.0.5", "203.0.113.10")).toBe("203.0.113.10");
});

it("falls back to the proxy when it names nobody", async () => {
  expect(await from("10.0.0.5")).toBe("10.0.0.5");
});
