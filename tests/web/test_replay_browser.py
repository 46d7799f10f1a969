"""The recording replay in real Chromium, on a real recording: alice works in the browser
terminal (a real exec into a pod of the real control plane) and what her screen showed is read
at three moments; an admin then replays the session and seeks to those moments, forwards and
backwards, and the replayed screen must be exactly what alice saw. Also: the speed changes while
playing, pause holds, the keyboard works, long idle gaps are shortened and the page says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from janus.web.recording import REPLAY_MAX_IDLE_SECONDS, parse_asciicast, replay_timeline
from tests.browser_support import (
    CHROMIUM,
    VENDOR,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    wait_for,
)

# The terminal tests' fixtures: the web app's restricted kubeconfig and grants with a real pod.
from tests.web.terminal.conftest import make_grant, terminal_dir, web_kube  # noqa: F401
from tests.web.terminal.support import ADMIN, AppServer

pytestmark = pytest.mark.k8s_real

# Between the three moments alice waits this long without typing: the recording has idle gaps
# longer than the player's cap, and nothing else in it pauses anywhere near as long.
IDLE_BETWEEN = REPLAY_MAX_IDLE_SECONDS + 4.0
GAP = REPLAY_MAX_IDLE_SECONDS + 2.0

# The visible rows of an xterm (what is on the screen), and the cursor.
SCREEN = """(term) => {
  const b = term.buffer.active; const rows = [];
  for (let i = 0; i < term.rows; i++) {
    const line = b.getLine(b.baseY + i);
    rows.push(line ? line.translateToString(true) : "");
  }
  return {rows, cursor: [b.cursorX, b.cursorY], size: [term.cols, term.rows]};
}"""
LIVE_SCREEN = f"() => ({SCREEN})(window.janusPanes[0].term)"
REPLAY_SCREEN = (f"async () => {{ await window.janusReplay.settled(); "
                 f"return ({SCREEN})(window.janusReplay.term); }}")


@pytest.fixture(scope="module")
def replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:  # noqa: F811
    with AppServer.running(web_kube, terminal_dir / "replay.db", auth_mode="dev") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "xterm" / "xterm.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


def _type_line(page, text: str) -> None:
    page.locator('[data-pane-index="0"] .xterm-helper-textarea').focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _settled_screen(page, must_show: str) -> dict:
    """The live screen once *must_show* is on it and nothing has changed for a second."""
    wait_for(lambda: must_show in "\n".join(page.evaluate(LIVE_SCREEN)["rows"]), 15, must_show)
    last, since = None, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = page.evaluate(LIVE_SCREEN)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            return now
        time.sleep(0.1)
    raise AssertionError("the live screen did not settle")


def _record_session(browser, replica: AppServer, grant) -> tuple[int, list[dict]]:
    """alice's session; returns its id and the screen at the end of each of three moments."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    collect_problems(page, problems)
    try:
        dev_sign_in(page, f"{replica.base}/terminal/{grant.cr_name}", "alice")
        pane = page.locator(".term-workspace:not([hidden]) .term-pane").first
        wait_for(lambda: pane.locator(".term-pod option").count() > 0, 15, "pods listed")
        pane.locator(".term-connect").click()
        wait_for(lambda: "Connected" in (pane.locator(".term-status").text_content() or ""), 20,
                 "connected")
        wait_for(lambda: "$ " in "\n".join(page.evaluate(LIVE_SCREEN)["rows"]), 15, "prompt")
        store = replica.app.state.terminal.store
        ids = wait_for(
            lambda: [s.id for s in store.list_sessions() if s.cr_name == grant.cr_name], 10,
            "the session row")
        session = int(ids[0])  # type: ignore[index]
        moments = []
        # 1: a short command.
        _type_line(page, "echo first-$((20+1))")
        moments.append(_settled_screen(page, "first-21"))
        time.sleep(IDLE_BETWEEN)
        # 2: more lines than the screen has, so it scrolls.
        _type_line(page, "for i in $(seq 1 60); do echo line-$i; done; echo second-$((40+2))")
        moments.append(_settled_screen(page, "second-42"))
        time.sleep(IDLE_BETWEEN)
        # 3: the screen cleared, then a little output.
        _type_line(page, "clear; echo third-$((3*3))")
        moments.append(_settled_screen(page, "third-9"))
        time.sleep(IDLE_BETWEEN)
        assert problems == [], problems
    finally:
        context.close()
    # The recording is complete once the session is closed (the page is gone).
    store = replica.app.state.terminal.store
    wait_for(lambda: getattr(store.get(session), "closed_at", None), 15, "the session closed")
    return session, moments


def _moment_positions(replica: AppServer, session: int) -> tuple[list[float], float]:
    """Where each moment ends on the player's timeline: the last event before each long gap
    (alice waited IDLE_BETWEEN after each), from the recording itself."""
    text = replica.app.state.terminal.store.recording(session)
    _, events = parse_asciicast(text)
    recorded = [float(e[0]) for e in events]
    timeline = replay_timeline(events)
    ends = [i for i in range(len(events) - 1) if recorded[i + 1] - recorded[i] > GAP]
    assert len(ends) >= 3, f"expected three idle gaps in the recording, found {len(ends)}"
    # The idle gaps are shortened to exactly the cap on the player's timeline.
    for i in ends:
        assert abs((timeline[i + 1] - timeline[i]) - REPLAY_MAX_IDLE_SECONDS) < 1e-6
    # Half-way into the shortened gap: after the moment's last event, before the next one.
    return [timeline[i] + REPLAY_MAX_IDLE_SECONDS / 2 for i in ends[:3]], timeline[-1]


