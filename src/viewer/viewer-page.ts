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
  #diagram { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; padding: .5rem; overflow: auto; align-self: start; justify-self: start; max-width: 100%; }
  #diagram svg { display: block; }
  #live { font-size: .85rem; } #live.on { color: #86efac; } #live.off { color: #fca5a5; }
  aside section { background: #fff; border-radius: 10px; padding: .75rem; margin-bottom: 1rem; border: 1px solid #e2e8f0; }
  aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; font-size: .8rem; overflow-wrap: break-word; } td, th { text-align: left; padding: .2rem .3rem; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
  #error { white-space: pre-wrap; font-size: .85rem; }
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

function showFlow(view, audit) {
  for (const node of document.querySelectorAll("#diagram .state")) { node.removeAttribute("aria-current"); node.classList.remove("current-sub"); }
  for (const edge of document.querySelectorAll("#diagram .edge.live")) edge.classList.remove("live");
  if (view.state) {
    // The machine has three parallel regions (grant, login, revocation): the public state is the
    // login's while one is in progress, else the authorization's. Every active leaf is marked too.
    const region = view.state === "awaitingCode" || view.state === "exchanging" ? "login" : "grant";
    byState(region + "." + view.state)?.setAttribute("aria-current", "true");
    const active = view.activeStates || [];
    const sources = new Set(["*"]);
    for (const leaf of active) {
      const parts = leaf.split(".");
      if (parts.length > 2) byState(leaf)?.classList.add("current-sub");
      for (let i = 2; i <= parts.length; i++) sources.add(parts.slice(0, i).join("."));
    }
    // What can happen next: the transitions out of every active state, and those from any state.
    for (const source of sources) {
      for (const edge of document.querySelectorAll('#diagram .edge[data-source="' + CSS.escape(source) + '"]')) edge.classList.add("live");
    }
    const option = [...$("flow").options].find((o) => o.value === view.id);
    if (option) option.textContent = optionLabel(view);
  }
  $("current").textContent = view.state ? view.state + (view.substate ? " (" + view.substate + ")" : "") : "—";
  if (!view.state) return;
  $("facts").replaceChildren(...[
    ["legal entity", view.legalEntity], ["bound user", view.boundUser ?? "—"], ["pending user", view.pendingUser ?? "—"],
    ["authorization expires", view.authorizationExpiresAt ?? "—"], ["Altinn token expires", view.altinn?.expiresAt ?? "—"], ["updated", view.updatedAt],
  ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v)))));
  $("error").textContent = view.lastError ? view.lastError.error + ": " + view.lastError.error_description + (view.lastError.hint ? "\\n" + view.lastError.hint : "") : "none";
  $("error").className = view.lastError ? "bad" : "";
  $("transitions").replaceChildren(...[...audit].reverse().map((a) =>
    el("tr", {}, el("td", {}, new Date(a.at).toLocaleTimeString()), el("td", {}, a.event), el("td", {}, a.user ?? ""), el("td", {}, (a.from ?? "·") + " → " + a.to))));
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

const optionLabel = (f) => f.legalEntity + " · " + f.state + " · " + f.id.slice(0, 8);

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
    <div id="diagram" role="region" aria-label="The authorization machine, drawn from its definition"></div>
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
