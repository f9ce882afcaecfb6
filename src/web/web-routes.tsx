// The Web applications page (issue 10): sign-in, the authorizations and their buttons, the
// integration points, and a stream that moves the page without a reload. Server-rendered; every
// form works without JavaScript (post, then redirect back: the outcome travels in a sealed,
// short-lived cookie). The acting user of every button is the signed-in person, never a field.
import { Hono, type Context, type Next } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import type { SecretBox } from "../crypto/secrets.ts";
import { AuthflowError } from "../errors.ts";
import type { AuthorizationService, FlowView } from "../flows/authorization-service.ts";
import { checkLegalEntity, mayUseLegalEntity, personCaller, type Caller } from "../identity/caller.ts";
import { verifyPassword } from "../identity/password.ts";
import { SESSION_COOKIE, SESSION_HOURS, type Session, type Sessions, type SignInLimiter } from "../identity/sessions.ts";
import type { UiUser } from "../identity/ui-users.ts";
import { fieldProblems, integrationCreateSchema, integrationUpdateSchema, type FieldProblem, type IntegrationService, type IntegrationView } from "../integrations/integration-types.ts";
import type { ShutdownSignal } from "../lifecycle/shutdown-signal.ts";
import { NewestPerKey } from "../server/newest-per-key.ts";
import { isOrganisationNumber } from "../server/validate.ts";
import { ACTION_EVENTS, type PageAction } from "./actions.ts";
import { APP_SCRIPT, APP_STYLE } from "./assets.ts";
import { FlowCard } from "./flow-card.tsx";
import { HomePage } from "./home-page.tsx";
import { LANG_COOKIE, pickLang, TEXTS, type Lang } from "./i18n.ts";
import { formProblems, formToInput, refusalProblems, typedValues } from "./integration-form.ts";
import type { IntegrationFormState } from "./integrations-section.tsx";
import { SCRIPT_PATH, STYLE_PATH } from "./layout.tsx";
import { SignInPage } from "./signin-page.tsx";

/** What the page's stream hears of a flow: its new view, or that it is gone (with its legal entity where this instance knew it). */
export type FlowChange = { deleted: false; view: FlowView } | { deleted: true; id: string; legalEntity?: string };

export interface WebDeps {
  service: AuthorizationService;
  /** PUBLIC_URL's path ("" or e.g. "/authflow" behind a proxy that strips it): every link and redirect starts with it. */
  basePath?: string;
  integrations: () => IntegrationService | undefined;
  users: readonly UiUser[];
  /** INTEGRATION_ADMINS (and the demo's user): who may add and change integrations. */
  integrationAdmins?: ReadonlySet<string>;
  /** TRUSTED_USER_HEADER: the header a signing-in reverse proxy sets, honoured only from `trustedProxy`. */
  trustedUserHeader?: string | undefined;
  trustedProxy: (address: string | undefined) => boolean;
  sessions: Sessions;
  limiter: SignInLimiter;
  box: SecretBox;
  secureCookies: boolean;
  /** Every written change of any flow, as its view. */
  /** Each written change of a flow: its new view, or that it is gone (deleted or set aside). */
  watchFlows: (listener: (change: FlowChange) => void) => () => void;
  now: () => number;
  /** How long a page's event stream of a person the trusted proxy signed in lasts before the page opens its next one (PROXY_STREAM_MS; tests shorten it). */
  proxyStreamMs?: number;
  /** Per integration: its code lifetime in seconds when known. */
  codeLifetimes: () => Record<string, number | null>;
  shutdown?: ShutdownSignal | undefined;
  log: (line: string) => void;
  /** The demo user's name, pre-filled on the sign-in form. */
  demoUser?: string | undefined;
}

type WebEnv = { Variables: { session: Session; person: UiUser | { user: string; name: string; legalEntities: "*" } } };

