// /inspect: the built-in live viewer. One self-contained page (no CDN, works offline). It draws the
// machine from GET /api/machines/:name?format=svg (laid out from the definition's own graph), and
// follows a flow over GET /api/flows/:id/stream (server-sent events read with fetch, so the API token
// travels as a header and never in a URL). The token is kept in sessionStorage only.

const STYLE = `
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f5f6f8; }
  header { background: #1e293b; color: #fff; padding: .75rem 1.25rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header label { font-size: .9rem; }
  select, input, button { font: inherit; padding: .3rem .5rem; }
  main { display: grid; grid-template-columns: minmax(0, max-content) minmax(22rem, 1fr); gap: 1rem; padding: 1rem; }
  @media (max-width: 60rem) { main { grid-template-columns: 1fr; } }
  #diagramcol { min-width: 0; }
  #legend { margin: 0 0 .4rem; font-size: .8rem; color: #475569; display: flex; gap: .35rem; align-items: center; flex-wrap: wrap; }
  #legend .key { display: inline-block; width: 1.4em; height: .9em; border-radius: 3px; margin-left: .6rem; }
  #legend .key:first-child { margin-left: 0; }
  #legend .now { background: #e8f6ec; border: 3px solid #0b6b2f; }
  #legend .active { background: #c9ecd4; border: 2px solid #0b6b2f; }
  #legend .live { height: 0; border-top: 2px solid #0b6b2f; border-radius: 0; }
  #diagram { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; padding: .5rem; overflow: auto; align-self: start; justify-self: start; max-width: 100%; }
  #diagram svg { display: block; }
  #live { font-size: .85rem; } #live.on { color: #86efac; } #live.off { color: #fca5a5; }
  aside section { background: #fff; border-radius: 10px; padding: .75rem; margin-bottom: 1rem; border: 1px solid #e2e8f0; }
  aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; font-size: .8rem; overflow-wrap: break-word; } td, th { text-align: left; padding: .2rem .3rem; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
  #error { white-space: pre-wrap; font-size: .85rem; }
  time { white-space: nowrap; }
  .bad { color: #a4161a; }
  #signin { max-width: 30rem; margin: 3rem auto; background: #fff; padding: 1.5rem; border-radius: 10px; border: 1px solid #e2e8f0; }
  #signin input { width: 100%; margin: .5rem 0; }
  [hidden] { display: none !important; }
`;

const SCRIPT = `
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
async function drawDiagram() {
  const text = await (await request("/api/machines/authorization?format=svg")).text();
  const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  if (svg.nodeName !== "svg") throw new Error("The diagram could not be read.");
  $("diagram").replaceChildren(document.importNode(svg, true));
}

const byState = (path) => document.querySelector('#diagram .state[data-state="' + CSS.escape(path) + '"]');

const pad = (n) => String(n).padStart(2, "0");
// One time format everywhere in the viewer: local time with its offset from UTC
// (2025-11-25 10:26:13 +01:00), so a time read here can be compared with a log or another zone.
function when(value) {
  if (value === null || value === undefined || value === "") return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const off = -d.getTimezoneOffset(), abs = Math.abs(off);
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
    " " + (off < 0 ? "-" : "+") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
}
const timeCell = (value) => {
  const d = value ? new Date(value) : null;
  return d && !Number.isNaN(d.getTime()) ? el("td", {}, el("time", { datetime: d.toISOString() }, when(value))) : el("td", {}, "—");
};

// The state in words: the public state, and the authorization beside it while a login is in progress.
function stateText(view) {
  const sub = view.substate ? " (" + view.substate + ")" : "";
  const grant = view.authorizationState && view.authorizationState !== view.state ? view.authorizationState : null;
  return grant ? view.state + " · authorization: " + grant + sub : view.state + sub;
}

// The flow picker names the legal entity, the bound user and the state (and whose login is pending).
const optionLabel = (f) =>
  f.legalEntity + " · " + (f.boundUser ?? "no bound user") + " · " + f.state + (f.pendingUser ? " (login: " + f.pendingUser + ")" : "") + " · " + f.id.slice(0, 8);

let shownState = null;

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
    if (current && view.state !== shownState) current.scrollIntoView({ block: "nearest", inline: "nearest" });
    shownState = view.state;
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
  } else shownState = null;
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
    ["updated", timeCell(view.updatedAt)],
  ].map(([k, cell]) => el("tr", {}, el("th", {}, k), cell)));
  if (view.attention) $("facts").append(el("tr", {}, el("th", {}, "needs attention"), el("td", { class: "bad" }, view.attention.error + ": " + view.attention.error_description)));
  $("error").textContent = view.lastError ? view.lastError.error + ": " + view.lastError.error_description + (view.lastError.hint ? "\\n" + view.lastError.hint : "") : "none";
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
        buffer += value.replace(/\\r\\n/g, "\\n");
        let cut;
        while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
          const frame = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const event = /^event: ?(.*)$/m.exec(frame)?.[1];
          const data = frame.split("\\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(l.startsWith("data: ") ? 6 : 5)).join("\\n");
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

export function viewerPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>authflow · live viewer</title>
<style>${STYLE}</style>
</head>
<body>
<div id="signin" hidden>
  <h1>authflow live viewer</h1>
  <p>Paste this server's API token. It stays in this tab (sessionStorage) and is sent as a header.</p>
  <form id="signin-form"><label for="token">API token</label><input id="token" type="password" autocomplete="off" required><button type="submit">Sign in</button></form>
  <p id="signin-error" class="bad" role="alert"></p>
</div>
<div id="app" hidden>
  <header>
    <h1>authflow · live viewer</h1>
    <label>Flow <select id="flow"></select></label>
    <button id="reload" type="button">Reload list</button>
    <span>Current state: <strong id="current" aria-live="polite"></strong> <span id="live"></span></span>
    <button id="signout" type="button">Sign out</button>
  </header>
  <main>
    <div id="diagramcol">
      <p id="legend"><span class="key now"></span>the flow's state <span class="key active"></span>active in its region <span class="key live"></span>can happen next</p>
      <div id="diagram" role="region" aria-label="The authorization machine, drawn from its definition"></div>
    </div>
    <aside id="flowpanel" hidden>
      <section><h2>Flow</h2><table id="facts"></table></section>
      <section><h2>Last error</h2><div id="error">none</div></section>
      <section><h2>Recent transitions</h2><table><thead><tr><th>time</th><th>event</th><th>user</th><th>from → to</th></tr></thead><tbody id="transitions"></tbody></table></section>
    </aside>
  </main>
</div>
<script type="module">${SCRIPT}</script>
</body>
</html>`;
}
