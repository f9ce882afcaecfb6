// The live viewer's browser code, served as GET /inspect/viewer.js (a file of its own, never inline:
// the page works under `script-src 'self'; style-src 'self'`). Plain JavaScript for the browser,
// kept as text here so the server ships it without a build step (Node and Deno alike).
//
// It draws the machine from GET /api/machines/:name?format=svg (laid out from the definition's own
// graph), and follows a flow over GET /api/flows/:id/stream (server-sent events read with fetch, so
// the API token travels as a header and never in a URL). The token is kept in sessionStorage only.
// Nothing here sets a style attribute or an inline handler; the looks are classes in viewer.css.
export const VIEWER_SCRIPT = String.raw`
const KEY = "authflow.apiToken";
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
};
let streamAbort = null, token = sessionStorage.getItem(KEY);

async function request(path) {
  const res = await fetch(path, { headers: { authorization: "Bearer " + token } });
  if (res.status === 401) { signOut("The API token was refused."); throw new Error("401"); }
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).detail || res.statusText);
  return res;
}
const api = async (path) => (await request(path)).json();

function signOut(message) {
  sessionStorage.removeItem(KEY); token = null;
  if (streamAbort) streamAbort.abort();
  $("app").hidden = true; $("signin").hidden = false;
  $("signin-error").textContent = message || "";
}

// The diagram is the server's SVG, laid out from the machine definition (never drawn by hand here).
// The standalone SVG carries its own <style>; the page's stylesheet (viewer.css) already holds those
// rules, and an inline <style> is refused under the page's style-src 'self' — even in a document
// made by DOMParser, which takes the page's policy — so it is cut from the text before parsing.
async function drawDiagram() {
  const text = (await (await request("/api/machines/authorization?format=svg")).text()).replace(/<style[\s>][\s\S]*?<\/style>/g, "");
  const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  if (svg.nodeName !== "svg") throw new Error("The diagram could not be read.");
  $("diagram").replaceChildren(document.importNode(svg, true));
}

const byState = (path) => document.querySelector('#diagram .state[data-state="' + CSS.escape(path) + '"]');

// One time format everywhere in the viewer: local time with its offset from UTC
// (2025-11-25 10:26:13 +01:00), so a time read here can be compared with a log or another zone.
// Every time shown goes through localTime(): table cells (timeCell) and times inside free text.
const pad = (n) => String(n).padStart(2, "0");
function localTime(value) {
  const d = new Date(value);
  if (value === null || value === undefined || value === "" || Number.isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset(), abs = Math.abs(off);
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
    " " + (off < 0 ? "-" : "+") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
}
const timeCell = (value) => {
  const shown = localTime(value);
  return shown ? el("td", {}, el("time", { datetime: new Date(value).toISOString() }, shown)) : el("td", {}, "—");
};
// A message from the server or the provider may name a time (ISO 8601): shown the same way.
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)/g;
const withLocalTimes = (text) => String(text).replace(ISO_TIME, (iso) => localTime(iso) ?? iso);

// The state in words: the public state, and the authorization beside it while a login is in progress.
function stateText(view) {
  const sub = view.substate ? " (" + view.substate + ")" : "";
  const grant = view.authorizationState && view.authorizationState !== view.state ? view.authorizationState : null;
  return grant ? view.state + " · authorization: " + grant + sub : view.state + sub;
}

// The flow picker names the legal entity, the bound user ("unbound" before anyone authorized) and the
// state (and whose login is pending); the id's start tells two flows of one legal entity apart.
const optionLabel = (f) =>
  f.legalEntity + " · " + (f.boundUser ?? "unbound") + " · " + f.state + (f.pendingUser ? " (login: " + f.pendingUser + ")" : "") + " · " + f.id.slice(0, 8);

// The current state's box is brought into view (the diagram is taller than most windows) whenever
// it is another box than the one last shown — not on every update, so a person who scrolled away to
// read something is not pulled back by a renewal.
let shownNode = null;

function showFlow(view, audit) {
  for (const node of document.querySelectorAll("#diagram .state")) { node.removeAttribute("aria-current"); node.classList.remove("current-sub"); }
  for (const edge of document.querySelectorAll("#diagram .edge.live")) edge.classList.remove("live");
  if (view.state) {
    // The machine runs regions side by side (grant, login, revocation): every active leaf is marked
    // (current-sub), and the public state — the login's while one is in progress, else the
    // authorization's — is the one current state (aria-current), found in the region that holds it.
    const active = view.activeStates || [];
    const holder = active.map((leaf) => leaf.split(".")).find((parts) => parts.length > 1 && parts[1] === view.state);
    const current = holder ? byState(holder[0] + "." + holder[1]) : byState(view.state);
    current?.setAttribute("aria-current", "true");
    if (current && current !== shownNode) current.scrollIntoView({ block: "nearest", inline: "nearest" });
    shownNode = current;
    const sources = new Set(["*"]);
    for (const leaf of active) {
      byState(leaf)?.classList.add("current-sub");
      const parts = leaf.split(".");
      for (let i = 1; i <= parts.length; i++) sources.add(parts.slice(0, i).join("."));
    }
    // What can happen next: the transitions out of every active state (leaves and the states around
    // them), and the machine's own (taken in any state).
    for (const source of sources) {
      for (const edge of document.querySelectorAll('#diagram .edge[data-source="' + CSS.escape(source) + '"]')) edge.classList.add("live");
    }
    const option = [...$("flow").options].find((o) => o.value === view.id);
    if (option) option.textContent = optionLabel(view);
  } else shownNode = null;
  $("current").textContent = view.state ? stateText(view) : "—";
  if (!view.state) return;
  const text = (v) => el("td", {}, String(v ?? "—"));
  $("facts").replaceChildren(...[
    ["legal entity", text(view.legalEntity)],
    ["bound user", text(view.boundUser)],
    ["pending login by", text(view.pendingUser)],
    ["authorization", text(view.authorizationState ? view.authorizationState + (view.substate ? " (" + view.substate + ")" : "") : null)],
    ["active states", text((view.activeStates || []).join(", ") || null)],
    ["login deadline", timeCell(view.loginDeadline)],
    ["ID-porten token expires", timeCell(view.idporten?.accessTokenExpiresAt)],
    ["Altinn token expires", timeCell(view.altinn?.expiresAt)],
    ["authorization expires", timeCell(view.authorizationExpiresAt)],
    ["created", timeCell(view.createdAt)],
    ["updated", timeCell(view.updatedAt)],
  ].map(([k, cell]) => el("tr", {}, el("th", {}, k), cell)));
  if (view.attention) $("facts").append(el("tr", {}, el("th", {}, "needs attention"), el("td", { class: "bad" }, withLocalTimes(view.attention.error + ": " + view.attention.error_description))));
  $("error").textContent = view.lastError ? withLocalTimes(view.lastError.error + ": " + view.lastError.error_description + (view.lastError.hint ? "\n" + view.lastError.hint : "")) : "none";
  $("error").className = view.lastError ? "bad" : "";
  $("transitions").replaceChildren(...[...audit].reverse().map((a) =>
    el("tr", {}, timeCell(a.at), el("td", {}, a.event), el("td", {}, a.user ?? ""), el("td", {}, (a.from ?? "·") + " → " + a.to))));
}

function setLive(on, text) { $("live").textContent = text; $("live").className = on ? "on" : "off"; }

// Follows one flow; a dropped connection is retried (the server may restart) until another flow is
// picked or the person signs out.
async function follow(id) {
  if (streamAbort) streamAbort.abort();
  history.replaceState(null, "", id ? "?flow=" + encodeURIComponent(id) : location.pathname);
  $("flowpanel").hidden = !id;
  showFlow({ state: "" }, []);
  if (!id) { setLive(false, ""); return; }
  const controller = new AbortController(); streamAbort = controller;
  for (let attempt = 0; !controller.signal.aborted && token; attempt++) {
    try {
      const res = await fetch("/api/flows/" + encodeURIComponent(id) + "/stream", { headers: { authorization: "Bearer " + token, accept: "text/event-stream" }, signal: controller.signal });
      if (res.status === 401) { signOut("The API token was refused."); return; }
      if (!res.ok) { $("error").textContent = (await res.json().catch(() => ({}))).detail || res.statusText; setLive(false, "not found"); return; }
      setLive(true, "● live"); attempt = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const event = /^event: ?(.*)$/m.exec(frame)?.[1];
          const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(l.startsWith("data: ") ? 6 : 5)).join("\n");
          if (event === "flow") { const { view, audit } = JSON.parse(data); showFlow(view, audit); }
        }
      }
    } catch (e) {
      if (e.name === "AbortError") return;
    }
    if (controller.signal.aborted) return;
    setLive(false, "reconnecting…");
    await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 15000)));
  }
}

async function loadFlows(selected) {
  const { flows } = await api("/api/flows");
  const pick = $("flow");
  pick.replaceChildren(el("option", { value: "" }, "— choose a flow —"), ...flows.map((f) => el("option", { value: f.id }, optionLabel(f))));
  if (selected && !flows.some((f) => f.id === selected)) pick.append(el("option", { value: selected }, selected));
  pick.value = selected || "";
}

async function start() {
  $("signin").hidden = true; $("app").hidden = false;
  await drawDiagram();
  const selected = new URLSearchParams(location.search).get("flow");
  await loadFlows(selected);
  if (selected) follow(selected);
}

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value.trim(); $("token").value = "";
  sessionStorage.setItem(KEY, token);
  start().catch((err) => { if (err.message !== "401") $("signin-error").textContent = err.message; });
});
$("flow").addEventListener("change", (e) => follow(e.target.value));
$("reload").addEventListener("click", () => loadFlows($("flow").value));
$("signout").addEventListener("click", () => signOut());
if (token) start().catch(() => {}); else signOut();
`;
