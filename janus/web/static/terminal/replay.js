// Replays an asciicast v2 recording (header line + [time, type, data] events) into xterm.js,
// with play/pause, a speed that can change while playing, and seeking (scrubber, keyboard).
//
// The player's timeline is the recording's with every idle gap longer than MAX_IDLE shortened
// to MAX_IDLE (the page says so): a session left open over lunch replays in seconds, and the
// scrubber spreads over the parts where something happened. Seeking forwards writes every
// event up to the target at once (consecutive output joined into one write); seeking
// backwards resets the terminal and re-renders from the start, so the screen at any point is
// exactly what the recorded bytes drew by then, never an approximation.
//
// window.janusReplay exposes the state for the browser tests (tests/web/test_replay_browser.py).
"use strict";

(function () {
  const app = document.getElementById("replay-app");
  if (!app) return;
  // xterm.js adds <style> elements; the CSP admits them only with this response's nonce.
  const styleNonce = app.dataset.styleNonce;
  const createElement = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    const element = createElement(tag, options);
    if (styleNonce && String(tag).toLowerCase() === "style") element.nonce = styleNonce;
    return element;
  };

  const MAX_IDLE = Number(app.dataset.maxIdle) || 2;  // seconds, see above
  const SKIP = 5;                                        // seconds per arrow key
  const byId = (id) => document.getElementById(id);
  const status = byId("replay-status");
  const playButton = byId("replay-play");
  const speedSelect = byId("replay-speed");
  const scrubber = byId("replay-scrubber");
  const clock = byId("replay-time");

  let term = null, header = null;
  let events = [];      // [time on the player's timeline, kind, data, recorded time]
  let duration = 0;     // of the player's timeline
  let applied = 0;      // events[0 .. applied) are on the screen
  let position = 0;     // seconds on the player's timeline
  let playing = false;
  let anchorPosition = 0, anchorWall = 0;  // position at wall time anchorWall (playing)
  let timer = null;
  let writes = 0;       // term.write calls not yet parsed by xterm
  let marker = "";

  function speed() { return Number(speedSelect.value) || 1; }

  function fmt(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function write(data) {
    writes += 1;
    term.write(data, () => { writes -= 1; });
  }

  function resize(data) {
    const [cols, rows] = String(data).split("x").map(Number);
    if (cols > 0 && rows > 0) term.resize(cols, rows);
  }

  // Put events [applied, upTo) on the screen; consecutive output becomes one write.
  function applyUpTo(upTo) {
    let chunk = "";
    for (; applied < upTo; applied++) {
      const [, kind, data] = events[applied];
      if (kind === "o") { chunk += data; continue; }
      if (chunk) { write(chunk); chunk = ""; }
      if (kind === "r") resize(data);
      else if (kind === "m") marker = String(data);
    }
    if (chunk) write(chunk);
  }

  // The number of events at or before *at* on the player's timeline.
  function countAt(at) {
    let lo = 0, hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (events[mid][0] <= at) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function restart() {
    term.reset();
    term.resize(header.width, header.height);
    applied = 0;
    marker = "";
  }

  // Show the screen as it was at *at* (seconds on the player's timeline).
  function renderAt(at) {
    position = Math.min(Math.max(0, at), duration);
    const upTo = countAt(position);
    if (upTo < applied) restart();
    applyUpTo(upTo);
    show();
  }

  function show() {
    scrubber.value = String(position);
    clock.textContent = `${fmt(position)} / ${fmt(duration)}`;
    playButton.textContent = playing ? "Pause" : "Play";
    playButton.setAttribute("aria-pressed", playing ? "true" : "false");
    let text = playing ? `Playing at ${speed()}×` : (position >= duration ? "Finished" : "Paused");
    if (marker) text += ` · marker: ${marker}`;
    status.textContent = text;
    app.dataset.state = playing ? "playing" : (position >= duration ? "finished" : "paused");
  }

  function now() { return performance.now(); }

  function current() {
    if (!playing) return position;
    return anchorPosition + ((now() - anchorWall) / 1000) * speed();
  }

  function tick() {
    timer = null;
    if (!playing) return;
    const at = current();
    if (at >= duration) {
      playing = false;
      renderAt(duration);
      return;
    }
    renderAt(at);
    // Wake for the next event, but at least a few times a second for the clock.
    const next = applied < events.length ? events[applied][0] : duration;
    const wait = Math.min(250, Math.max(10, ((next - at) / speed()) * 1000));
    timer = setTimeout(tick, wait);
  }

  function anchor() {
    anchorPosition = position;
    anchorWall = now();
  }

  function play() {
    if (playing) return;
    if (position >= duration) renderAt(0);
    playing = true;
    anchor();
    tick();
  }

  function pause() {
    if (!playing) return;
    renderAt(current());
    playing = false;
    if (timer) { clearTimeout(timer); timer = null; }
    show();
  }

  function toggle() { if (playing) pause(); else play(); }

  function seek(at) {
    renderAt(at);
    if (playing) {
      anchor();
      if (timer) clearTimeout(timer);
      timer = null;
      tick();
    }
  }

  function setSpeed(value) {
    // Keep the position where it is and go on from there at the new speed.
    if (playing) renderAt(current());
    speedSelect.value = String(value);
    if (playing) anchor();
    show();
  }

  function stepSpeed(direction) {
    const options = Array.from(speedSelect.options).map((o) => o.value);
    const at = options.indexOf(speedSelect.value);
    const next = options[Math.min(options.length - 1, Math.max(0, at + direction))];
    setSpeed(next);
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && target.tagName === "SELECT") return;
    // Space on a focused button clicks it already (the play button toggles by itself).
    if (target && target.tagName === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
    // Keys typed into a form field are theirs; xterm's own (read-only) textarea is the player's.
    if (target && /^(INPUT|TEXTAREA)$/.test(target.tagName) && target !== scrubber &&
        !byId("replay-screen").contains(target)) return;
    let handled = true;
    switch (event.key) {
      case " ": case "k": toggle(); break;
      case "ArrowLeft": seek(current() - SKIP); break;
      case "ArrowRight": seek(current() + SKIP); break;
      case "Home": seek(0); break;
      case "End": seek(duration); break;
      case ">": case ".": stepSpeed(1); break;
      case "<": case ",": stepSpeed(-1); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  }

  // The recorded events on the player's timeline: long idle gaps shortened to MAX_IDLE.
  function timeline(raw) {
    const out = [];
    let last = 0, at = 0;
    for (const event of raw) {
      const recorded = Number(event[0]) || 0;
      at += Math.min(Math.max(0, recorded - last), MAX_IDLE);
      last = Math.max(last, recorded);
      out.push([at, event[1], event[2], recorded]);
    }
    return out;
  }

  fetch(app.dataset.cast, { credentials: "same-origin" })
    .then((response) => {
      if (!response.ok) throw new Error(`the recording could not be loaded (${response.status})`);
      return response.text();
    })
    .then((text) => {
      const lines = text.split("\n").filter((l) => l.trim());
      header = JSON.parse(lines[0]);
      events = timeline(lines.slice(1).map((l) => JSON.parse(l)));
      duration = events.length ? events[events.length - 1][0] : 0;
      const recorded = events.length ? events[events.length - 1][3] : 0;
      term = new window.Terminal({ cols: header.width, rows: header.height, convertEol: false,
                                   disableStdin: true });
      term.open(byId("replay-screen"));
      scrubber.max = String(duration);
      scrubber.step = "0.01";
      scrubber.disabled = false;
      byId("replay-recorded").textContent = fmt(recorded);
      playButton.disabled = false;
      playButton.addEventListener("click", toggle);
      byId("replay-end").addEventListener("click", () => seek(duration));
      speedSelect.addEventListener("change", () => setSpeed(speedSelect.value));
      scrubber.addEventListener("input", () => seek(Number(scrubber.value)));
      // Capture: ahead of xterm's textarea, which would otherwise take the keys.
      document.addEventListener("keydown", onKey, true);
      window.janusReplay = {
        term, header, events, maxIdle: MAX_IDLE,
        get duration() { return duration; },
        get playing() { return playing; },
        get speed() { return speed(); },
        position: current,
        // Resolves once xterm has parsed everything written so far (tests read the buffer).
        settled: () => new Promise((resolve) => {
          const wait = () => (writes === 0 ? resolve(current()) : setTimeout(wait, 10));
          wait();
        }),
        seek, play, pause, setSpeed,
      };
      app.dataset.ready = "true";
      show();
    })
    .catch((error) => {
      status.textContent = String(error.message || error);
      app.dataset.state = "error";
    });
})();
