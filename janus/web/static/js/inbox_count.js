// The navigation bar's "To review" count (janus/web/inbox_routes.py, GET /inbox/count), kept
// current without a reload by the live event stream the other pages use (/events/grants):
// re-read on every "pulls" event (the access repository's open PRs changed: opened, new head,
// reviewed, merged, closed; janus/web/pull_watch.py), every grant event, and whenever the
// stream (re)connects.
//
// * On pages that load live.js, its events are followed ("janus:pulls", "janus:grant",
//   "janus:refreshed"; live.js marks <html data-live="on"> on each "ready").
// * On the other pages this script opens the same stream itself and does the same.
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

  document.addEventListener("janus:pulls", function () { schedule(100); });
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
      source.addEventListener("pulls", function () { schedule(100); });
      source.addEventListener("grant", function () { schedule(300); });
      source.addEventListener("error", function () {
        if (source.readyState === EventSource.CLOSED) setTimeout(connect, 30000);
      });
    };
    connect();
  }
  schedule(0);
})();
