"""The page's inline CSS and script: no build step, no CDN, works offline."""

from __future__ import annotations

FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='4' fill='%232563eb'/%3E"
    "%3Ccircle cx='8' cy='8' r='3.2' fill='%23fff'/%3E%3C/svg%3E"
)

CSS = """
:root {
  --bg: #f4f6f9; --card: #fff; --ink: #0f172a; --muted: #64748b; --faint: #94a3b8; --line: #e2e8f0;
  --soft: #f8fafc; --sel: #eff6ff;
  --green: #16a34a; --green-bg: #dcfce7; --green-ink: #166534;
  --amber: #d97706; --amber-bg: #fef3c7; --amber-ink: #92400e;
  --red: #dc2626; --red-bg: #fee2e2; --red-ink: #991b1b;
  --grey: #94a3b8; --grey-bg: #eef2f6; --grey-ink: #475569;
  --blue: #2563eb; --blue-bg: #dbeafe; --blue-ink: #1e40af;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0b1120; --card: #111827; --ink: #e5e7eb; --muted: #94a3b8; --faint: #64748b; --line: #1f2937;
    --soft: #0f172a; --sel: #172554;
    --green-bg: #052e16; --green-ink: #86efac; --amber-bg: #422006; --amber-ink: #fcd34d;
    --red-bg: #450a0a; --red-ink: #fca5a5; --grey-bg: #1e293b; --grey-ink: #cbd5e1;
    --blue-bg: #172554; --blue-ink: #93c5fd;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 var(--sans);
  -webkit-font-smoothing: antialiased; font-variant-numeric: tabular-nums; }
a { color: inherit; }
.mono { font-family: var(--mono); }
.muted { color: var(--muted); }

header.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; justify-content: space-between;
  gap: 16px; padding: 10px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { display: flex; align-items: center; gap: 10px; font-size: 16px; font-weight: 650; letter-spacing: -.01em; }
.brand a { text-decoration: none; }
.brand .mark { width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, #2563eb, #16a34a); }
.brand .sub { color: var(--muted); font-weight: 500; }
.badge { font-size: 10.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .07em; color: var(--muted);
  border: 1px solid var(--line); border-radius: 999px; padding: 1px 8px; }
.live { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 12.5px; }
.live .pulse { width: 8px; height: 8px; border-radius: 50%; background: var(--green); animation: pulse 2s infinite; }
.live.paused .pulse { background: var(--grey); animation: none; }
.live.stale .pulse { background: var(--amber); animation: none; }
@keyframes pulse { 0% { box-shadow: 0 0 0 0 rgba(22, 163, 74, .45); }
  70% { box-shadow: 0 0 0 7px rgba(22, 163, 74, 0); } 100% { box-shadow: 0 0 0 0 rgba(22, 163, 74, 0); } }
button.ghost { font: inherit; color: var(--muted); background: transparent; border: 1px solid var(--line);
  border-radius: 6px; padding: 1px 9px; cursor: pointer; }
button.ghost:hover { color: var(--ink); border-color: var(--faint); }

main { max-width: 1480px; margin: 0 auto; padding: 16px 24px 4px; }
footer { max-width: 1480px; margin: 0 auto; padding: 4px 24px 20px; color: var(--faint); font-size: 12px; }
h2 { display: flex; align-items: baseline; gap: 10px; margin: 0 0 10px; font-size: 12px; font-weight: 650;
  text-transform: uppercase; letter-spacing: .07em; color: var(--muted); }
h2 .aside { margin-left: auto; text-transform: none; letter-spacing: 0; font-weight: 500; }

.tiles { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; margin-bottom: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 11px 14px 10px;
  border-top: 3px solid var(--line); }
.tile .k { font-size: 11px; font-weight: 650; text-transform: uppercase; letter-spacing: .07em; color: var(--muted); }
.tile .v { margin-top: 1px; font-size: 26px; font-weight: 650; letter-spacing: -.02em; line-height: 1.25; }
.tile .v small { font-size: 14px; font-weight: 550; color: var(--muted); letter-spacing: 0; }
.tile .d { font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile.tone-green { border-top-color: var(--green); } .tile.tone-green .v { color: var(--green-ink); }
.tile.tone-amber { border-top-color: var(--amber); } .tile.tone-amber .v { color: var(--amber-ink); }
.tile.tone-red { border-top-color: var(--red); } .tile.tone-red .v { color: var(--red-ink); }
.tile.tone-blue { border-top-color: var(--blue); }
.tile.tone-grey { border-top-color: var(--grey); }

.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 13px 16px 12px;
  margin-bottom: 12px; min-width: 0; }
.empty { margin: 4px 0; color: var(--muted); }
.notice { margin: 0 0 10px; padding: 8px 12px; border-radius: 8px; background: var(--amber-bg);
  color: var(--amber-ink); }
.split { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 8fr); gap: 12px; align-items: start; }
@media (min-width: 1051px) { .split > .run { position: sticky; top: 60px; max-height: calc(100vh - 72px);
  overflow-y: auto; } }
@media (max-width: 1050px) { .split { grid-template-columns: 1fr; } .tiles { grid-template-columns: repeat(2, 1fr); } }

.legend { display: inline-flex; gap: 12px; text-transform: none; letter-spacing: 0; font-weight: 500; font-size: 12px; }
.legend i { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 5px; }
.legend .l-delivered { background: var(--green); } .legend .l-retried { background: var(--amber); }
.legend .l-failed { background: var(--red); }
.chart-wrap { overflow-x: auto; }
svg.chart { display: block; width: 100%; min-width: 760px; height: auto; }
svg.chart text { font-family: var(--sans); }
svg.chart .axis { font-size: 10px; fill: var(--faint); }
svg.chart .label { font: 600 11.5px var(--mono); fill: var(--ink); }
svg.chart .base { stroke: var(--line); }
svg.chart .hit { fill: var(--soft); }
svg.chart g:hover > .hit { fill: var(--grey-bg); }
svg.chart .b-delivered { fill: var(--green); } svg.chart .b-retried { fill: var(--amber); }
svg.chart .b-failed { fill: var(--red); }
svg.chart .totals { font-size: 11.5px; font-weight: 600; }
svg.chart .t-delivered { fill: var(--green); } svg.chart .t-retried { fill: var(--amber); }
svg.chart .t-failed { fill: var(--red); }

.pill { display: inline-flex; align-items: center; gap: 5px; padding: 1px 8px 1px 7px; border-radius: 999px;
  font-size: 11.5px; font-weight: 600; line-height: 1.6; white-space: nowrap; }
.pill::before { content: ""; width: 6px; height: 6px; border-radius: 50%; background: currentColor; }
.tone-green.pill, .tone-green.chip { background: var(--green-bg); color: var(--green-ink); }
.tone-amber.pill, .tone-amber.chip { background: var(--amber-bg); color: var(--amber-ink); }
.tone-red.pill, .tone-red.chip { background: var(--red-bg); color: var(--red-ink); }
.tone-grey.pill, .tone-grey.chip { background: var(--grey-bg); color: var(--grey-ink); }
.tone-blue.pill, .tone-blue.chip { background: var(--blue-bg); color: var(--blue-ink); }
.chip { display: inline-block; margin: 1px 3px 1px 0; padding: 0 6px; border-radius: 4px;
  font: 500 11px/1.7 var(--mono); }

table.runs { width: 100%; border-collapse: collapse; table-layout: fixed; }
ol.runs { list-style: none; margin: 0 -8px; padding: 0; }
.runs li { position: relative; display: grid; grid-template-columns: 122px minmax(0, 1fr) auto;
  grid-template-areas: "st rid when" "st title chans"; align-items: center; gap: 1px 10px; padding: 7px 8px;
  border-top: 1px solid var(--line); }
.runs li:hover { background: var(--soft); }
.runs li.sel { background: var(--sel); box-shadow: inset 3px 0 0 var(--blue); }
.runs .st { grid-area: st; }
.runs a.rid { grid-area: rid; font: 600 12.5px var(--mono); text-decoration: none; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.runs a.rid::after { content: ""; position: absolute; inset: 0; }
.runs .when { grid-area: when; color: var(--faint); font-size: 11.5px; white-space: nowrap; text-align: right; }
.runs .title { grid-area: title; color: var(--muted); font-size: 12.5px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.runs .chans { grid-area: chans; text-align: right; white-space: nowrap; }
.runs .chans .chip { margin: 0 0 0 3px; }

.run-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; margin-bottom: 4px; }
.run-head h2 { margin: 0; }
.run-head .rid { font: 650 15px var(--mono); word-break: break-all; }
.run-meta { color: var(--muted); font-size: 12.5px; margin-bottom: 8px; }
.ticket { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 4px; margin-top: 10px; }
.ticket > header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }
.ticket h3 { margin: 0; font-size: 14.5px; font-weight: 600; letter-spacing: -.005em; min-width: 0;
  overflow-wrap: anywhere; }
.ticket .meta { margin-left: auto; color: var(--faint); font-size: 12px; white-space: nowrap; }
.event { font: 600 10.5px var(--mono); text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
  border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; }
.rule, .route { margin: 4px 0; color: var(--grey-ink); font-size: 12px; }
.reason { margin: 8px 0 6px; padding: 6px 10px; border-radius: 6px; background: var(--grey-bg); color: var(--grey-ink);
  font-size: 12.5px; }
ul.deliveries { list-style: none; margin: 8px 0 0; padding: 0; }
.delivery { padding: 8px 0 9px; border-top: 1px dashed var(--line); }
.delivery .who { display: flex; align-items: center; gap: 8px; margin-bottom: 6px; }
.delivery .chan { font: 600 13px var(--mono); }
.delivery .count { font-size: 11.5px; color: var(--faint); }
ol.tl { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; align-items: center; row-gap: 5px; }
.tl .step { display: inline-flex; align-items: center; }
.tl .node { display: inline-flex; align-items: center; gap: 4px; padding: 1px 7px; border-radius: 6px;
  font-size: 11.5px; background: var(--soft); border: 1px solid var(--line); white-space: nowrap; }
.tl .node .dot { width: 7px; height: 7px; border-radius: 50%; background: var(--grey); flex: none; }
.tl .node b { font-weight: 600; }
.tl .node .t { color: var(--faint); font-size: 10.5px; }
.tl .node.start { background: transparent; border-color: transparent; padding-left: 0; color: var(--muted); }
.tl .o-delivered .dot { background: var(--green); }
.tl .o-transient .dot, .tl .o-rate_limited .dot { background: var(--amber); }
.tl .o-permanent .dot { background: var(--red); }
.tl .gap { display: inline-flex; flex-direction: column; align-items: center; min-width: 30px; padding: 0 4px;
  font-size: 10.5px; line-height: 1.15; color: var(--faint); white-space: nowrap; }
.tl .gap::after { content: ""; align-self: stretch; border-top: 2px dotted var(--faint); opacity: .6; margin-top: 1px; }
.tl .gap.short { min-width: 16px; }
.tl .gap.long { color: var(--amber-ink); font-weight: 600; }
.tl .gap.long::after { border-top-color: var(--amber); }
.tl .more { font-size: 11.5px; color: var(--muted); font-style: italic; padding: 0 6px; }
.tl .end { border-color: transparent; font-weight: 600; }
.tl .end.tone-green { background: var(--green-bg); color: var(--green-ink); }
.tl .end.tone-red { background: var(--red-bg); color: var(--red-ink); }
.tl .end.tone-amber { background: var(--amber-bg); color: var(--amber-ink); }
.tl .end.tone-blue { background: var(--blue-bg); color: var(--blue-ink); }
.tl .end.tone-grey { background: var(--grey-bg); color: var(--grey-ink); }
.tl .end .dot { background: currentColor; }
.tl .end .t { color: inherit; opacity: .75; font-weight: 500; }
.tl .end.tone-blue .dot { animation: pulse 2s infinite; }
ul.why { list-style: none; margin: 7px 0 0; padding: 6px 10px; border-radius: 6px; font: 12px/1.5 var(--mono);
  background: var(--red-bg); color: var(--red-ink); overflow-wrap: anywhere; }
ul.why.tone-amber { background: var(--amber-bg); color: var(--amber-ink); }
ul.why .n { opacity: .7; margin-right: 6px; }

details.sent { margin: 7px 0 0; }
details.sent > summary { cursor: pointer; color: var(--muted); font-size: 11.5px; font-weight: 600;
  text-transform: uppercase; letter-spacing: .06em; list-style-position: inside; }
details.sent > summary .dialect { margin-left: 4px; font: 500 11px var(--mono); text-transform: none;
  letter-spacing: 0; color: var(--faint); }
details.sent > summary .note { margin-left: 8px; text-transform: none; letter-spacing: 0; font-weight: 500;
  color: var(--amber-ink); }
.sent-body { margin-top: 6px; max-width: 640px; }
iframe.mail { display: block; width: 100%; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
.bubble, .card-msg { border: 1px solid var(--line); border-radius: 10px; background: var(--soft); font-size: 13px;
  overflow-wrap: anywhere; }
.bubble { padding: 8px 11px; }
.bubble.tg { border-radius: 12px 12px 12px 3px; background: var(--blue-bg); border-color: transparent; }
.plain { white-space: pre-wrap; }
.m-title, .e-title { font-weight: 650; margin-bottom: 3px; }
.md p { margin: 0 0 6px; } .md p:last-child { margin-bottom: 0; }
.md h2, .md h3, .md h4, .md h5, .md h6 { margin: 6px 0 4px; font-size: 13.5px; text-transform: none;
  letter-spacing: 0; color: var(--ink); display: block; }
.md ul, .md ol { margin: 0 0 6px; padding-left: 20px; }
.md pre, .plain pre { margin: 4px 0 6px; padding: 6px 8px; border-radius: 6px; background: var(--grey-bg);
  overflow-x: auto; font: 12px/1.45 var(--mono); }
.md code, .bubble code { font: 12px var(--mono); background: var(--grey-bg); border-radius: 4px; padding: 0 3px; }
.md pre code { background: none; padding: 0; }
.md blockquote, .bubble blockquote { margin: 0 0 6px; padding-left: 8px; border-left: 3px solid var(--faint);
  color: var(--muted); }
.md a, .bubble a, .card-msg a { color: var(--blue); }
.badlink { text-decoration: line-through dotted; }
.card-msg { position: relative; overflow: hidden; background: var(--card); }
.card-body { padding: 8px 12px 10px; }
.feishu .band { padding: 8px 12px; color: #fff; font-weight: 650; background: var(--blue); }
.feishu .band.t-blue { background: #3370ff; } .feishu .band.t-wathet { background: #4fc1e9; }
.feishu .band.t-turquoise { background: #14c0a8; } .feishu .band.t-green { background: #34c724; }
.feishu .band.t-yellow { background: #ffc60a; color: #1f2329; } .feishu .band.t-orange { background: #ff8800; }
.feishu .band.t-red { background: #f54a45; } .feishu .band.t-carmine { background: #e4388f; }
.feishu .band.t-violet { background: #a939eb; } .feishu .band.t-purple { background: #7f3bf5; }
.feishu .band.t-indigo { background: #4954e6; } .feishu .band.t-grey { background: #8f959e; }
.discord { padding-left: 4px; }
.discord .stripe { position: absolute; left: 0; top: 0; bottom: 0; width: 4px; background: #8b8d98; }
.discord .stripe[data-tone="error"] { background: #e5484d; } .discord .stripe[data-tone="end"] { background: #30a46c; }
.discord .stripe[data-tone="ask"] { background: #0090ff; }
.discord .field { margin-top: 6px; font-size: 12.5px; }
.foot { margin-top: 6px; color: var(--muted); font-size: 11.5px; }
.actions, .kb-row { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.kb-row { margin-top: 6px; } .kb-row > * { flex: 1; text-align: center; }
.btn { display: inline-block; padding: 3px 12px; border-radius: 6px; background: var(--blue); color: #fff;
  font-size: 12.5px; font-weight: 600; text-decoration: none; }
.actions a, .kb-row a { text-decoration: none; }
.slack .btn { background: var(--card); color: var(--ink); border: 1px solid var(--faint); }
.tg .btn { background: rgba(255, 255, 255, .55); color: var(--blue-ink); width: 100%; }
.n-head { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-bottom: 3px; }
.prio { font: 600 10.5px var(--mono); padding: 0 5px; border-radius: 4px; background: var(--grey-bg);
  color: var(--grey-ink); }
.prio.p-4 { background: var(--amber-bg); color: var(--amber-ink); }
.prio.p-5 { background: var(--red-bg); color: var(--red-ink); }
.tag { font: 500 10.5px var(--mono); padding: 0 5px; border-radius: 4px; border: 1px solid var(--line);
  color: var(--muted); margin-right: 4px; }
"""