const FLASH_COOKIE = "authflow_flash";
/** How many authorizations the page shows at most (a person's own list; beyond it the page says so). */
const PAGE_FLOWS = 2000;
/** How many flows' cards may wait for a browser that has stopped reading its event stream before the stream is ended. */
const STREAM_WAITING_FLOWS = 1000;
/** How often a page's event stream checks that its session still holds (a sign-out on another instance, the expiry). */
const SESSION_CHECK_MS = 5_000;
/** How long a page's event stream of a person the trusted proxy signed in lasts before the page opens its next one through the proxy. */
const PROXY_STREAM_MS = 15 * 60_000;
/** How long such a stream goes on after the page was asked to open its next one. */
const PROXY_STREAM_OVERLAP_MS = 30_000;
const SIGNIN_COOKIE = "authflow_signin";
const FLASH_PURPOSE = "authflow page flash v1";
/**
 * The longest sealed flash: browsers drop a cookie whose name and value pass 4,096 bytes — silently,
 * and the person then saw neither the problem nor the form (review: a 5,000-character scope). What
 * is longer is cut down until it fits (fittedFlash), the problem always kept.
 */
export const FLASH_MAX_CHARS = 3_800;
const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UI_LOCALES = ["nb", "nn", "en", "se"];
const ACR_VALUES = ["idporten-loa-substantial", "idporten-loa-high"];

export interface Flash {
  notice?: { flowId?: string; kind: "error" | "ok"; text: string };
  create?: { legalEntity: string; error: string };
  integrationForm?: IntegrationFormState;
  integrationSaved?: string;
}

/**
 * Who is signing in, for the per-address limit: the peer, or — when the peer is a trusted proxy —
 * the nearest address in X-Forwarded-For that is not one (else every person behind the proxy shares one limit).
 */
export function clientAddress(c: Context, trustedProxy: (address: string | undefined) => boolean): string {
  let address = remoteAddress(c);
  if (!trustedProxy(address)) return address ?? "unknown";
  const hops = (c.req.header("x-forwarded-for") ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  while (hops.length > 0 && trustedProxy(address)) address = hops.pop();
  return address ?? "unknown";
}

/** The connection's peer address: Node's adapter passes the IncomingMessage, Deno.serve its ServeHandlerInfo. */
export function remoteAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } }; remoteAddr?: { hostname?: string } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.remoteAddr?.hostname ?? undefined;
}

