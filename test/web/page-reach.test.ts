// A person limited to some legal entities (UI_USERS "legalEntities") sees only their flows on the
// page, and another entity's flow is as unknown to them as one that does not exist (404, unnamed).
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

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
  const signinPage = await fetch(`${t.url}/signin`);
  const signinCookie = signinPage.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("authflow_signin="))!;
  const signedIn = await fetch(`${t.url}/signin`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: signinCookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ user: "carol", password: "carol-password-3", _csrf: signinCookie.split("=")[1]!, back: "/" }),
  });
  expect(signedIn.status).toBe(303);
  const session = signedIn.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("authflow_session="))!;
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
