// The read-only resource view (janus.web.terminal.resources): one table per kind, from
// /api/view/<grant>/<kind>, listed server side with the grant's own token.
"use strict";

(function () {
  var app = document.getElementById("view-app");
  if (!app) return;
  var cr = app.getAttribute("data-cr");

  function table(items) {
    if (!items.length) return document.createTextNode("none");
    var columns = Object.keys(items[0]);
    var t = document.createElement("table");
    var head = t.createTHead().insertRow();
    columns.forEach(function (c) { head.appendChild(document.createElement("th")).textContent = c; });
    var body = t.createTBody();
    items.forEach(function (item) {
      var row = body.insertRow();
      columns.forEach(function (c) { row.insertCell().textContent = String(item[c]); });
    });
    return t;
  }

  document.querySelectorAll(".view-kind").forEach(function (box) {
    var kind = box.getAttribute("data-kind");
    fetch("/api/view/" + encodeURIComponent(cr) + "/" + kind, { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 403) throw new Error("not allowed by this role");
        if (!r.ok) throw new Error("the server answered " + r.status);
        return r.json();
      })
      .then(function (body) { box.textContent = ""; box.appendChild(table(body.items)); })
      .catch(function (err) { box.textContent = err.message; });
  });
})();