export function webRoutes(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  const lang = (c: Context) => pickLang(getCookie(c, LANG_COOKIE), c.req.header("accept-language"));
  const base = (deps.basePath ?? "").replace(/\/+$/, "");
  const usersById = new Map(deps.users.map((u) => [u.user, u]));
  // An unknown user costs the same scrypt as a known one (the users' own cost): the time taken does not say who exists.
  const dummyHash = dummyHashFor(deps.users);
  // The password form shows when someone may sign in with one (not for entries that only give a proxied person's reach).
  const passwordsKept = deps.users.some((u) => u.passwordHash !== null);
  /** A post without the session's CSRF token: refused in words, nothing done. */
  const refusedForm = (c: Context) => c.html(<SignInPage base={base} lang={lang(c)} passwords={passwordsKept} error={TEXTS[lang(c)].formExpired} csrf={signInToken(c)} />, 403);
  const cookieOptions = { httpOnly: true, sameSite: "Lax" as const, secure: deps.secureCookies, path: "/" };

  app.get(STYLE_PATH, (c) => asset(c, APP_STYLE, "text/css; charset=utf-8"));
  app.get(SCRIPT_PATH, (c) => asset(c, APP_SCRIPT, "text/javascript; charset=utf-8"));

  app.get("/lang/:lang", (c) => {
    const wanted = c.req.param("lang");
    if (wanted === "nb" || wanted === "en") setCookie(c, LANG_COOKIE, wanted, { ...cookieOptions, httpOnly: false, maxAge: 365 * 86_400 });
    return c.redirect(base + localPath(c.req.query("back")), 303);
  });

  // --- Signing in and out ---------------------------------------------------------------------
  app.get("/signin", async (c) => {
    if (await currentSession(c)) return c.redirect(`${base}/`, 303);
    return c.html(<SignInPage base={base} lang={lang(c)} passwords={passwordsKept} demoUser={deps.demoUser} back={localPath(c.req.query("back"))} csrf={signInToken(c)} />);
  });

  /**
   * The sign-in form's own CSRF token (no session yet): a random value in a cookie and in the form, which
   * must agree. Another site's form cannot read or set the cookie, so it cannot sign a person's browser in
   * as someone else (whose binding their ID-porten login would then become).
   */
  function signInToken(c: Context): string {
    const held = getCookie(c, SIGNIN_COOKIE);
    if (held && /^[0-9a-f]{48}$/.test(held)) return held;
    const made = Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join("");
    setCookie(c, SIGNIN_COOKIE, made, { ...cookieOptions, path: `${base}/signin`, maxAge: 86_400 });
    return made;
  }

  app.post("/signin", async (c) => {
    const form = await formOf(c);
    const user = (form.user ?? "").trim().slice(0, 128);
    const password = form.password ?? "";
    const address = clientAddress(c, deps.trustedProxy);
    const t = TEXTS[lang(c)];
    const page = (status: 401 | 403 | 429 | 503, error: string) =>
      c.html(<SignInPage base={base} lang={lang(c)} passwords={passwordsKept} error={error} user={user} back={localPath(form.back)} csrf={signInToken(c)} />, status);
    const held = getCookie(c, SIGNIN_COOKIE);
    if (!held || !form._csrf || !equal(form._csrf, held)) return page(403, t.formExpired);
    // The attempt counts before the password is checked, so many at once cannot get past the limit;
    // and only a few checks run at once (each holds scrypt's memory), the rest are told to wait.
    const wait = await deps.limiter.attempt(user, address);
    if (wait > 0) {
      c.header("retry-after", String(wait));
      return page(429, t.signInLimited(Math.ceil(wait / 60)));
    }
    const release = deps.limiter.enter();
    if (!release) {
      await deps.limiter.withdraw(user, address);
      c.header("retry-after", "1");
      return page(503, t.signInBusy);
    }
    const known = usersById.get(user);
    let ok: boolean;
    try {
      // An unknown user costs the same scrypt as a known one: the time taken does not say who exists.
      // An entry without a password (a proxied person's reach) never signs in with one.
      const hash = known?.passwordHash ?? null;
      ok = (await verifyPassword(password, hash ?? dummyHash)) && hash !== null;
    } finally {
      release();
    }
    if (!known || !ok) {
      // Only a known user is named: what was typed as a user name may be a password.
      deps.log(`page: sign-in refused for ${known ? `"${known.user}"` : "an unknown user"} from ${address}`);
      return page(401, t.signInFailed);
    }
    await deps.limiter.succeeded(user, address);
    const { cookie } = await deps.sessions.create(known.user, "password");
    setCookie(c, SESSION_COOKIE, cookie, { ...cookieOptions, maxAge: SESSION_HOURS * 3600 });
    deps.log(`page: ${known.user} signed in`);
    return c.redirect(base + localPath(form.back), 303);
  });

  app.post("/signout", async (c) => {
    const session = await currentSession(c);
    const form = await formOf(c);
    // Another site's form must not sign a person out either.
    if (session && (!form._csrf || !equal(form._csrf, session.csrf))) return refusedForm(c);
    if (session) await deps.sessions.end(session);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect(`${base}/signin`, 303);
  });

  /** The signed-in person: a session cookie, or the trusted proxy's header (a session is made for its CSRF token). */
  async function currentSession(c: Context): Promise<Session | null> {
    const session = await deps.sessions.read(getCookie(c, SESSION_COOKIE));
    const header = deps.trustedUserHeader ? c.req.header(deps.trustedUserHeader)?.trim() : undefined;
    if (header && deps.trustedProxy(remoteAddress(c))) {
      if (session && session.user === header && session.via === "proxy") return session;
      const made = await deps.sessions.create(header.slice(0, 128), "proxy");
      setCookie(c, SESSION_COOKIE, made.cookie, { ...cookieOptions, maxAge: SESSION_HOURS * 3600 });
      return made.session;
    }
    // A proxy session is only good while the proxy still says so.
    if (session?.via === "proxy") return null;
    if (session && !usersById.has(session.user)) return null;
    return session;
  }

  // --- Everything below needs a signed-in person, and a form's CSRF token ------------------------
  // Only the page's own paths: an unknown path elsewhere (under /api, say) keeps its problem+json 404.
  const signedIn = async (c: Context<WebEnv>, next: Next) => {
    const session = await currentSession(c);
    if (!session) {
      if (c.req.method === "GET" && !c.req.path.startsWith("/events")) return c.redirect(`${base}/signin?back=${encodeURIComponent(c.req.path)}`, 303);
      return c.html(<SignInPage base={base} lang={lang(c)} passwords={passwordsKept} error={TEXTS[lang(c)].signInTitle} csrf={signInToken(c)} />, 401);
    }
    c.set("session", session);
    c.set("person", usersById.get(session.user) ?? { user: session.user, name: session.user, legalEntities: "*" });
    if (c.req.method === "POST") {
      const form = await formOf(c);
      if (!form._csrf || !equal(form._csrf, session.csrf)) return refusedForm(c);
    }
    await next();
  };
  for (const path of ["/", "/flows", "/flows/*", "/integrations", "/integrations/*", "/events"]) app.use(path, signedIn);

  const callerOf = (c: Context<WebEnv>): Caller => {
    const person = c.get("person");
    return personCaller(person.user, person.legalEntities, deps.integrationAdmins?.has(person.user) ?? false);
  };

  app.get("/", async (c) => {
    const flash = await readFlash(c);
    const caller = callerOf(c);
    // "Find a legal entity" (GET ?legalEntity=): that entity's flows only, still within the person's reach.
    const typed = (c.req.query("legalEntity") ?? "").slice(0, 40);
    const wanted = typed.replace(/\s/g, "");
    const find = typed === "" ? undefined : { typed, legalEntity: isOrganisationNumber(wanted) ? wanted : null };
    const { flows, more } = await flowsFor(caller, find?.legalEntity ?? undefined);
    const integrations = await listIntegrations();
    const person = c.get("person");
    c.header("cache-control", "no-store");
    return c.html(
      <HomePage
        base={base}
        lang={lang(c)}
        user={{ user: person.user, name: person.name }}
        csrf={c.get("session").csrf}
        now={deps.now()}
        flows={flows}
        moreFlows={more}
        find={find}
        integrations={integrations}
        canEditIntegrations={callerOf(c).mayChangeIntegrations}
        notice={flash.notice}
        create={flash.create}
        integrationForm={flash.integrationForm}
        integrationSaved={flash.integrationSaved}
        codeLifetimes={deps.codeLifetimes()}
      />,
    );
  });

  // One card, as the person sees it now (the stream's script fetches it after a change).
  app.get("/flows/:id/card", async (c) => {
    const view = await reachableView(callerOf(c), flowIdOf(c));
    c.header("cache-control", "no-store");
    return c.html(<FlowCard view={view} ctx={{ ...cardContext(c), codeLifetimeSeconds: deps.codeLifetimes()[view.integration as string] ?? null }} />);
  });

  app.post("/flows", async (c) => {
    const form = await formOf(c);
    const legalEntity = (form.legalEntity ?? "").replace(/\s+/g, "");
    if (!isOrganisationNumber(legalEntity)) {
      const error = lang(c) === "nb" ? `«${legalEntity.slice(0, 20)}» er ikke et organisasjonsnummer: 9 siffer med gyldig kontrollsiffer.` : `"${legalEntity.slice(0, 20)}" is not an organisation number: 9 digits with a valid check digit.`;
      return flashBack(c, { create: { legalEntity: legalEntity.slice(0, 20), error } });
    }
    const caller = callerOf(c);
    try {
      checkLegalEntity(caller, legalEntity);
      const integration = form.integration || undefined;
      const view = await deps.service.create(legalEntity, integration, { user: caller.user ?? null, client: caller.client });
      return c.redirect(`${base}/#flow-${view.id}`, 303);
    } catch (error) {
      if (!(error instanceof AuthflowError)) throw error;
      return flashBack(c, { create: { legalEntity, error: error.detail } });
    }
  });

  app.post("/flows/:id/:action", async (c) => {
    const id = flowIdOf(c);
    const action = c.req.param("action") as PageAction;
    if (!Object.hasOwn(ACTION_EVENTS, action)) return flashBack(c, { notice: { flowId: id, kind: "error", text: `Unknown action "${action.slice(0, 30)}".` } });
    const form = await formOf(c);
    const caller = callerOf(c);
    const user = caller.user!;
    const t = TEXTS[lang(c)];
    await reachableView(caller, id);
    try {
      const type = ACTION_EVENTS[action];
      if (type === "AUTHORIZE") {
        const uiLocale = UI_LOCALES.includes(form.uiLocale ?? "") ? form.uiLocale : lang(c);
        const acr = ACR_VALUES.includes(form.acr ?? "") ? form.acr : undefined;
        const next = await deps.service.send(id, { type, user, client: caller.client, ...(uiLocale ? { uiLocale } : {}), ...(acr ? { acr } : {}) });
        // On to the login link: it binds this browser to the login, then sends it to ID-porten.
        if (typeof next.authorizationUrl === "string") return c.redirect(next.authorizationUrl, 303);
        return c.redirect(`${base}/#flow-${id}`, 303);
      }
      await deps.service.send(id, { type, user, client: caller.client });
      return c.redirect(`${base}/#flow-${id}`, 303);
    } catch (error) {
      if (!(error instanceof AuthflowError)) throw error;
      const current = await deps.service.get(id).catch(() => undefined);
      return flashBack(c, { notice: { flowId: id, kind: "error", text: explainRefusal(error, current, t) } });
    }
  });

  // --- Integrations ------------------------------------------------------------------------------
  app.post("/integrations", async (c) => saveIntegration(c, undefined));
  app.post("/integrations/:name", async (c) => saveIntegration(c, c.req.param("name")));

  async function saveIntegration(c: Context<WebEnv>, name: string | undefined) {
    const integrations = deps.integrations();
    const form = await formOf(c);
    const back = (problems: FieldProblem[]) => flashBack(c, { integrationForm: { name: name ?? "", values: typedValues(form), problems } });
    const unclear = formProblems(form, TEXTS[lang(c)].refreshBoth);
    if (unclear.length > 0) return back(unclear);
    const input = formToInput(form);
    const parsed = name === undefined ? integrationCreateSchema.safeParse(input) : integrationUpdateSchema.safeParse(input);
    // What was typed is checked first, so its problems are shown field by field whatever the server.
    if (!parsed.success) return back(fieldProblems(parsed.error.issues));
    if (!integrations) return back([{ field: "", message: "Integrations cannot be changed on this server." }]);
    try {
      const saved =
        name === undefined
          ? await integrations.create(parsed.data as never, callerOf(c))
          : await integrations.update(name, parsed.data, callerOf(c), /^\d+$/.test(form.revision ?? "") ? Number(form.revision) : undefined);
      return flashBack(c, { integrationSaved: saved.name }, `#integration-${encodeURIComponent(saved.name)}`);
    } catch (error) {
      if (!(error instanceof AuthflowError)) throw error;
      return back(refusalProblems(error));
    }
  }

  async function listIntegrations(): Promise<IntegrationView[]> {
    const integrations = deps.integrations();
    return integrations ? integrations.list() : [];
  }

  // --- The stream: a changed flow's card, re-rendered for this person ---------------------------
  app.get("/events", (c) => {
    const caller = callerOf(c);
    const ctx = cardContext(c);
    const session = c.get("session");
    return streamSSE(c, async (stream) => {
      let unlisten = () => {};
      // true: the session ended (the browser is told, and does not reconnect); false: the stream just ends.
      let end: (signedOut: boolean) => void = () => {};
      const ended = new Promise<boolean>((resolve) => {
        end = resolve;
        stream.onAbort(() => resolve(false));
        if (deps.shutdown) unlisten = deps.shutdown.onStop(() => resolve(false));
      });
      // The stream lives no longer than its session (review: cards kept coming to a cookie signed out
      // on another instance). A sign-out here ends it at once; one elsewhere, or the session's expiry,
      // within SESSION_CHECK_MS. While the record of sign-outs cannot be read, the stream goes on (a
      // sign-out cannot be recorded then either); the expiry needs no record.
      const stopOnSignOut = deps.sessions.onEnd((sid) => sid === session.sid && end(true));
      let checking = false;
      const check = setInterval(async () => {
        if (checking) return;
        checking = true;
        const holds = await deps.sessions.holds(session).catch(() => !deps.sessions.expired(session));
        checking = false;
        if (holds) return;
        // A proxy's session that merely ran out is made anew by the next request through the proxy: not "signed out".
        if (session.via === "proxy" && deps.sessions.expired(session)) renewThroughProxy();
        else end(true);
      }, SESSION_CHECK_MS);
      // The trusted proxy's sign-in holds only while the proxy says so on each request: now and then
      // the page is asked to open a new stream (through the proxy, which decides) and to close this
      // one once the new one is ready — no change falls between the two; one that does not is ended.
      let proxyEnd: ReturnType<typeof setTimeout> | undefined;
      const renewThroughProxy = () => {
        if (proxyEnd !== undefined) return;
        void stream.writeSSE({ event: "renew", data: "" }).catch(() => undefined);
        proxyEnd = setTimeout(() => end(false), PROXY_STREAM_OVERLAP_MS);
      };
      const proxyTurn = session.via === "proxy" ? setTimeout(renewThroughProxy, deps.proxyStreamMs ?? PROXY_STREAM_MS) : undefined;
      // While the browser is not reading, each flow's newest card waits, not every change of it
      // (newest-per-key.ts): the page replaces a card whole, so one that reads again is up to date
      // with one card per changed flow. That is still one per flow, so past STREAM_WAITING_FLOWS
      // flows waiting the stream is ended (its client has not read for that many flows' changes):
      // EventSource reconnects by itself, as after a restart.
      const out = new NewestPerKey<string, FlowView | { deleted: string } | null>((_key, view) =>
        view === null
          ? stream.writeSSE({ event: "ping", data: "" })
          : "deleted" in view
            ? stream.writeSSE({ event: "deleted", data: JSON.stringify({ id: view.deleted }) })
            : stream.writeSSE({ event: "flow", data: JSON.stringify({ id: view.id, state: view.state, html: String(<FlowCard view={view} ctx={{ ...ctx, now: deps.now(), codeLifetimeSeconds: deps.codeLifetimes()[view.integration as string] ?? null }} />) }) }),
      );
      const stop = deps.watchFlows((change) => {
        if (stream.aborted) return;
        const legalEntity = change.deleted ? change.legalEntity : (change.view.legalEntity as string);
        // A deleted flow whose legal entity is not known here (deleted on another instance, not held
        // here) is told only to whoever may see every legal entity: its card is gone, nothing more.
        const reach = legalEntity === undefined ? caller.legalEntities === "*" : mayUseLegalEntity(caller, legalEntity);
        if (!reach) return;
        if (change.deleted) out.put(`flow ${change.id}`, { deleted: change.id });
        else out.put(`flow ${change.view.id as string}`, change.view);
        if (out.waiting > STREAM_WAITING_FLOWS) {
          deps.log(`page: ended an event stream whose browser stopped reading (${STREAM_WAITING_FLOWS} changed flows waiting); it reconnects`);
          out.drop();
          stream.abort();
        }
      });
      // No ping while a card is on its way or waiting: the connection is not idle then.
      const ping = setInterval(() => {
        if (!out.busy) out.put("ping", null);
      }, 15_000);
      await stream.writeSSE({ event: "ready", data: "" });
      const signedOut = await ended;
      clearInterval(ping);
      clearInterval(check);
      clearTimeout(proxyTurn);
      clearTimeout(proxyEnd);
      stopOnSignOut();
      unlisten();
      stop();
      out.drop();
      if (signedOut && !stream.aborted) await stream.writeSSE({ event: "signedout", data: "" }).catch(() => undefined);
    });
  });

  /** A flow the person may see; outside their reach it is as unknown as one that does not exist. */
  async function reachableView(caller: Caller, id: string): Promise<FlowView> {
    const view = await deps.service.get(id);
    if (!mayUseLegalEntity(caller, view.legalEntity as string)) throw new AuthflowError("not_found", 404, `No flow with id "${id}".`);
    return view;
  }

  /** The person's newest flows, newest first: filtered in the store by their reach, at most PAGE_FLOWS (`more` says there are older ones). */
  async function flowsFor(caller: Caller, legalEntity?: string): Promise<{ flows: FlowView[]; more: boolean }> {
    const reach = { ...(caller.legalEntities === "*" ? {} : { legalEntities: caller.legalEntities }), ...(legalEntity ? { legalEntity } : {}) };
    const flows: FlowView[] = [];
    let after: string | undefined;
    do {
      const page = await deps.service.list({ ...reach, limit: 500, newestFirst: true, ...(after ? { after } : {}) });
      flows.push(...page.flows);
      after = page.next ?? undefined;
    } while (after && flows.length < PAGE_FLOWS);
    return { flows, more: after !== undefined };
  }

  function cardContext(c: Context<WebEnv>) {
    return { lang: lang(c), base, user: c.get("person").user, csrf: c.get("session").csrf, now: deps.now() };
  }

  async function flashBack(c: Context, flash: Flash, anchor?: string) {
    const seal = (candidate: Flash) => deps.box.seal(JSON.stringify(candidate), FLASH_PURPOSE);
    setCookie(c, FLASH_COOKIE, await fittedFlash(flash, seal), { ...cookieOptions, maxAge: 60 });
    const target = anchor ?? (flash.notice?.flowId ? `#flow-${flash.notice.flowId}` : flash.integrationForm ? `#integration-${encodeURIComponent(flash.integrationForm.name || "new")}` : "#main");
    return c.redirect(`${base}/${target}`, 303);
  }

  async function readFlash(c: Context): Promise<Flash> {
    const sealed = getCookie(c, FLASH_COOKIE);
    if (!sealed) return {};
    deleteCookie(c, FLASH_COOKIE, { path: "/" });
    try {
      return JSON.parse(await deps.box.open(sealed, FLASH_PURPOSE)) as Flash;
    } catch {
      return {};
    }
  }

  return app;
}

