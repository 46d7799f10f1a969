// The debug flow (janus.web.terminal.log_routes, role pod-debug): pick the pod and the container
// to target and an allowed image; POST /api/debug/<grant> adds the ephemeral container with the
// grant's own token (server side); then a terminal attaches to it over WS /ws/terminal/<grant>
// (the server attaches, never execs, and only to the pod's ephemeral containers). Frames as in
// janus/web/terminal/protocol.py: binary data both ways, JSON control messages as text.
"use strict";

(function () {
  const app = document.getElementById("debug-app");
  if (!app) return;
  const styleNonce = app.dataset.styleNonce;
  const createElement = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    const element = createElement(tag, options);
    if (styleNonce && String(tag).toLowerCase() === "style") element.nonce = styleNonce;
    return element;
  };
  const cr = app.dataset.cr;
  const target = document.getElementById("debug-target");
  const image = document.getElementById("debug-image");
  const start = document.getElementById("debug-start");
  const status = document.getElementById("debug-status");
  const screen = document.getElementById("debug-screen");
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const encoder = new TextEncoder();
  const term = new window.Terminal({ cursorBlink: true, scrollback: 5000, fontFamily: "monospace",
                                     fontSize: 14 });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  let socket = null;
  window.janusDebug = { term: term };  // read by the browser tests

  function say(text) { status.textContent = text; }
  function refit() { try { fit.fit(); } catch (e) { /* not laid out yet */ } }
  refit();
  new ResizeObserver(refit).observe(screen);

  fetch(`/api/terminal/${encodeURIComponent(cr)}/pods`, { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error(`pods: HTTP ${r.status}`); return r.json(); })
    .then((body) => {
      for (const pod of body.pods) {
        for (const c of pod.containers) {
          const option = document.createElement("option");
          option.value = `${pod.name}/${c.name}`;
          option.textContent = `${pod.name} / ${c.name}`;
          target.append(option);
        }
      }
    })
    .catch((error) => say(`Cannot list pods: ${error.message}`));

  function attach(pod, container) {
    if (socket) socket.close();
    term.reset();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/terminal/${encodeURIComponent(cr)}`);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.addEventListener("open", () => ws.send(JSON.stringify({
      type: "open", pod, container, cols: term.cols, rows: term.rows })));
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") { term.write(new Uint8Array(event.data)); return; }
      const message = JSON.parse(event.data);
      if (message.type === "connected") {
        say(`Attached: ${message.pod}/${message.container}`);
        term.focus();
      } else if (message.type === "closed") {
        say(`Closed: ${message.message} [${message.reason}]`);
        term.write(`\r\n\x1b[1;31m[${message.message}]\x1b[0m\r\n`);
      }
    });
    ws.addEventListener("close", (event) => {
      if (socket === ws) socket = null;
      if (!status.textContent.startsWith("Closed")) say(`Disconnected (${event.code})`);
    });
  }

  term.onData((data) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onResize(({ cols, rows }) => {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resize", cols, rows }));
    }
  });

  document.getElementById("debug-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [pod, container] = (target.value || "").split("/");
    if (!pod || !container || !image.value) { say("Pick a pod, a container and an image."); return; }
    start.disabled = true;
    say(`Starting a debug container (${image.value}) in ${pod}, targeting ${container}…`);
    fetch(`/api/debug/${encodeURIComponent(cr)}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ pod, container, image: image.value }),
    })
      .then((r) => r.json().then((body) => {
        if (!r.ok) throw new Error(`${r.status}: ${body.detail || ""}`);
        return body;
      }))
      .then((body) => {
        say(`Debug container ${body.container} added; attaching…`);
        attach(body.pod, body.container);
      })
      .catch((error) => say(`Refused: ${error.message}`))
      .finally(() => { start.disabled = false; });
  });
})();
