// A person limited to some legal entities (UI_USERS "legalEntities") sees only their flows on the
// page, and another entity's flow is as unknown to them as one that does not exist (404, unnamed).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { describeWithPostgres } from "../store/postgres-server.ts";
import { signInWithPassword } from "../support/page-sign-in.ts";
import { pageStream } from "../support/page-stream.ts";
import { startTestService, type TestService } from "../support/test-service.ts";
import { twoInstancesOnPostgres } from "../support/two-instances.ts";

const MINE = "999999999";
const OTHERS = "123456785";
let t: TestService;
beforeAll(async () => {
  const users = [{ user: "carol", legalEntities: [MINE], passwordHash: await hashPassword("carol-password-3", { ln: 10, r: 8, p: 1 }) }];
  t = await startTestService({ UI_USERS: JSON.stringify(users) });
}, 60_000);
afterAll(async () => t?.close());

it("lists only the person's legal entities and answers 404 for another's card and buttons", async () => {
  const mine = (await t.api("POST", "/api/flows", { legalEntity: MINE })).json.id as string;
  const others = (await t.api("POST", "/api/flows", { legalEntity: OTHERS })).json.id as string;
  const signedIn = await signInWithPassword(t.url, "carol", "carol-password-3");
  expect(signedIn.status).toBe(303);
  const session = signedIn.session!;
  const home = await (await fetch(`${t.url}/`, { headers: { cookie: session } })).text();
  expect(home).toContain(`data-flow="${mine}"`);
  expect(home).not.toContain(others);
  expect(home).not.toContain(`data-legal-entity="${OTHERS}"`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home)![1]!;
  const card = await fetch(`${t.url}/flows/${others}/card`, { headers: { cookie: session } });
  expect(card.status).toBe(404);
  expect(await card.text()).not.toContain(OTHERS);
  const renew = await fetch(`${t.url}/flows/${others}/authorize`, { method: "POST", redirect: "manual", headers: { cookie: session, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ _csrf: csrf }) });
  expect(renew.status).toBe(404);
  expect((await t.api("GET", `/api/flows/${others}`)).json.state).toBe("idle"); // nothing happened to it
}, 60_000);

describe("a person the trusted proxy signs in, listed in UI_USERS without a password", () => {
  const PROXY = "10.1.2.3";
  let p: TestService;
  beforeAll(async () => {
    const users = [
      { user: "pat", name: "Pat Proxied", legalEntities: [MINE] }, // no passwordHash: reach and name only
      { user: "dana", passwordHash: await hashPassword("dana-password-4", { ln: 10, r: 8, p: 1 }) },
    ];
    p = await startTestService({ UI_USERS: JSON.stringify(users), TRUSTED_USER_HEADER: "x-remote-user", TRUSTED_PROXIES: PROXY });
  }, 60_000);
  afterAll(async () => p?.close());
  const viaProxy = (path: string, user: string) =>
    p.service.app.request(path, { headers: { "x-remote-user": user, "accept-language": "en" } }, { incoming: { socket: { remoteAddress: PROXY } } });

  it("gets that entry's reach and name; someone the proxy names who is not listed reaches every legal entity", async () => {
    const mine = (await p.api("POST", "/api/flows", { legalEntity: MINE })).json.id as string;
    const others = (await p.api("POST", "/api/flows", { legalEntity: OTHERS })).json.id as string;
    const pat = await viaProxy("/", "pat");
    expect(pat.status).toBe(200);
    const home = await pat.text();
    expect(home).toContain("Pat Proxied");
    expect(home).toContain(`data-flow="${mine}"`);
    expect(home).not.toContain(others);
    expect((await viaProxy(`/flows/${others}/card`, "pat")).status).toBe(404);
    const erin = await (await viaProxy("/", "erin")).text();
    expect(erin).toContain(`data-flow="${others}"`);
  });

  it("cannot sign in with a password, whatever is typed; a listed person with a password still can", async () => {
    const signIn = async (user: string, password: string) => (await signInWithPassword(p.url, user, password)).status;
    for (const password of ["", "null", "anything"]) expect(await signIn("pat", password)).toBe(401);
    expect(await signIn("dana", "dana-password-4")).toBe(303);
  });
});

it("finds one legal entity's authorizations, within the person's reach, and says so when what was typed is not an organisation number", async () => {
  const { session } = await signInWithPassword(t.url, "carol", "carol-password-3");
  const page = async (query: string) => (await fetch(`${t.url}/${query}`, { headers: { cookie: session!, "accept-language": "en" } })).text();
  const flows = (html: string) => [...html.matchAll(/data-flow="([^"]+)"/g)].map((m) => m[1]!);
  const mine = (await t.api("POST", "/api/flows", { legalEntity: MINE })).json.id as string;
  const all = await page("");
  expect(flows(all)).toContain(mine);
  const found = await page(`?legalEntity=${MINE.replace(/(\d{3})(?=\d)/g, "$1 ")}`); // as people type it: "999 999 999"
  expect(flows(found)).toContain(mine);
  expect(flows(found).length).toBeGreaterThan(0);
  expect(found).toContain("Authorizations for 999 999 999.");
  expect(found).toContain('data-only="999999999"');
  // Outside the person's reach: nothing, and nothing about it.
  expect((await t.api("GET", `/api/flows?legalEntity=${OTHERS}`)).json.flows.length).toBeGreaterThan(0);
  const outside = await page(`?legalEntity=${OTHERS}`);
  expect(flows(outside)).toEqual([]);
  expect(outside).toContain("No authorizations for 123 456 785 that you may see.");
  const wrong = await page("?legalEntity=12345");
  expect(wrong).toContain("&quot;12345&quot; is not an organisation number");
  expect(wrong).toContain('aria-invalid="true"');
  expect(flows(wrong)).toEqual(flows(all)); // the whole list stays
});

await describeWithPostgres("several instances on PostgreSQL", () => {
  const instances = twoInstancesOnPostgres("authflow_reach");

  it("a flow deleted on another instance leaves the page of a person who may see it, and nobody else hears of it", async () => {
    const users = [{ user: "carol", legalEntities: [MINE], passwordHash: await hashPassword("carol-password-3", { ln: 10, r: 8, p: 1 }) }];
    const [a, b] = await instances.start({ UI_USERS: JSON.stringify(users), ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") });
    const { session } = await signInWithPassword(a.url, "carol", "carol-password-3");
    const stream = await pageStream(a.url, session!);
    try {
      // Made and deleted on B: A never holds either flow, so only the notification can say whose it was.
      const mine = (await b.api("POST", "/api/flows", { legalEntity: MINE })).json.id as string;
      const others = (await b.api("POST", "/api/flows", { legalEntity: OTHERS })).json.id as string;
      expect(await stream.until(`"id":"${mine}"`), "carol's page hears of her new flow").toBe(true);
      expect((await b.api("DELETE", `/api/flows/${others}`)).status).toBe(204);
      expect((await b.api("DELETE", `/api/flows/${mine}`)).status).toBe(204);
      expect(await stream.until(`event: deleted\ndata: {"id":"${mine}"}`), `carol's page is told her flow is gone; it got ${JSON.stringify(stream.frames)}`).toBe(true);
      // Events come in order: the other legal entity's deletion, made first, was not sent.
      expect(stream.frames.join("\n")).not.toContain(others);
    } finally {
      stream.close();
    }
  }, 60_000);
});