/**
 * The flash sealed within FLASH_MAX_CHARS. Cut in this order, each step only while still too long:
 * a problem's words past 500 characters; the longest typed values, one at a time (named in
 * `leftOut`, so the form says which were not kept); the last problems (counted in `moreProblems`);
 * at the end one problem and the revision alone. The first problem is never left out.
 */
export async function fittedFlash(flash: Flash, seal: (flash: Flash) => Promise<string>): Promise<string> {
  let sealed = await seal(flash);
  if (sealed.length <= FLASH_MAX_CHARS) return sealed;
  const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
  const form = flash.integrationForm;
  if (!form) {
    // A flow's notice or the create form's error: words of a bounded size already; clipped all the same.
    const clipped: Flash = {
      ...flash,
      ...(flash.notice ? { notice: { ...flash.notice, text: clip(flash.notice.text, 1_000) } } : {}),
      ...(flash.create ? { create: { legalEntity: clip(flash.create.legalEntity, 20), error: clip(flash.create.error, 1_000) } } : {}),
    };
    return seal(clipped);
  }
  const next: IntegrationFormState = { ...form, values: { ...form.values }, problems: form.problems.map((p) => ({ field: clip(p.field, 100), message: clip(p.message, 500) })), leftOut: [] };
  const attempt = async () => (sealed = await seal({ ...flash, integrationForm: next })).length <= FLASH_MAX_CHARS;
  if (await attempt()) return sealed;
  // The longest typed values first; the revision (D3: what the values were typed against) and the short ones (choices, a checkbox) stay.
  const droppable = Object.entries(next.values).filter(([field, value]) => field !== "revision" && value.length > 20).sort((a, b) => b[1].length - a[1].length);
  for (const [field] of droppable) {
    delete next.values[field];
    next.leftOut!.push(field);
    if (await attempt()) return sealed;
  }
  while (next.problems.length > 1) {
    next.problems.pop();
    next.moreProblems = form.problems.length - next.problems.length;
    if (await attempt()) return sealed;
  }
  const first = next.problems[0];
  return seal({
    integrationForm: {
      name: clip(form.name, 100),
      values: Object.fromEntries(Object.entries(next.values).filter(([field, value]) => field === "revision" || value.length <= 20)),
      problems: first ? [{ field: first.field, message: clip(first.message, 300) }] : [],
      leftOut: Object.keys(form.values).filter((field) => field !== "revision" && form.values[field]!.length > 20),
      moreProblems: form.problems.length - (first ? 1 : 0),
    },
  });
}

