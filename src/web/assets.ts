// The page's stylesheet and its one script, served from this server (no CDN, no build, nothing inline).
// The script only makes the page live: without it every button still works (post, redirect back).

export const APP_STYLE = `
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1b1b; background: #f4f5f7; }
a { color: #0b4fa8; }
:focus-visible { outline: 3px solid #f4a100; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 2; }
.skip:focus { left: 1rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { background: #1e293b; color: #fff; padding: .6rem 1.25rem; display: flex; gap: 1.25rem; align-items: center; flex-wrap: wrap; }
header.top a { color: #fff; }
header.top .brand { margin: 0; font-weight: 600; }
header.top .langs { display: flex; gap: .75rem; }
header.top .langs [aria-current] { font-weight: 600; text-decoration: underline; }
header.top .signout { margin-left: auto; display: flex; gap: .75rem; align-items: center; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
main:focus { outline: none; }
h1 { font-size: 1.7rem; margin: .8rem 0; }
h2 { font-size: 1.3rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1.1rem; margin: 0 0 .4rem; }
h4 { font-size: 1rem; margin: .4rem 0; }
button, input, select, textarea { font: inherit; }
button { padding: .4rem .9rem; border: 1px solid #475569; border-radius: 6px; background: #fff; color: #1b1b1b; cursor: pointer; }
button.primary { background: #0b4fa8; border-color: #0b4fa8; color: #fff; }
button.danger { border-color: #a4161a; color: #a4161a; }
input, select, textarea { padding: .35rem .5rem; border: 1px solid #64748b; border-radius: 4px; background: #fff; color: #1b1b1b; }
textarea { width: 100%; }
.field { display: flex; flex-direction: column; gap: .2rem; margin: .5rem 0; max-width: 40rem; }
.field.invalid input, .field.invalid textarea { border-color: #a4161a; border-width: 2px; }
.problem { color: #a4161a; font-size: .92rem; }
.hint { color: #475569; font-size: .92rem; }
form.create { display: flex; gap: 1rem; align-items: flex-end; flex-wrap: wrap; background: #fff; padding: .75rem 1rem; border-radius: 8px; border: 1px solid #d6dbe3; }
form.create .field { margin: 0; }
form.find { display: flex; gap: .75rem; align-items: flex-end; flex-wrap: wrap; margin: 0 0 1rem; }
form.find .field { margin: 0; }
form.find .show-all { align-self: center; }
form.inline { display: inline; }
.actions { display: flex; gap: .6rem; flex-wrap: wrap; align-items: flex-end; margin-top: .75rem; }
.actions form.authorize { display: flex; gap: .6rem; flex-wrap: wrap; align-items: flex-end; }
.actions label { display: flex; flex-direction: column; font-size: .92rem; }
article.flow, article.integration { background: #fff; border: 1px solid #d6dbe3; border-left: 6px solid #94a3b8; border-radius: 8px; padding: .9rem 1.1rem; margin: .8rem 0; }
article.flow.state-altinnAuthorized { border-left-color: #0b6b2f; }
article.flow.state-idportenAuthorized { border-left-color: #2563eb; }
article.flow.state-awaitingCode, article.flow.state-exchanging { border-left-color: #b45309; }
article.flow.state-expired { border-left-color: #a4161a; }
article.flow .integration { color: #475569; font-weight: normal; }
.state { margin: 0 0 .5rem; }
.badge { display: inline-block; padding: .1rem .55rem; border-radius: 999px; background: #e2e8f0; font-weight: 600; }
.state-altinnAuthorized .badge { background: #d8f0df; color: #0b4f24; }
.state-expired .badge { background: #fbe0e0; color: #7f1114; }
.state code { color: #475569; font-size: .85rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
dt { color: #475569; }
dd { margin: 0; }
dd.warn strong { color: #8a4b00; }
ul.scopes { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem; }
code { background: #eef1f5; padding: 0 .25rem; border-radius: 3px; font-size: .9em; word-break: break-all; }
.rel { color: #475569; }
.pending, .held { background: #fff8e6; border: 1px solid #f0d08a; padding: .5rem .75rem; border-radius: 6px; }
.error, .notice.error { background: #fdecec; border: 1px solid #e8a3a5; padding: .5rem .75rem; border-radius: 6px; color: #5f0d10; }
.notice.ok { background: #e6f4ea; border: 1px solid #9fd2ae; padding: .5rem .75rem; border-radius: 6px; }
.notice { padding: .5rem .75rem; }
.live { color: #0b6b2f; font-size: .9rem; min-height: 1.4em; margin: 0; }
.check.ok { color: #0b6b2f; margin: .2rem 0 0; }
.check.bad { color: #a4161a; margin: .2rem 0 0; }
.columns { display: grid; grid-template-columns: 2fr 1fr; gap: 1.5rem; }
@media (max-width: 50rem) { .columns { grid-template-columns: 1fr; } dl { grid-template-columns: 1fr; } }
details { margin: .6rem 0; }
summary { cursor: pointer; color: #0b4fa8; font-weight: 600; }
fieldset { border: 1px solid #d6dbe3; border-radius: 6px; margin: .75rem 0; }
legend { font-weight: 600; padding: 0 .3rem; }
.note { color: #475569; font-style: italic; margin: 0 0 .4rem; }
.lead { color: #334155; }
h1.ok { color: #0b6b2f; } h1.bad { color: #a4161a; }
body > main:only-child { max-width: 46rem; margin: 3rem auto; }
form.signin { background: #fff; border: 1px solid #d6dbe3; border-radius: 8px; padding: 1rem 1.25rem; max-width: 26rem; }
`;

