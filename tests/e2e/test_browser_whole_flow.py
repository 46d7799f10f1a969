"""The whole flow in real Chromium, on the demo environment (`janus dev up`'s components: two
real clusters, the GitHub simulator, `janus controller`, `janus webhook`, `janus web`):

alice signs in and submits the request form → the PR is opened as alice → bob approves and merges
it on the simulator's review page → the receiver verifies and creates the AccessRequest → the
controller grants → alice opens the terminal, runs a command and reads it in xterm, resizes →
root (an admin) revokes in the admin view → alice's terminal is cut.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from functools import partial

import pytest
from playwright.sync_api import Browser, Page

from janus.dev.controlplane.ports import free_port
from janus.dev.demo import DemoEnvironment, start_demo
from tests.browser_support import (
    BUFFER_TEXT,
    CHROMIUM,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    wait_for,
)

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnvironment]:
    require(CHROMIUM.exists(), "Debian's chromium is not installed (make browser)")
    env = start_demo(tmp_path_factory.mktemp("demo"), print, web_port=free_port(),
                     clusters=("prod",))
    try:
        yield env
    finally:
        env.stop(print)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as chromium:
        yield chromium


def _page(browser: Browser, problems: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    collect_problems(page, problems)
    return page


# This flow polls every 0.2 s (the shared helper's default is 0.1 s).
_wait = partial(wait_for, interval=0.2)


def _sign_in(page: Page, web: str, login: str, then: str) -> None:
    dev_sign_in(page, f"{web}{then}", login)


def _screen(page: Page) -> str:
    return str(page.evaluate(BUFFER_TEXT, 0))


def _type(page: Page, text: str) -> None:
    page.locator('[data-pane-index="0"] .xterm-helper-textarea').focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_form_to_merge_to_terminal_to_revoke(demo: DemoEnvironment, browser: Browser) -> None:
    web, review = demo.urls["web"], demo.urls["review"]
    problems: list[str] = []
    alice = _page(browser, problems)

    # 1. alice asks for access with the form; the PR is opened as alice.
    _sign_in(alice, web, "alice", "/requests/new")
    alice.fill("input[name=namespaces]", "payments")
    alice.select_option("select[name=duration]", "1h")
    alice.fill("textarea[name=reason]", "INC-777: checkout pods restart in a loop")
    alice.fill("input[name=ticket]", "INC-777")
    alice.click("[data-testid=request-submit]")
    alice.wait_for_url(f"{web}/requests/pr/*")
    pr_url = alice.locator("[data-testid=pr-link]").get_attribute("href") or ""
    number = int(pr_url.rstrip("/").rsplit("/", 1)[1])

    # 2. bob approves and merges on the simulator's review page (its own little UI).
    reviewer = _page(browser, [])
    reviewer.goto(f"{review}/pull/{number}")
    assert "alice" in reviewer.text_content("body")
    reviewer.select_option("form[action$='/review'] select[name=user]", "bob")
    reviewer.select_option("form[action$='/review'] select[name=event]", "APPROVE")
    reviewer.click("form[action$='/review'] button")
    reviewer.select_option("form[action$='/merge'] select[name=user]", "bob")
    reviewer.click("form[action$='/merge'] button")
    assert "merged" in reviewer.text_content("body")

    # 3. The receiver verifies, the controller grants: alice sees Active with a terminal link.
    def terminal_link() -> str | None:
        alice.goto(f"{web}/")
        link = alice.locator("a.button", has_text="Open terminal")
        return link.get_attribute("href") if link.count() else None

    href = str(_wait(terminal_link, 60, "the grant to turn Active"))

    # 4. The terminal: pick the pod, connect, run a command, read it back from xterm.
    alice.goto(f"{web}{href}")
    pane = alice.locator(".term-workspace:not([hidden]) .term-pane").first
    _wait(lambda: pane.locator(".term-pod option").count() > 0, 15, "pods listed")
    pane.locator(".term-pod").select_option(index=0)
    pane.locator(".term-connect").click()
    _wait(lambda: "Connected" in (pane.locator(".term-status").text_content() or ""), 20,
          "connected")
    _wait(lambda: "$ " in _screen(alice), 15, "a prompt")
    _type(alice, "echo flow-$((6*7))")
    _wait(lambda: "flow-42" in _screen(alice), 10, "the command's output")

    # Resize: the pod's TTY follows the browser window.
    _type(alice, "echo before-$(stty size | tr ' ' x)")
    before = _wait(lambda: re.search(r"before-(\d+)x(\d+)", _screen(alice)), 10, "stty")
    alice.set_viewport_size({"width": 900, "height": 600})
    time.sleep(0.5)
    _type(alice, "echo after-$(stty size | tr ' ' x)")
    after = _wait(lambda: re.search(r"after-(\d+)x(\d+)", _screen(alice)), 10, "stty")
    assert before.groups() != after.groups()  # type: ignore[union-attr]

    # 5. root, an admin, revokes the grant; alice's session is cut.
    admin = _page(browser, problems)
    _sign_in(admin, web, "root", "/admin")
    row = admin.locator("form.revoke").first
    row.locator("input[name=reason]").fill("incident closed")
    admin.on("dialog", lambda dialog: dialog.accept())
    row.locator("button").click()
    status = pane.locator(".term-status")
    _wait(lambda: (status.text_content() or "").startswith("Closed:"), 15, "the session cut")
    assert (status.text_content() or "").endswith("[revoked]")
    # xterm.js renders write() data asynchronously, after the status line is set.
    _wait(lambda: "The grant was revoked." in _screen(alice), 5, "the notice in xterm")
    assert problems == []
