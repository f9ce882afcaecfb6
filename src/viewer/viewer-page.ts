// /inspect: the built-in live viewer. One self-contained page (no CDN, works offline). It draws the
// machine from GET /api/machines/:name?format=graph (derived from the definition), and follows a
// flow over GET /api/flows/:id/stream (server-sent events read with fetch, so the API token travels
// as a header and never in a URL). The token is kept in sessionStorage only.

const STYLE = `
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f5f6f8; }
  header { background: #1e293b; color: #fff; padding: .75rem 1.25rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header label { font-size: .9rem; }
  select, input, button { font: inherit; padding: .3rem .5rem; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) 24rem; gap: 1rem; padding: 1rem; }
  @media (max-width: 60rem) { main { grid-template-columns: 1fr; } }
  #diagram { display: flex; flex-wrap: wrap; gap: .75rem; align-content: flex-start; }
  .state { background: #fff; border: 2px solid #94a3b8; border-radius: 10px; padding: .5rem .7rem; min-width: 13rem; flex: 1 1 14rem; }
  .state > h2 { font-size: 1rem; margin: 0 0 .3rem; }
  .state .state { border-width: 1px; margin-top: .4rem; min-width: 0; }
  .state .state > h2 { font-size: .9rem; }
  .initial > h2::before { content: "● "; color: #64748b; font-size: .7rem; vertical-align: middle; }
  .state[aria-current="true"], .state.current { border-color: #0b6b2f; background: #e8f6ec; box-shadow: 0 0 0 3px #0b6b2f33; }
  .state.current-sub { border-color: #0b6b2f; background: #d4f0dc; }
  ul.edges { list-style: none; margin: 0; padding: 0; font-size: .8rem; color: #334155; }
  ul.edges li { padding: .1rem 0; border-top: 1px dotted #cbd5e1; }
  .ev { font-weight: 600; font-family: ui-monospace, monospace; }
  .guard { color: #7c3aed; font-family: ui-monospace, monospace; }
  aside section { background: #fff; border-radius: 10px; padding: .75rem; margin-bottom: 1rem; border: 1px solid #e2e8f0; }
  aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; font-size: .8rem; overflow-wrap: anywhere; } td, th { text-align: left; padding: .2rem .3rem; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
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
let graph = null, streamAbort = null, token = sessionStorage.getItem(KEY);

async function api(path) {
  const res = await fetch(path, { headers: { authorization: "Bearer " + token } });
  if (res.status === 401) { signOut("The API token was refused."); throw new Error("401"); }
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).detail || res.statusText);
  return res.json();
}

function signOut(message) {
  sessionStorage.removeItem(KEY); token = null;
  if (streamAbort) streamAbort.abort();
  $("app").hidden = true; $("signin").hidden = false;
  $("signin-error").textContent = message || "";
}

function drawDiagram() {
  const box = $("diagram"); box.replaceChildren();
  const byParent = new Map();
  for (const n of graph.nodes) { const k = n.parent || ""; if (!byParent.has(k)) byParent.set(k, []); byParent.get(k).push(n); }
  const edgesFrom = (path) => graph.edges.filter((e) => e.source === path);
  const render = (node) => {
    const edges = el("ul", { class: "edges" });
    for (const e of edgesFrom(node.path)) {
      edges.append(el("li", {}, el("span", { class: "ev" }, e.event), e.guard ? el("span", { class: "guard" }, " [" + e.guard + "]") : "", " → " + (e.target ?? "(stays)")));
    }
    const section = el("section", { class: "state" + (node.initial ? " initial" : ""), "data-state": node.path, "aria-label": "state " + node.path }, el("h2", {}, node.key), edges);
    for (const child of byParent.get(node.path) || []) section.append(render(child));
    return section;
  };
  for (const top of byParent.get("") || []) box.append(render(top));
  const global = graph.edges.filter((e) => e.source === "*");
  if (global.length) {
    const any = el("section", { class: "state", "data-state": "*" }, el("h2", {}, "from any state"), el("ul", { class: "edges" }));
    for (const e of global) any.querySelector("ul").append(el("li", {}, el("span", { class: "ev" }, e.event), e.guard ? el("span", { class: "guard" }, " [" + e.guard + "]") : "", " → " + e.target));
    box.append(any);
  }
}

function showFlow(view, audit) {
  for (const node of document.querySelectorAll(".state")) { node.removeAttribute("aria-current"); node.classList.remove("current", "current-sub"); }
  const top = document.querySelector('.state[data-state="' + view.state + '"]');
  if (top) { top.setAttribute("aria-current", "true"); top.classList.add("current"); }
  if (view.substate) document.querySelector('.state[data-state="' + view.state + "." + view.substate + '"]')?.classList.add("current-sub");
  $("current").textContent = view.state + (view.substate ? " (" + view.substate + ")" : "");
  $("facts").replaceChildren(...[
    ["legal entity", view.legalEntity], ["bound user", view.boundUser ?? "—"], ["pending user", view.pendingUser ?? "—"],
    ["authorization expires", view.authorizationExpiresAt ?? "—"], ["Altinn token expires", view.altinn?.expiresAt ?? "—"], ["updated", view.updatedAt],
  ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v)))));
  $("error").textContent = view.lastError ? view.lastError.error + ": " + view.lastError.error_description + (view.lastError.hint ? "\\n" + view.lastError.hint : "") : "none";
  $("error").className = view.lastError ? "bad" : "";
  $("transitions").replaceChildren(...[...audit].reverse().map((a) =>
    el("tr", {}, el("td", {}, new Date(a.at).toLocaleTimeString()), el("td", {}, a.event), el("td", {}, a.user ?? ""), el("td", {}, (a.from ?? "·") + " → " + a.to))));
}

async function follow(id) {
  if (streamAbort) streamAbort.abort();
  history.replaceState(null, "", id ? "?flow=" + encodeURIComponent(id) : location.pathname);
  $("flowpanel").hidden = !id;
  if (!id) { showFlow({ state: "" }, []); return; }
  const controller = new AbortController(); streamAbort = controller;
  try {
    const res = await fetch("/api/flows/" + encodeURIComponent(id) + "/stream", { headers: { authorization: "Bearer " + token, accept: "text/event-stream" }, signal: controller.signal });
    if (!res.ok) { $("error").textContent = (await res.json().catch(() => ({}))).detail || res.statusText; return; }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
        const frame = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = frame.split("\\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\\n");
        if (event === "flow") { const { view, audit } = JSON.parse(data); showFlow(view, audit); }
      }
    }
  } catch (e) { if (e.name !== "AbortError") $("error").textContent = "The live connection ended: " + e.message; }
}

async function loadFlows(selected) {
  const { flows } = await api("/api/flows");
  const pick = $("flow");
  pick.replaceChildren(el("option", { value: "" }, "— choose a flow —"), ...flows.map((f) => el("option", { value: f.id }, f.legalEntity + " · " + f.state + " · " + f.id.slice(0, 8))));
  if (selected && !flows.some((f) => f.id === selected)) pick.append(el("option", { value: selected }, selected));
  pick.value = selected || "";
}

async function start() {
  $("signin").hidden = true; $("app").hidden = false;
  graph = await api("/api/machines/authorization?format=graph");
  drawDiagram();
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
    <span>Current state: <strong id="current" aria-live="polite"></strong></span>
    <button id="signout" type="button">Sign out</button>
  </header>
  <main>
    <div id="diagram" aria-label="The authorization machine, drawn from its definition"></div>
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