# Refreshes the live part of the page in place (no reload: scroll and hover survive), pauses while
# the tab is hidden, and shows times in the reader's own time zone. GET only, like everything here.
SCRIPT = """
(function () {
  "use strict";
  var every = (Number(document.body.getAttribute("data-refresh")) || 10) * 1000;
  var box = document.getElementById("live-state");
  var label = document.getElementById("live-text");
  var button = document.getElementById("pause");
  var paused = false, busy = false, timer = 0;
  var clock = { hour: "2-digit", minute: "2-digit", second: "2-digit" };

  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      t.title = d.toLocaleString();
      if (t.getAttribute("data-fmt") === "clock") t.textContent = d.toLocaleTimeString([], clock);
    });
  }
  // A "message as sent" panel the reader opened or closed stays so across refreshes.
  var folded = {};
  document.addEventListener("toggle", function (e) {
    var key = e.target.getAttribute && e.target.getAttribute("data-key");
    if (key) folded[key] = e.target.open;
  }, true);
  function keep(root) {
    root.querySelectorAll("details[data-key]").forEach(function (d) {
      var key = d.getAttribute("data-key");
      if (Object.prototype.hasOwnProperty.call(folded, key)) d.open = folded[key];
    });
  }
  function state(name, text) { box.className = "live " + name; label.textContent = text; }
  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, every); }
  function refresh() {
    if (paused || busy || document.hidden) { schedule(); return; }
    busy = true;
    var broken = false;
    fetch(location.href, { cache: "no-store", credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { broken = r.status >= 500; return r.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        if (!fresh) throw new Error("unexpected answer");
        keep(fresh);
        document.getElementById("live").innerHTML = fresh.innerHTML;
        localize(document.getElementById("live"));
        if (broken) { state("stale", "the ledger could not be read · retrying"); return; }
        state("ok", "updated " + new Date().toLocaleTimeString([], clock));
      })
      .catch(function () { state("stale", "cannot reach the dashboard · retrying"); })
      .then(function () { busy = false; schedule(); });
  }
  button.addEventListener("click", function () {
    paused = !paused;
    button.textContent = paused ? "resume" : "pause";
    button.setAttribute("aria-pressed", String(paused));
    if (paused) { state("paused", "paused"); } else { refresh(); }
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && !paused) refresh(); });
  localize(document);
  document.documentElement.setAttribute("data-js", "ready");
  schedule();
})();
"""
