// /inspect: the built-in live viewer. Three same-origin files (no CDN, works offline): the page
// (this HTML), its script (GET /inspect/viewer.js, see viewer-script.ts) and its stylesheet
// (GET /inspect/viewer.css, the page's rules and the diagram's). Nothing inline — no <script> or
// <style> block, no event handler or style attribute — so the page works under the HTML pages' policy
// `default-src 'self'; script-src 'self'; style-src 'self'; …`.
import { SVG_STYLE } from "./machine-svg.ts";
import { VIEWER_SCRIPT } from "./viewer-script.ts";

export const VIEWER_SCRIPT_PATH = "/inspect/viewer.js";
export const VIEWER_STYLE_PATH = "/inspect/viewer.css";

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

/** The page's rules and the diagram's (the SVG's own <style> is dropped when the page draws it). */
const VIEWER_STYLE = STYLE + SVG_STYLE;

export function viewerPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>authflow · live viewer</title>
<script type="module" src="${VIEWER_SCRIPT_PATH}"></script>
<link rel="stylesheet" href="${VIEWER_STYLE_PATH}">
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
</body>
</html>`;
}

/**
 * The viewer's script or stylesheet as a response (the routes GET /inspect/viewer.js and
 * /inspect/viewer.css). Revalidated on every load (no-cache) so a new release is never mixed with an
 * old page; nosniff so a browser runs it only as what it says it is.
 */
export function viewerAsset(name: "viewer.js" | "viewer.css"): Response {
  const [body, type] = name === "viewer.js" ? [VIEWER_SCRIPT, "text/javascript; charset=utf-8"] : [VIEWER_STYLE, "text/css; charset=utf-8"];
  return new Response(body, { headers: { "content-type": type, "cache-control": "no-cache", "x-content-type-options": "nosniff" } });
}
