// The integration form on the Web applications page, posted as a browser posts it (every field the
// page rendered, the selected option, the textarea's text, a ticked box only when ticked), over real
// HTTP against the whole service (embedded simulator, lowdb on disk): an edit changes only what the
// person changed (a null refresh token lifetime stays null; a private_key_jwt client keeps its method
// and key), a key can be set (never shown back), a form shown again after a refusal still carries
// the revision its values were typed against (so saving them over someone's change is refused),
// and a refusal with very long input still reaches the person (the flash cookie stays small).
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { startTestService, type TestService } from "../support/test-service.ts";

const PASSWORD = "alice-password-1";
const SECRET = "page-form-secret-Zq9x7Vv2Lr4Kp8Wm3Tn6";
const FLASH_COOKIE = "authflow_flash";

let t: TestService;
beforeAll(async () => {
  const users = [{ user: "alice", passwordHash: await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }) }];
  t = await startTestService({ UI_USERS: JSON.stringify(users), INTEGRATION_ADMINS: "alice" });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const unescape = (text: string) => text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}(?:="([^"]*)")?(?=[\\s/>])`).exec(tag);
  return m ? unescape(m[1] ?? "") : undefined;
};

/** What a browser submits for the form whose action is `action`: inputs (a checkbox only when checked), the selected option (else the first), textareas. */
function formFields(html: string, action: string): Record<string, string> | undefined {
  const form = new RegExp(`<form[^>]*action="${action.replace(/[/.]/g, "\\$&")}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (form === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const [tag] of form.matchAll(/<input\b[^>]*>/g)) {
    const name = attr(tag, "name");
    if (!name) continue;
    if (attr(tag, "type") === "checkbox" && attr(tag, "checked") === undefined) continue;
    fields[name] = attr(tag, "value") ?? (attr(tag, "type") === "checkbox" ? "on" : "");
  }
  for (const [, open, body] of form.matchAll(/(<select\b[^>]*>)([\s\S]*?)<\/select>/g)) {
    const options = [...body!.matchAll(/<option\b[^>]*>/g)].map(([tag]) => tag);
    const chosen = options.find((o) => attr(o, "selected") !== undefined) ?? options[0]!;
    fields[attr(open!, "name")!] = attr(chosen, "value")!;
  }
  for (const [, open, body] of form.matchAll(/(<textarea\b[^>]*>)([\s\S]*?)<\/textarea>/g)) fields[attr(open!, "name")!] = unescape(body!);
  return fields;
}

/** alice, with a cookie jar; posts follow the redirect back to the page. */
class Alice {
  jar = new Map<string, string>();
  setCookies: string[] = [];
  async fetch(path: string, form?: Record<string, string>) {
    const headers: Record<string, string> = { "accept-language": "en-GB,en;q=0.8" };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(t.url + path, { method: form ? "POST" : "GET", headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair, ...attributes] = c.split(";");
      const i = pair!.indexOf("=");
      const [name, value] = [pair!.slice(0, i).trim(), pair!.slice(i + 1).trim()];
      if (value === "" || attributes.some((a) => /max-age=0\b/i.test(a.trim()))) this.jar.delete(name);
      // As a browser: a cookie over 4,096 bytes is dropped, not kept.
      else if (pair!.length <= 4096) this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  }
  static async signIn(): Promise<Alice> {
    const alice = new Alice();
    await alice.fetch("/signin");
    const res = await alice.fetch("/signin", { user: "alice", password: PASSWORD, back: "/", _csrf: alice.jar.get("authflow_signin")! });
    expect(res.status, res.text.slice(0, 300)).toBe(303);
    return alice;
  }
  async page(): Promise<string> {
    const res = await this.fetch("/");
    expect(res.status).toBe(200);
    return res.text;
  }
  /** Submits the form of `action` as the page shows it now (or as `html` showed it), with `changes` typed in; answers the page shown after. */
  async submit(action: string, changes: Record<string, string | undefined>, html?: string): Promise<string> {
    const fields = formFields(html ?? (await this.page()), action);
    expect(fields, `no form for ${action}`).toBeDefined();
    const form = { ...fields! };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete form[k];
      else form[k] = v;
    }
    const res = await this.fetch(action, form);
    expect(res.status, res.text.slice(0, 300)).toBe(303);
    return this.page();
  }
}

const integration = (name: string, idporten: Record<string, unknown> = {}) => ({
  name,
  idporten: { issuer: t.service.simulator!.issuer, clientId: `${name}-client`, clientSecret: SECRET, redirectUri: `${t.url}/callback`, ...idporten },
  altinn: { exchangeUrl: t.service.simulator!.altinnExchangeUrl },
});
const get = async (name: string) => (await t.api("GET", `/api/integrations/${name}`)).json;
const lastChange = async (name: string) => ((await t.api("GET", `/api/integrations/${name}/audit`)).json.entries as Array<{ changed: string[] }>).at(-1)!.changed;
const notices = (html: string) => [...html.matchAll(/class="notice error"[^>]*>([\s\S]*?)<\/p>/g)].map(([, m]) => unescape(m!.replace(/<[^>]+>/g, "")));

describe("an edit on the page changes only what the person changed", () => {
  it("a refresh token lifetime of none (null) is shown as none, kept by an edit of another field, and can be set and cleared", async () => {
    expect((await t.api("POST", "/api/integrations", integration("keepnull", { refreshTokenLifetimeSeconds: null }))).status).toBe(201);
    const alice = await Alice.signIn();
    const page = await alice.page();
    expect(page).toContain("none (no keep-alive)");
    expect(formFields(page, "/integrations/keepnull")!.refreshTokenNoExpiry).toBe("on");

    await alice.submit("/integrations/keepnull", { loginTimeoutSeconds: "180" });
    const after = await get("keepnull");
    expect(after.loginTimeoutSeconds).toBe(180);
    expect(after.idporten.refreshTokenLifetimeSeconds).toBeNull(); // not 600
    expect(await lastChange("keepnull")).toEqual(["loginTimeoutSeconds"]);

    // "None" ticked and a number typed: the person is asked which, nothing is changed.
    const both = await alice.submit("/integrations/keepnull", { refreshTokenLifetimeSeconds: "900" });
    expect(notices(both).join(" ")).toContain("give a number of seconds or tick “None”, not both");
    expect(await get("keepnull")).toEqual(after);

    // Unticked with a number: that number; ticked again: none.
    await alice.submit("/integrations/keepnull", { refreshTokenNoExpiry: undefined, refreshTokenLifetimeSeconds: "900" });
    expect((await get("keepnull")).idporten.refreshTokenLifetimeSeconds).toBe(900);
    const page900 = await alice.page();
    expect(formFields(page900, "/integrations/keepnull")!.refreshTokenNoExpiry).toBeUndefined();
    await alice.submit("/integrations/keepnull", { refreshTokenNoExpiry: "on", refreshTokenLifetimeSeconds: "" }, page900);
    expect((await get("keepnull")).idporten.refreshTokenLifetimeSeconds).toBeNull();
    expect(await lastChange("keepnull")).toEqual(["idporten.refreshTokenLifetimeSeconds"]);
  });

  it("a private_key_jwt integration is shown as one, kept with its key by an edit of another field; a secret typed is refused; a new key and key id can be set, never shown", async () => {
    const key = JSON.stringify(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey));
    const created = await t.api("POST", "/api/integrations", integration("pkj", { clientSecret: undefined, clientAuth: "private_key_jwt", clientKey: key, clientKeyId: "kid-1" }));
    expect(created.status, created.text).toBe(201);
    const alice = await Alice.signIn();
    const page = await alice.page();
    const fields = formFields(page, "/integrations/pkj")!;
    expect(fields.clientAuth).toBe("private_key_jwt");
    expect(fields.clientKeyId).toBe("kid-1");
    expect(fields.clientKey).toBe(""); // write-only

    await alice.submit("/integrations/pkj", { loginTimeoutSeconds: "180" });
    const after = await get("pkj");
    expect(after.idporten).toMatchObject({ clientAuth: "private_key_jwt", clientKeyId: "kid-1", clientSecretSet: true });
    expect(await lastChange("pkj")).toEqual(["loginTimeoutSeconds"]);

    // A secret typed into a private_key_jwt client: refused in words, not a quiet switch to client_secret_post.
    const refused = await alice.submit("/integrations/pkj", { clientSecret: "a-secret-typed-by-mistake" });
    expect(notices(refused).join(" ")).toContain("is not used with private_key_jwt");
    expect(await get("pkj")).toEqual(after);

    // A new key and its id, typed on the page: saved (the audit names the key, never its value), never shown back.
    const newKey = JSON.stringify(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey));
    const saved = await alice.submit("/integrations/pkj", { clientKey: newKey, clientKeyId: "kid-2" });
    expect((await get("pkj")).idporten.clientKeyId).toBe("kid-2");
    expect(await lastChange("pkj")).toEqual(["idporten.clientKey", "idporten.clientKeyId"]);
    const d = JSON.parse(newKey).d as string;
    expect(saved).not.toContain(d);
    expect(formFields(saved, "/integrations/pkj")!.clientKey).toBe("");
  });

  it("a client_secret_post integration moves to private_key_jwt on the page when a key and key id are given", async () => {
    expect((await t.api("POST", "/api/integrations", integration("tokey"))).status).toBe(201);
    const alice = await Alice.signIn();
    const missing = await alice.submit("/integrations/tokey", { clientAuth: "private_key_jwt" });
    expect(notices(missing).join(" ")).toContain("Client key id (idporten.clientKeyId) is required with private_key_jwt");
    expect((await get("tokey")).idporten.clientAuth).toBe("client_secret_post");
    const key = JSON.stringify(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey));
    await alice.submit("/integrations/tokey", { clientAuth: "private_key_jwt", clientKey: key, clientKeyId: "kid-9" });
    expect((await get("tokey")).idporten).toMatchObject({ clientAuth: "private_key_jwt", clientKeyId: "kid-9", clientSecretSet: true });
  });
});

describe("a form shown again after a refusal keeps the revision its values were typed against", () => {
  it("after a problem: someone else's change meanwhile is not overwritten by the corrected save (409, named)", async () => {
    expect((await t.api("POST", "/api/integrations", integration("stale1"))).status).toBe(201);
    const alice = await Alice.signIn();
    const loaded = await alice.page();
    // Meanwhile, through the API: the Altinn step made manual (revision 2).
    const other = await t.api("PUT", "/api/integrations/stale1", { ...integration("stale1"), idporten: { ...integration("stale1").idporten, clientSecret: undefined }, exchangeMode: "manual", revision: 1 });
    expect(other.status, other.text).toBe(200);
    // alice's save of the form she loaded at revision 1 has a typo: refused for it, shown again with her values…
    const refused = await alice.submit("/integrations/stale1", { loginTimeoutSeconds: "5" }, loaded);
    expect(notices(refused).join(" ")).toContain("Login timeout");
    // …and with the revision they were typed against, not the one stored now.
    expect(formFields(refused, "/integrations/stale1")!.revision).toBe("1");
    // alice corrects her typo in the form as it was shown to her, and saves.
    const conflict = await alice.submit("/integrations/stale1", { loginTimeoutSeconds: "180" }, refused);
    expect(notices(conflict).join(" ")).toContain("was changed by someone else since you loaded it (you edited revision 1; it is now at revision 2)");
    expect(await get("stale1")).toMatchObject({ exchangeMode: "manual", loginTimeoutSeconds: 600, revision: 2 });
  });

  it("after a 409: saving the same stale values again is refused again, not written over the change", async () => {
    expect((await t.api("POST", "/api/integrations", integration("stale2"))).status).toBe(201);
    const alice = await Alice.signIn();
    const loaded = await alice.page();
    const other = await t.api("PUT", "/api/integrations/stale2", { ...integration("stale2"), idporten: { ...integration("stale2").idporten, clientSecret: undefined }, exchangeMode: "manual", revision: 1 });
    expect(other.status, other.text).toBe(200);
    const first = await alice.submit("/integrations/stale2", { loginTimeoutSeconds: "180" }, loaded);
    expect(notices(first).join(" ")).toContain("you edited revision 1; it is now at revision 2");
    expect(formFields(first, "/integrations/stale2")!.revision).toBe("1");
    const again = await alice.submit("/integrations/stale2", {}, first);
    expect(notices(again).join(" ")).toContain("you edited revision 1; it is now at revision 2");
    expect(await get("stale2")).toMatchObject({ exchangeMode: "manual", loginTimeoutSeconds: 600, revision: 2 });
    // Loaded again, the form carries the stored revision and saves.
    await alice.submit("/integrations/stale2", { loginTimeoutSeconds: "180" });
    expect(await get("stale2")).toMatchObject({ exchangeMode: "manual", loginTimeoutSeconds: 180, revision: 3 });
  });
});

describe("a refusal of very long input still reaches the person", () => {
  it("a 5,000-character scope or a 30,000-character issuer: the flash cookie fits a browser, the problem is shown, the values left out are named", async () => {
    const alice = await Alice.signIn();
    for (const [field, value, problem] of [
      ["scope", `openid ${"x".repeat(5_000)}`, "Scope (idporten.scope) must be at most 1000 characters"],
      ["issuer", `https://${"i".repeat(30_000)}.example`, "ID-porten issuer (idporten.issuer) must be at most 500 characters"],
    ] as const) {
      alice.setCookies = [];
      const add = { name: "longone", issuer: t.service.simulator!.issuer, clientId: "c", clientSecret: "s", redirectUri: `${t.url}/callback`, exchangeUrl: t.service.simulator!.altinnExchangeUrl, [field]: value };
      const shown = await alice.submit("/integrations", add);
      const flash = alice.setCookies.find((c) => c.startsWith(`${FLASH_COOKIE}=`))!;
      expect(flash.split(";")[0]!.length, field).toBeLessThanOrEqual(4096);
      const said = notices(shown).join(" ");
      expect(said).toContain(problem);
      expect(said).toContain(`Too long to show again: what you typed in “${field === "scope" ? "Scope" : "Issuer"}”`);
      // What did fit is kept.
      expect(formFields(shown, "/integrations")!.name).toBe("longone");
      expect((await t.api("GET", "/api/integrations/longone")).status).toBe(404);
    }
  });
});
