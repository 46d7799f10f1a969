"""What the real-browser tests share: Debian's Chromium (never a downloaded one), how Playwright
launches it, the xterm buffer reader, the web app served in a thread for the browser, the dev
sign-in, and the skip-or-fail and polling helpers."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
VENDOR = Path(__file__).resolve().parents[1] / "janus" / "web" / "static" / "vendor"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The text of pane `index`'s xterm buffer, one line per buffer row.
BUFFER_TEXT = """(index) => {
  const buffer = window.janusPanes[index].term.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


def require(condition: bool, why: str) -> None:
    """Skip when `condition` is false, or fail when JANUS_REQUIRE_CLUSTER=1 (make test, CI)."""
    if condition:
        return
    if os.environ.get("JANUS_REQUIRE_CLUSTER") == "1":
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


@contextmanager
def launch_chromium() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def serving(config: Any) -> Iterator[None]:
    """Serve *config* (a ``uvicorn.Config``) in a daemon thread until the block ends; the block
    starts once the server has started (at most 15 s)."""
    import uvicorn

    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        assert time.monotonic() < deadline, "web app did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def dev_sign_in(page: Any, url: str, login: str) -> None:
    """Open *url*, sign in as *login* on the dev login page it sends to, and wait to be back."""
    page.goto(url)
    page.fill("input[name=login]", login)
    page.click("button[type=submit]")
    page.wait_for_url(url)


def collect_problems(page: Any, problems: list[str]) -> None:
    """Append every console error and uncaught script error of *page* to *problems*: a CSP
    violation or a script error is reported on the console, and the tests fail on any."""
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))


def wait_for(predicate: Callable[[], object], seconds: float, what: str,
             interval: float = 0.1) -> object:
    """Poll `predicate` every `interval` seconds until it is truthy; return its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
