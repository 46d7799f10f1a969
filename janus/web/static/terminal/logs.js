// The log viewer (janus.web.terminal.log_routes): pick a pod/container, since, follow; the log
// streams from /api/logs/<grant> (the grant's own token, server side) into <pre>; the server
// closes the stream when the grant is revoked or expires and says why in a last line.
"use strict";

(function () {
  var app = document.getElementById("logs-app");
  if (!app) return;
  var cr = app.getAttribute("data-cr");
  var target = document.getElementById("logs-target");
  var output = document.getElementById("logs-output");
  var status = document.getElementById("logs-status");
  var download = document.getElementById("logs-download");
  var controller = null;

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function query(forDownload) {
    var parts = (target.value || "").split("/");
    var params = new URLSearchParams({ pod: parts[0] || "", container: parts[1] || "" });
    var since = document.getElementById("logs-since").value;
    if (since) params.set("since", since);
    if (document.getElementById("logs-timestamps").checked) params.set("timestamps", "true");
    if (forDownload) params.set("download", "true");
    else if (document.getElementById("logs-follow").checked) params.set("follow", "true");
    return "/api/logs/" + encodeURIComponent(cr) + "?" + params.toString();
  }

  function updateDownload() { download.href = query(true); }

  fetch("/api/terminal/" + encodeURIComponent(cr) + "/pods", { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("pods: " + r.status); return r.json(); })
    .then(function (body) {
      body.pods.forEach(function (pod) {
        pod.containers.forEach(function (c) {
          var option = document.createElement("option");
          option.value = pod.name + "/" + c.name;
          option.textContent = pod.name + " / " + c.name;
          target.appendChild(option);
        });
      });
      updateDownload();
    })
    .catch(function (err) { say("Cannot list pods: " + err.message); });

  document.getElementById("logs-form").addEventListener("change", updateDownload);
  document.getElementById("logs-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (controller) controller.abort();
    controller = new AbortController();
    output.textContent = "";
    say("");
    var decoder = new TextDecoder();
    fetch(query(false), { credentials: "same-origin", signal: controller.signal })
      .then(function (r) {
        if (!r.ok) {
          return r.json().then(function (b) { throw new Error(r.status + ": " + (b.detail || "")); },
                               function () { throw new Error(String(r.status)); });
        }
        var reader = r.body.getReader();
        function pump() {
          return reader.read().then(function (part) {
            if (part.done) { say("The log stream is closed."); return; }
            output.textContent += decoder.decode(part.value, { stream: true });
            output.scrollTop = output.scrollHeight;
            return pump();
          });
        }
        return pump();
      })
      .catch(function (err) { if (err.name !== "AbortError") say("Cannot read the log: " + err.message); });
  });
})();