/** A refusal, said for the person at the page (the API's words, and what to do here). */
function explainRefusal(error: AuthflowError, view: FlowView | undefined, t: (typeof TEXTS)[Lang]): string {
  const extra = error.extra as { guard?: string } | undefined;
  if (error.code === "forbidden_user" && extra?.guard === "userBinding" && view) {
    const holder = (view.boundUser ?? view.pendingUser) as string | null;
    return holder ? `${t.explain.forbidden} ${t.heldBy(holder)}` : error.detail;
  }
  if (error.code === "guard_refused" && extra?.guard === "redirectUrlRegistered") return `${error.detail} ${t.explain.redirect((view?.integration as string) ?? "default")}`;
  return error.detail;
}

function flowIdOf(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!FLOW_ID.test(id)) throw new AuthflowError("not_found", 404, `"${id.slice(0, 40)}" is not a flow id.`);
  return id;
}

/** Only a path on this server (never "//elsewhere"): the sign-in's and language switch's way back. */
function localPath(value: string | undefined): string {
  return value && /^\/(?![/\\])[\w\-./?=&%#]*$/.test(value) ? value : "/";
}

async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody().catch(() => ({}));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function asset(c: Context, body: string, type: string) {
  return c.body(body, 200, { "content-type": type, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
}

/**
 * Verified against for an unknown user name, so a refusal takes as long as for a known one: a hash of the
 * cost most of the users' hashes have (a fixed cost would be told apart from theirs, and a dearer one
 * would let unknown names burn CPU).
 */
function dummyHashFor(users: readonly UiUser[]): string {
  const costs = new Map<string, number>();
  for (const u of users) {
    const cost = /^scrypt\$(ln=\d+,r=\d+,p=\d+)\$/.exec(u.passwordHash ?? "")?.[1];
    if (cost) costs.set(cost, (costs.get(cost) ?? 0) + 1);
  }
  const common = [...costs].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "ln=16,r=8,p=1";
  return `scrypt$${common}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
}
