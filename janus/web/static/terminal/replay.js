// Replays an asciicast v2 recording (header line + [time, type, data] events) into xterm.js.
"use strict";

(function () {
  const app = document.getElementById("replay-app");
  if (!app) return;
  const styleNonce = app.dataset.styleNonce;
  const createElement = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    const element = createElement(tag, options);
    if (styleNonce && String(tag).toLowerCase() === "style") element.nonce = styleNonce;
    return element;
  };

  const status = document.getElementById("replay-status");
  const speedSelect = document.getElementById("replay-speed");
  let term = null, events = [], index = 0, timer = null, started = 0, offset = 0;

  function apply(event) {
    const [, kind, data] = event;
    if (kind === "o") term.write(data);
    else if (kind === "r") {
      const [cols, rows] = data.split("x").map(Number);
      if (cols && rows) term.resize(cols, rows);
    } else if (kind === "m") status.textContent = `marker: ${data}`;
  }

  function step() {
    const speed = Number(speedSelect.value) || 1;
    const now = (performance.now() - started) / 1000 * speed + offset;
    while (index < events.length && events[index][0] <= now) apply(events[index++]);
    if (index >= events.length) { timer = null; status.textContent = "Finished"; return; }
    timer = setTimeout(step, Math.min(250, ((events[index][0] - now) / speed) * 1000));
  }

  function play() {
    if (timer) return;
    if (index >= events.length) { term.reset(); index = 0; }
    offset = index ? events[index - 1][0] : 0;
    started = performance.now();
    status.textContent = "Playing";
    step();
  }

  function toEnd() {
    if (timer) { clearTimeout(timer); timer = null; }
    while (index < events.length) apply(events[index++]);
    status.textContent = "Finished";
  }

  fetch(app.dataset.cast).then((r) => r.text()).then((text) => {
    const lines = text.split("\n").filter((l) => l.trim());
    const header = JSON.parse(lines[0]);
    events = lines.slice(1).map((l) => JSON.parse(l));
    term = new window.Terminal({ cols: header.width, rows: header.height, convertEol: false });
    term.open(document.getElementById("replay-screen"));
    window.janusReplay = { term, header, events };
    status.textContent = `${events.length} events`;
    document.getElementById("replay-play").addEventListener("click", play);
    document.getElementById("replay-end").addEventListener("click", toEnd);
  });
})();
