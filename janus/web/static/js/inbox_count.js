// The navigation bar's "To review" count (janus/web/inbox_routes.py, GET /inbox/count), kept
// current without a reload by the live event stream the other pages use (/events/grants):
//
// * on pages that load live.js, the count is re-read whenever that stream (re)connects — live.js
//   marks <html data-live="on"> on each "ready" event — and after every grant event and every
//   in-place refresh of the page's lists;
// * on the other pages this script opens the same stream itself and does the same.
//
// A review or a new PR is not an AccessRequest event: the web app hears of it when the stream
// reconnects (every 20 s, janus.web.terminal.live.STREAM_SECONDS) or when a grant changes.
// Loaded from a static file: the CSP forbids inline script.
"use strict";

(function () {
  var badge = document.querySelector("[data-inbox-count]");
  if (!badge) return;
  var timer = null;
  var pending = false;

  function show(count) {
    badge.textContent = count === null ? "?" : String(count);
    badge.dataset.count = count === null ? "" : String(count);
    badge.classList.toggle("some", typeof count === "number" && count > 0);
    badge.title = count === null ? "GitHub cannot be read right now"
      : count + " open request" + (count === 1 ? "" : "s") + " waiting for your review";
  }

  function update() {
    timer = null;
    if (pending) { schedule(500); return; }
    pending = true;
    fetch("/inbox/count", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body && "count" in body) show(body.count); })
      .catch(function () { /* the next event retries */ })
      .then(function () { pending = false; });
  }

  function schedule(ms) {
    if (timer === null) timer = setTimeout(update, ms);
  }

  document.addEventListener("janus:grant", function () { schedule(300); });
  document.addEventListener("janus:refreshed", function () { schedule(50); });

  if (document.querySelector('script[src$="/static/js/live.js"]')) {
    // live.js sets data-live="on" on every (re)connect of its stream.
    new MutationObserver(function () {
      if (document.documentElement.dataset.live === "on") schedule(100);
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-live"] });
  } else if (window.EventSource) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var url = "/events/grants?csrf=" + encodeURIComponent(meta ? meta.getAttribute("content") : "");
    var connect = function () {
      var source = new EventSource(url);
      source.addEventListener("ready", function () { schedule(100); });
      source.addEventListener("grant", function () { schedule(300); });
      source.addEventListener("error", function () {
        if (source.readyState === EventSource.CLOSED) setTimeout(connect, 30000);
      });
    };
    connect();
  }
  schedule(0);
})();
