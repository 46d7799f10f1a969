// Live pages: listens to /events/grants (server-sent events from the grant watcher, see
// janus/web/terminal/live.py) and keeps the page current without a reload.
//
// * Regions marked data-live-region (with an id) are re-read from the server and swapped in
//   place after a grant changes (debounced; deferred while someone types in one of them).
// * Every event is also dispatched on document as "janus:grant" (detail: the event body), for
//   page scripts such as the terminal's.
// * "pulls" events (the access repository's open pull requests changed; janus/web/pull_watch.py)
//   re-read the regions of pages that list PRs, marked data-live-pulls, and are dispatched as
//   "janus:pulls".
// Loaded from a static file: the CSP forbids inline script.
"use strict";

(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta || !window.EventSource) return;
  var url = "/events/grants?csrf=" + encodeURIComponent(meta.getAttribute("content") || "");
  // Grants this page follows (the terminal's tabs): sent as they stand on every (re)connect.
  var followed = Array.prototype.map.call(document.querySelectorAll("[data-live-grant]"),
    function (el) { return el.getAttribute("data-live-grant"); });
  if (followed.length) url += "&names=" + encodeURIComponent(followed.join(","));
  var connectedBefore = false;
  var timer = null;
  var pending = false;

  function regions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live-region][id]"));
  }

  // Someone is typing in a region (a revoke reason): swapping it now would lose their text.
  function busy(list) {
    var active = document.activeElement;
    return list.some(function (region) {
      if (active && region.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
        return true;
      }
      return Array.prototype.some.call(
        region.querySelectorAll("input:not([type=hidden]), textarea"),
        function (field) { return field.value !== field.defaultValue; });
    });
  }

  function refresh() {
    timer = null;
    var list = regions();
    if (!list.length) return;
    if (busy(list)) { schedule(1000); return; }
    if (pending) { schedule(300); return; }
    pending = true;
    fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        list.forEach(function (region) {
          var next = fresh.getElementById(region.id);
          if (!next) return;
          region.innerHTML = next.innerHTML;
          if (window.htmx) window.htmx.process(region);
        });
        document.documentElement.dataset.liveRefreshed = String(Date.now());
        document.dispatchEvent(new CustomEvent("janus:refreshed"));
      })
      .catch(function () { /* the next event retries */ })
      .then(function () { pending = false; });
  }

  function schedule(ms) {
    if (timer === null) timer = setTimeout(refresh, ms);
  }

  function connect() {
    var source = new EventSource(url);
    source.addEventListener("ready", function () {
      document.documentElement.dataset.live = "on";
      // The server ends each stream after a while and the browser reconnects: re-read the
      // lists once in case something changed in between.
      if (connectedBefore) schedule(150);
      connectedBefore = true;
    });
    source.addEventListener("grant", function (message) {
      var body;
      try { body = JSON.parse(message.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("janus:grant", { detail: body }));
      schedule(150);
    });
    source.addEventListener("pulls", function () {
      document.dispatchEvent(new CustomEvent("janus:pulls"));
      if (document.querySelector("[data-live-pulls]")) schedule(150);
    });
    source.addEventListener("error", function () {
      document.documentElement.dataset.live = "off";
      // EventSource retries by itself unless the server refused (then it is CLOSED).
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, 30000);
      }
    });
  }

  // A countdown that runs out: the controller's Expired event follows within seconds, but the
  // page should not offer the terminal meanwhile.
  var lastOver = 0;
  setInterval(function () {
    var over = document.querySelector("[data-live-region] .countdown.over");
    if (over && Date.now() - lastOver > 10000) { lastOver = Date.now(); schedule(2000); }
  }, 1000);

  connect();
})();
