// Shared page behaviour. Loaded from a static file: the CSP forbids inline script.
"use strict";

(function () {
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every HTMX request carries this session's CSRF token in a header.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  window.Janus = window.Janus || {};
  window.Janus.csrfToken = csrfToken;
})();
