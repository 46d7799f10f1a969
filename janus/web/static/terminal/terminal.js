// Janus browser terminal: one workspace per grant (tab per namespace), split panes, each pane
// its own WebSocket to /ws/terminal/{cr}. Binary frames carry terminal data both ways; text
// frames carry small JSON control messages (see janus/web/terminal/protocol.py).
"use strict";

(function () {
  const app = document.getElementById("terminal-app");
  if (!app) return;

  // xterm.js inserts <style> elements at run time; the CSP admits them only with this page's
  // nonce, so every <style> created from here on carries it.
  const styleNonce = app.dataset.styleNonce;
  const createElement = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    const element = createElement(tag, options);
    if (styleNonce && String(tag).toLowerCase() === "style") element.nonce = styleNonce;
    return element;
  };

  const INPUT_CHUNK = 16 * 1024; // bytes per binary frame: large pastes arrive whole, in order
  const EXPIRY_WARNING_SECONDS = 300;
  const encoder = new TextEncoder();
  const workspacesEl = document.getElementById("term-workspaces");
  const countdownEl = document.getElementById("term-countdown");
  const warningEl = document.getElementById("term-warning");
  const workspaces = new Map();
  let active = null;
  // Exposed for the browser tests, which read what xterm shows.
  window.janusPanes = [];

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function wsUrl(cr) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws/terminal/${encodeURIComponent(cr)}`;
  }

  function showWarning(text) {
    warningEl.textContent = text;
    warningEl.hidden = !text;
  }

  function formatLeft(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
  }

  // ---- one pane: toolbar (pod, container, connect) + xterm + socket ------------------------
  class Pane {
    constructor(workspace) {
      this.workspace = workspace;
      this.root = el("div", { class: "term-pane" });
      const bar = el("div", { class: "term-toolbar" });
      this.podSelect = el("select", { class: "term-pod", "aria-label": "Pod" });
      this.containerSelect = el("select", { class: "term-container", "aria-label": "Container" });
      this.connectButton = el("button", { type: "button", class: "term-connect" }, "Connect");
      this.closeButton = el("button", { type: "button", class: "term-close-pane" }, "Close pane");
      this.status = el("span", { class: "term-status" }, "Not connected");
      bar.append(this.podSelect, this.containerSelect, this.connectButton, this.closeButton,
                 this.status);
      this.screen = el("div", { class: "term-screen" });
      this.root.append(bar, this.screen);
      this.term = new window.Terminal({
        cursorBlink: true, scrollback: 5000, convertEol: false,
        fontFamily: "monospace", fontSize: 14,
      });
      this.fit = new window.FitAddon.FitAddon();
      this.term.loadAddon(this.fit);
      this.socket = null;
      this.term.onData((data) => this.sendInput(encoder.encode(data)));
      this.term.onBinary((data) => {
        const bytes = new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
        this.sendInput(bytes);
      });
      this.term.onResize(({ cols, rows }) => this.sendControl({ type: "resize", cols, rows }));
      this.podSelect.addEventListener("change", () => this.fillContainers());
      this.connectButton.addEventListener("click", () => this.connect());
      this.closeButton.addEventListener("click", () => this.workspace.removePane(this));
      this.root.dataset.paneIndex = String(window.janusPanes.length);
      window.janusPanes.push(this);
    }

    mount() {
      this.term.open(this.screen);
      this.refit();
      new ResizeObserver(() => this.refit()).observe(this.screen);
    }

    refit() {
      if (this.screen.offsetParent === null) return; // hidden tab: fit when shown
      try { this.fit.fit(); } catch (e) { /* not laid out yet */ }
    }

    setPods(pods) {
      this.pods = pods;
      this.podSelect.replaceChildren();
      for (const pod of pods) {
        const option = el("option", { value: pod.name }, `${pod.name} (${pod.phase})`);
        this.podSelect.append(option);
      }
      const running = pods.find((p) => p.phase === "Running");
      if (running) this.podSelect.value = running.name;
      this.fillContainers();
    }

    fillContainers() {
      const pod = (this.pods || []).find((p) => p.name === this.podSelect.value);
      this.containerSelect.replaceChildren();
      for (const c of (pod ? pod.containers : [])) {
        this.containerSelect.append(el("option", { value: c.name }, c.name));
      }
    }

    sendControl(message) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(message));
      }
    }

    sendInput(bytes) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
      for (let start = 0; start < bytes.length; start += INPUT_CHUNK) {
        this.socket.send(bytes.subarray(start, start + INPUT_CHUNK));
      }
    }

    connect() {
      if (this.socket) this.socket.close();
      const pod = this.podSelect.value, container = this.containerSelect.value;
      if (!pod || !container) { this.status.textContent = "Pick a pod and a container"; return; }
      this.refit();
      this.term.reset();
      const socket = new WebSocket(wsUrl(this.workspace.cr));
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      this.status.textContent = `Connecting to ${pod}/${container}…`;
      socket.addEventListener("open", () => {
        socket.send(JSON.stringify({
          type: "open", pod, container, cols: this.term.cols, rows: this.term.rows,
        }));
      });
      socket.addEventListener("message", (event) => {
        if (typeof event.data === "string") this.onControl(JSON.parse(event.data));
        else this.term.write(new Uint8Array(event.data));
      });
      socket.addEventListener("close", (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        this.root.classList.add("term-closed");
        if (!this.closedMessage) {
          this.status.textContent = `Disconnected (${event.code})`;
        }
      });
      this.closedMessage = null;
      this.root.classList.remove("term-closed");
    }

    onControl(message) {
      switch (message.type) {
        case "connected":
          this.status.textContent =
            `Connected: ${message.pod}/${message.container} (${message.shell})`;
          this.term.focus();
          break;
        case "countdown":
          this.workspace.setExpiry(message.expiresAt);
          break;
        case "warning":
          expiryBanner = false;
          if (message.reason === "idle") {
            showWarning(`This terminal closes in ${message.secondsLeft}s without input ` +
                        "(your access stays).");
          } else {
            showWarning(`Your access ends in ${formatLeft(message.secondsLeft)}.`);
          }
          break;
        case "closed":
          this.closedMessage = message;
          this.status.textContent = `Closed: ${message.message} [${message.reason}]`;
          this.term.write(`\r\n\x1b[1;31m[${message.message}]\x1b[0m\r\n`);
          if (message.reason === "revoked" || message.reason === "expired" ||
              message.reason === "grant-ended") {
            showWarning(message.message);
          }
          break;
      }
    }
  }

  // ---- one workspace per grant (tab) ------------------------------------------------------
  class Workspace {
    constructor(tab) {
      this.cr = tab.dataset.cr;
      this.tab = tab;
      this.expiresAt = tab.dataset.expiresAt ? Date.parse(tab.dataset.expiresAt) : null;
      this.root = el("div", { class: "term-workspace", "data-cr": this.cr });
      const bar = el("div", { class: "term-workspace-bar" });
      this.splitButton = el("button", { type: "button", class: "term-split" }, "Split pane");
      this.splitButton.addEventListener("click", () => this.addPane());
      bar.append(el("span", {}, `${tab.dataset.cluster} / ${tab.dataset.namespace}`),
                 this.splitButton);
      this.panesEl = el("div", { class: "term-panes" });
      this.root.append(bar, this.panesEl);
      this.panes = [];
      this.pods = null;
      workspacesEl.append(this.root);
    }

    async loadPods() {
      const response = await fetch(`/api/terminal/${encodeURIComponent(this.cr)}/pods`,
                                   { headers: { Accept: "application/json" } });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.detail || `HTTP ${response.status}`);
      }
      this.pods = (await response.json()).pods;
      for (const pane of this.panes) pane.setPods(this.pods);
    }

    addPane() {
      if (this.panes.length >= 4) return;
      const pane = new Pane(this);
      this.panes.push(pane);
      this.panesEl.append(pane.root);
      pane.mount();
      if (this.pods) pane.setPods(this.pods);
      this.panesEl.dataset.count = String(this.panes.length);
      this.panes.forEach((p) => p.refit());
      return pane;
    }

    removePane(pane) {
      if (this.panes.length === 1) return;
      if (pane.socket) pane.socket.close();
      pane.term.dispose();
      pane.root.remove();
      this.panes = this.panes.filter((p) => p !== pane);
      this.panesEl.dataset.count = String(this.panes.length);
      this.panes.forEach((p) => p.refit());
    }

    setExpiry(iso) {
      if (iso && !this.ended) this.expiresAt = Date.parse(iso);
    }

    // The grant ended (live event from /events/grants): no countdown, say how, by whom, why.
    end(body) {
      if (this.ended) return;
      this.ended = body;
      this.expiresAt = null;
      this.tab.classList.add("term-tab-ended");
      this.root.classList.add("term-ended");
      this.splitButton.disabled = true;
      for (const pane of this.panes) {
        pane.connectButton.disabled = true;
        if (!pane.closedMessage) pane.status.textContent = `Access ended: ${body.text}`;
      }
    }

    show(visible) {
      this.root.hidden = !visible;
      this.tab.classList.toggle("active", visible);
      this.tab.setAttribute("aria-selected", visible ? "true" : "false");
      if (visible) this.panes.forEach((p) => p.refit());
    }
  }

  function activate(cr) {
    for (const [name, workspace] of workspaces) workspace.show(name === cr);
    active = workspaces.get(cr);
  }

  // The expiry banner is ours while it shows the countdown; other warnings (idle, closed)
  // are left alone.
  let expiryBanner = false;

  function tick() {
    if (active && active.ended) {
      countdownEl.textContent = "ended";
      countdownEl.classList.remove("term-soon");
      showWarning(`Your access to ${active.tab.dataset.namespace} has ended. ${active.ended.text}`);
      warningEl.dataset.kind = "ended";
      expiryBanner = false;
      return;
    }
    if (!active || !active.expiresAt) { countdownEl.textContent = "—"; return; }
    const left = (active.expiresAt - Date.now()) / 1000;
    countdownEl.textContent = formatLeft(left);
    countdownEl.classList.toggle("term-soon", left <= EXPIRY_WARNING_SECONDS);
    if (left <= EXPIRY_WARNING_SECONDS && left > 0 && (warningEl.hidden || expiryBanner)) {
      // Re-written every second: the banner counts down with the header.
      expiryBanner = true;
      warningEl.dataset.kind = "expiry";
      showWarning(`Your access to ${active.tab.dataset.namespace} ends in ${formatLeft(left)}.`);
    } else if (expiryBanner) {
      expiryBanner = false;
      showWarning("");
    }
  }

  document.addEventListener("janus:grant", (event) => {
    const body = event.detail || {};
    const workspace = workspaces.get(body.name);
    if (!workspace) return;
    if (body.ended) workspace.end(body);
    else workspace.setExpiry(body.expiresAt);
    tick();
  });

  for (const tab of document.querySelectorAll(".term-tab")) {
    const workspace = new Workspace(tab);
    workspaces.set(workspace.cr, workspace);
    tab.addEventListener("click", () => activate(workspace.cr));
  }
  activate(app.dataset.initial);
  for (const workspace of workspaces.values()) {
    workspace.root.hidden = workspace !== active;
    workspace.addPane();
    workspace.loadPods().catch((error) => {
      for (const pane of workspace.panes) pane.status.textContent = `Pods: ${error.message}`;
    });
  }
  window.addEventListener("resize", () => active && active.panes.forEach((p) => p.refit()));
  tick();
  setInterval(tick, 1000);
})();
