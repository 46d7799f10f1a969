// Live countdown for every element with data-expires-at (RFC 3339): "1h 02m 05s left".
"use strict";

(function () {
  function format(ms) {
    if (ms <= 0) return "expired";
    var total = Math.floor(ms / 1000);
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var pad = function (n) { return n < 10 ? "0" + n : String(n); };
    return (h > 0 ? h + "h " + pad(m) + "m " : m + "m ") + pad(s) + "s left";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires-at]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-expires-at"));
      if (isNaN(at)) return;
      var left = at - now;
      el.textContent = format(left);
      el.classList.toggle("soon", left > 0 && left < 5 * 60 * 1000);
      el.classList.toggle("over", left <= 0);
    });
  }

  tick();
  setInterval(tick, 1000);
})();