def test_replay_seeks_to_what_was_on_screen_and_changes_speed_while_playing(
    browser, replica: AppServer, make_grant,  # noqa: F811
) -> None:
    grant = make_grant()
    session, moments = _record_session(browser, replica, grant)
    positions, duration = _moment_positions(replica, session)

    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    collect_problems(page, problems)
    try:
        dev_sign_in(page, f"{replica.base}/admin/sessions/{session}", ADMIN)
        page.wait_for_selector("#replay-app[data-ready=true]", timeout=15000)
        assert abs(page.evaluate("() => window.janusReplay.duration") - duration) < 1e-6
        note = page.text_content("[data-testid=replay-idle-note]") or ""
        assert f"longer than {REPLAY_MAX_IDLE_SECONDS} s are" in note
        speeds = page.locator("#replay-speed option").evaluate_all(
            "(options) => options.map((o) => o.value)")
        assert {"0.5", "1", "2", "4", "8"} <= set(speeds)

        # Seek forwards to each moment in turn, then backwards: the screen is what alice saw.
        for order in ([0, 1, 2], [1, 0, 2, 0]):
            for index in order:
                page.evaluate("(at) => window.janusReplay.seek(at)", positions[index])
                shown = page.evaluate(REPLAY_SCREEN)
                assert shown == moments[index], (index, shown, moments[index])

        # The scrubber seeks too (an input event, as a drag makes).
        page.evaluate("""(at) => { const s = document.getElementById('replay-scrubber');
            s.value = String(at); s.dispatchEvent(new Event('input')); }""", positions[1])
        assert page.evaluate(REPLAY_SCREEN) == moments[1]
        assert page.text_content("#replay-time").startswith(_fmt(positions[1]))

        # Keyboard: Home goes to the start (an empty screen), → skips 5 s, space plays/pauses.
        page.locator("#replay-screen").click()
        page.keyboard.press("Home")
        assert page.evaluate("() => window.janusReplay.position()") == 0
        assert not any(page.evaluate(REPLAY_SCREEN)["rows"])
        page.keyboard.press("ArrowRight")
        assert abs(page.evaluate("() => window.janusReplay.position()") - 5) < 1e-6
        page.keyboard.press("Home")

        # Play at 1×, then switch to 8× while playing: the position moves 8× as fast from then on
        # (measured on the page's own clock, so a slow machine does not change the ratio).
        page.select_option("#replay-speed", "1")
        page.locator("#replay-screen").click()  # the keys go to the player, not the select
        page.keyboard.press(" ")
        assert page.evaluate("() => window.janusReplay.playing")
        # One page script measures and switches (the speed select's change event, as a pick
        # makes): no round trip to the test in between that would play past the end.
        rate_1, rate_8, still_playing = _rates_across_a_speed_change(page)
        assert still_playing, "a speed change stops nothing"
        assert 0.9 < rate_1 < 1.1, rate_1
        assert 7.2 < rate_8 < 8.8, rate_8
        assert "Playing at 8×" in (page.text_content("#replay-status") or "")

        # Pause holds: neither the position nor the screen moves.
        page.locator("#replay-screen").click()
        page.keyboard.press(" ")
        assert not page.evaluate("() => window.janusReplay.playing")
        held = page.evaluate("() => window.janusReplay.position()")
        screen = page.evaluate(REPLAY_SCREEN)
        time.sleep(1.5)
        assert page.evaluate("() => window.janusReplay.position()") == held
        assert page.evaluate(REPLAY_SCREEN) == screen
        assert page.get_attribute("#replay-app", "data-state") == "paused"

        # Played to the end at 16×, the screen is the session's last.
        page.evaluate("(at) => window.janusReplay.seek(at)", positions[2])
        page.select_option("#replay-speed", "16")
        page.click("#replay-play")
        wait_for(lambda: page.get_attribute("#replay-app", "data-state") == "finished", 30,
                 "the replay to finish")
        assert page.evaluate(REPLAY_SCREEN)["rows"] == moments[2]["rows"]
        assert problems == [], problems
    finally:
        context.close()


def _rates_across_a_speed_change(page) -> tuple[float, float, bool]:
    """Seconds of recording played per second of the page's clock while playing at the current
    speed (over 0.5 s), then after choosing 8× in the speed select while playing (over 0.25 s).
    Each measure starts from the beginning (a seek, which keeps playing); one that reaches the
    end (a timer late on a busy machine) is taken again."""
    found = page.evaluate("""async () => {
        const r = window.janusReplay, select = document.getElementById("replay-speed");
        const measure = async (seconds) => {
          for (let attempt = 0; attempt < 5; attempt++) {
            if (!r.playing) r.play();
            r.seek(0);
            const p0 = r.position(), t0 = performance.now();
            await new Promise((done) => setTimeout(done, seconds * 1000));
            const p1 = r.position(), t1 = performance.now();
            if (r.playing && p1 < r.duration) return (p1 - p0) / ((t1 - t0) / 1000);
          }
          return null;
        };
        const before = await measure(0.5);
        select.value = "8";
        select.dispatchEvent(new Event("change"));
        const stillPlaying = r.playing;
        const after = await measure(0.25);
        return [before, after, stillPlaying]; }""")
    assert found[0] is not None and found[1] is not None, f"the replay kept ending: {found}"
    return float(found[0]), float(found[1]), bool(found[2])


def _fmt(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