export const APP_SCRIPT = `// authflow page: moves each card when its flow changes (server-sent events from /events).
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var flows = document.querySelector("section.flows");
  if (!status || !flows || !window.EventSource) return;
  var source;
  function onFlow(message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    var template = document.createElement("template");
    template.innerHTML = data.html;
    var card = template.content.firstElementChild;
    if (!card) return;
    var old = document.getElementById("flow-" + data.id);
    // Keep the keyboard where it was: the same control in the new card, else the card's heading.
    var focused = old && old.contains(document.activeElement) ? document.activeElement : null;
    var focusKey = focused ? (focused.getAttribute("data-action") || focused.getAttribute("name") || "") : null;
    // A new flow goes first (the page lists newest first), unless the page shows one legal entity and it is another's.
    var only = flows.getAttribute("data-only");
    if (!old && only && card.getAttribute("data-legal-entity") !== only) return;
    var first = flows.querySelector(":scope > article.flow, :scope > section.entity");
    if (old) old.replaceWith(card); else if (first) first.parentNode.insertBefore(card, first); else flows.appendChild(card);
    if (focused) {
      var same = focusKey ? card.querySelector('[data-action="' + focusKey + '"], [name="' + focusKey + '"]') : null;
      var heading = card.querySelector("h3");
      if (same) same.focus(); else if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
    var badge = card.querySelector(".badge");
    var title = card.querySelector("h3");
    if (badge && title) status.textContent = title.textContent.trim() + ": " + badge.textContent.trim();
  }
  function onDeleted(message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    var old = document.getElementById("flow-" + data.id);
    if (old) old.remove();
  }
  function connect() {
    var mine = new EventSource((document.documentElement.getAttribute("data-base") || "") + "/events");
    var previous = source;
    source = mine;
    mine.addEventListener("ready", function () {
      status.textContent = status.getAttribute("data-live-text") || "";
      // The stream this one replaces (see "renew") is closed only now: no change fell between them.
      if (previous && previous !== mine) { previous.close(); previous = null; }
    });
    mine.addEventListener("flow", onFlow);
    mine.addEventListener("deleted", onDeleted);
    // Asked by the server (a person the trusted proxy signed in): a new stream, through the proxy.
    mine.addEventListener("renew", function () { if (source === mine) connect(); });
    // The session ended (signed out here or elsewhere, or expired): no reconnecting, which would
    // only be refused; the page says so, and a reload goes to the sign-in.
    mine.addEventListener("signedout", function () {
      mine.close();
      if (source === mine) status.textContent = status.getAttribute("data-signed-out-text") || "";
    });
    mine.onerror = function () {
      if (source !== mine) { mine.close(); return; } // a replaced stream: its successor carries on
      status.textContent = "";
      if (mine.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }
  connect();
})();
`;
