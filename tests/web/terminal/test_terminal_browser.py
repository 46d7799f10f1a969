"""The terminal in a real browser: Debian's Chromium (never a downloaded one) driven by
Playwright, against two grants from one PR, the app served by uvicorn and the real control plane.

The docs' screenshots come from ``make screenshots`` (scripts/screenshots.py), not from tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from tests.browser_support import (
    BUFFER_TEXT,
    CHROMIUM,
    VENDOR,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    wait_for,
)
from tests.web.terminal.support import ADMIN, AppServer

pytestmark = pytest.mark.k8s_real


TERM_SIZE = "(i) => [window.janusPanes[i].term.rows, window.janusPanes[i].term.cols]"


@pytest.fixture(scope="module")
def dev_replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:
    with AppServer.running(web_kube, terminal_dir / "browser.db", auth_mode="dev") as replica:
        yield replica


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "xterm" / "xterm.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


def _screen_or_none(page, index: int) -> str:
    try:
        return _screen(page, index)
    except Exception as exc:  # the page may be gone; the assertion message still helps
        return f"<no screen: {exc}>"


def _screen(page, index: int = 0) -> str:
    return str(page.evaluate(BUFFER_TEXT, index))


def _type_line(page, index: int, text: str) -> None:
    page.locator(f'[data-pane-index="{index}"] .xterm-helper-textarea').focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _stty_size(page, index: int, marker: str) -> tuple[int, int]:
    _type_line(page, index, f"echo {marker}-$(stty size | tr ' ' x)")
    found = wait_for(lambda: re.search(rf"{marker}-(\d+)x(\d+)", _screen(page, index)), 10,
                     f"stty size ({marker})")
    return int(found.group(1)), int(found.group(2))  # type: ignore[union-attr]


def test_terminal_in_chromium(
    browser, dev_replica: AppServer, make_grant, cluster: LocalCluster
) -> None:
    first = make_grant(pull_request=4242)
    second = make_grant(pull_request=4242)
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    collect_problems(page, problems)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    try:
        page.goto(f"{dev_replica.base}/terminal/{first.cr_name}")
        assert "/auth/dev" in page.url
        page.fill("input[name=login]", "alice")
        page.click("button[type=submit]")
        page.wait_for_url(f"{dev_replica.base}/terminal/{first.cr_name}")

        # One tab per namespace of the PR's grants.
        tabs = page.locator(".term-tab")
        assert sorted(tabs.all_text_contents()) == sorted([first.namespace, second.namespace])
        pane = page.locator(".term-workspace:not([hidden]) .term-pane").first
        wait_for(lambda: pane.locator(".term-pod option").count() > 0, 10, "pods listed")
        assert pane.locator(".term-container option").all_text_contents() == ["app", "sidecar"]
        assert re.match(r"(\d+:)?\d+:\d\d$", page.text_content("#term-countdown") or "")

        main = int(pane.get_attribute("data-pane-index") or -1)
        pane.locator(".term-connect").click()
        wait_for(lambda: "Connected" in (pane.locator(".term-status").text_content() or ""), 15,
                 "connected")
        # Type once the prompt is there, as a person would: a shell may discard type-ahead
        # while it sets up its line editor.
        wait_for(lambda: "$ " in _screen(page, main), 10, "prompt")
        _type_line(page, main, "echo hello-$((6*7))")
        wait_for(lambda: "hello-42" in _screen(page, main), 10, "echo output")

        # The pod's TTY follows the browser's terminal size, and a window resize.
        rows, cols = _stty_size(page, main, "before")
        assert (rows, cols) == tuple(page.evaluate(TERM_SIZE, main))
        page.set_viewport_size({"width": 900, "height": 650})
        wait_for(lambda: page.evaluate(TERM_SIZE, main)[1] < cols, 5, "refit")
        new_rows, new_cols = _stty_size(page, main, "after")
        assert (new_rows, new_cols) != (rows, cols)
        assert (new_rows, new_cols) == tuple(page.evaluate(TERM_SIZE, main))
        page.set_viewport_size({"width": 1300, "height": 900})

        # A split pane: the sidecar container of the same pod, its own session.
        page.locator(".term-workspace:not([hidden]) .term-split").click()
        second_pane = page.locator(".term-workspace:not([hidden]) .term-pane").nth(1)
        wait_for(lambda: second_pane.locator(".term-pod option").count() > 0, 10, "pods (pane 2)")
        second_pane.locator(".term-container").select_option("sidecar")
        second_pane.locator(".term-connect").click()
        wait_for(lambda: "sidecar" in (second_pane.locator(".term-status").text_content() or ""),
                 15, "pane 2 connected")
        split_index = int(second_pane.get_attribute("data-pane-index") or -1)
        wait_for(lambda: "$ " in _screen(page, split_index), 10, "prompt (pane 2)")
        _type_line(page, split_index, "echo pane-two-$((1+1))")
        wait_for(lambda: "pane-two-2" in _screen(page, split_index), 10, "pane 2 output")
        _type_line(page, main, "ls /; echo ready")
        wait_for(lambda: "ready" in _screen(page, main).split("ls /")[-1], 10, "ls output")

        # Revocation: both panes are cut, the page says why.
        custom = client.CustomObjectsApi(cluster.admin_client())
        started = time.monotonic()
        custom.patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, first.cr_name,
            {"spec": {"revocation": {"by": "root-admin", "reason": "browser test"}}})
        for index in (0, 1):
            status = page.locator(".term-workspace:not([hidden]) .term-status").nth(index)
            wait_for(lambda s=status: "revoked" in (s.text_content() or ""), 5, "revoked status")
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, elapsed  # < 1 s server-side; the rest is the browser polling
        # xterm.js renders write() data asynchronously, after the status line is set.
        wait_for(lambda: "revoked" in _screen(page, main), 5, "the revocation notice in xterm")
        assert page.locator("#term-warning").is_visible()

        # The second namespace's tab is its own grant and still works.
        tabs.filter(has_text=second.namespace).click()
        other = page.locator(".term-workspace:not([hidden]) .term-pane").first
        wait_for(lambda: other.locator(".term-pod option").count() > 0, 10, "pods (tab 2)")
        other.locator(".term-connect").click()
        wait_for(lambda: "Connected" in (other.locator(".term-status").text_content() or ""), 15,
                 "tab 2 connected")
        assert problems == [], problems
    finally:
        context.close()

    # An admin replays the recording of the first session (xterm.js, static replay.js).
    admin = browser.new_context(viewport={"width": 1300, "height": 900})
    page = admin.new_page()
    try:
        dev_sign_in(page, f"{dev_replica.base}/admin/sessions", ADMIN)
        problems.clear()
        row = page.locator("tr", has_text=first.cr_name).filter(has_text="/app").last
        assert "revoked" in (row.text_content() or "")
        row.locator("a", has_text="replay").click()
        page.wait_for_selector("#replay-screen .xterm")
        wait_for(lambda: page.evaluate("!!window.janusReplay"), 10, "recording loaded")
        page.click("#replay-end")

        def replayed() -> str:
            return str(page.evaluate("""() => {
              const b = window.janusReplay.term.buffer.active; const out = [];
              for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
              return out.join("\\n"); }"""))

        # xterm.js parses write() data asynchronously: the buffer fills a moment after the click.
        wait_for(lambda: "hello-42" in replayed(), 10, "the replayed output")
        assert problems == [], problems
    finally:
        admin.close()
