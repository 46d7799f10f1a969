"""Refresh the documentation's screenshots: start the demo (`janus dev up`'s components, on
127.0.0.1, in a throwaway state directory), walk it in Debian's Chromium as alice, bob and root,
and write one PNG per page into the output directory (default ``docs/screenshots``), always
under the same names:

    request-form.png   the request form for prod, with its guidance, filled in
    my-access.png      My access: an Active grant with its countdown, an open request
    terminal.png       the terminal connected to a demo pod, countdown in the header
    admin.png          the admin view, filtered to alice's grants on prod
    terminal-ended.png the grant's terminal URL after root revoked it: how, by whom, why
    replay.png         root replaying alice's terminal session
    inbox.png          bob's "Waiting for my review" (only if the page exists)
    timeline.png       the request's timeline (only if the page exists)

Run it with ``make screenshots`` (or ``.venv/bin/python scripts/screenshots.py [DIR]``). It needs
what ``make demo`` needs, and Chromium (``make browser``). Everything it starts is stopped at
the end, also on failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from janus.dev.controlplane.ports import free_port  # noqa: E402
from janus.dev.demo import DEMO_FORM, start_demo  # noqa: E402
from tests.browser_support import (  # noqa: E402
    BUFFER_TEXT,
    CHROMIUM,
    collect_problems,
    launch_chromium,
    wait_for,
)

VIEWPORT = {"width": 1280, "height": 860}
REPO = "acme/access"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sign_in(browser: Any, web: str, login: str, problems: list[str]) -> Any:
    page = browser.new_context(viewport=VIEWPORT, device_scale_factor=1).new_page()
    collect_problems(page, problems)
    page.goto(web)
    page.get_by_role("button", name=f"Sign in as {login}").click()
    page.wait_for_url(f"{web}/")
    return page


def _shot(page: Any, out: Path, name: str, *, full_page: bool = False) -> None:
    # The navigation bar's review count is fetched after load: wait for it (a few seconds at
    # most; without it the picture shows an empty badge), then a moment for the live stream.
    try:
        page.wait_for_function(
            "() => { const b = document.querySelector('[data-inbox-count]');"
            " return !b || b.textContent.trim() !== ''; }", timeout=5000)
    except Exception:
        _say(f"[screenshots] {name}: the review count did not load")
    page.wait_for_timeout(400)
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    _say(f"[screenshots] wrote {path}")


def _fill_request_form(page: Any) -> None:
    page.select_option("select[name=cluster]", DEMO_FORM["Cluster"])
    page.fill("input[name=namespaces]", DEMO_FORM["Namespaces"])
    page.select_option("select[name=role]", DEMO_FORM["Role"])
    page.select_option("select[name=duration]", DEMO_FORM["Duration"])
    page.fill("textarea[name=reason]", DEMO_FORM["Reason"])
    page.fill("input[name=ticket]", DEMO_FORM["Ticket"])


def _terminal_screen(page: Any) -> str:
    return str(page.evaluate(BUFFER_TEXT, 0))


def _has_route(page: Any, url: str) -> bool:
    return bool(page.request.get(url).status < 400)


def walk(env: Any, browser: Any, out: Path) -> list[str]:
    """The demo, page by page; returns the console problems seen (empty when all is well)."""
    web = env.urls["web"]
    sim = env.simulator
    problems: list[str] = []

    # alice asks for access: the form with its guidance, then the PR it opens.
    alice = _sign_in(browser, web, "alice", problems)
    alice.goto(f"{web}/requests/new")
    _fill_request_form(alice)
    wait_for(lambda: "payments" in (alice.text_content("[data-testid=guidance]") or ""), 10,
             "the form's guidance")
    _shot(alice, out, "request-form", full_page=True)
    alice.locator("[data-testid=request-submit]").click()
    alice.wait_for_url(f"{web}/requests/pr/*", timeout=60_000)
    number = int(alice.url.rstrip("/").rsplit("/", 1)[1])

    # bob, a payments lead, approves and merges once the receiver's check has passed (the PR
    # page follows it).
    wait_for(lambda: "passed" in (alice.text_content("[data-testid=pr-status]") or ""), 90,
             "the receiver's check to pass", interval=0.5)
    sim.review(REPO, number, "bob", "APPROVE")
    sim.merge(REPO, number, "bob")

    # My access: Active with its countdown (and the seeded open request), no reload needed.
    alice.goto(f"{web}/")
    wait_for(lambda: alice.get_by_role("link", name="Open terminal").count() > 0, 120,
             "the grant to turn Active", interval=0.5)
    _shot(alice, out, "my-access", full_page=True)
    href = alice.get_by_role("link", name="Open terminal").first.get_attribute("href") or ""
    grant = href.rstrip("/").rsplit("/", 1)[1]

    # The terminal: connect to the demo pod and run a few commands.
    alice.goto(f"{web}{href}")
    pane = alice.locator(".term-workspace:not([hidden]) .term-pane").first
    wait_for(lambda: pane.locator(".term-pod option").count() > 0, 30, "pods listed")
    pane.locator(".term-pod").select_option("checkout-7d9f")
    pane.locator(".term-container").select_option("app")
    pane.get_by_role("button", name="Connect").click()
    wait_for(lambda: "$ " in _terminal_screen(alice), 30, "a prompt")
    pane.locator(".xterm-helper-textarea").focus()
    for command in ("ls /", "cat /app/README", "echo checkout restarts: $((3*4))"):
        alice.keyboard.type(command)
        alice.keyboard.press("Enter")
        time.sleep(1.0)
    wait_for(lambda: "checkout restarts: 12" in _terminal_screen(alice), 15, "the output")
    _shot(alice, out, "terminal")

    # root's admin view, filtered to alice's grants on prod.
    root = _sign_in(browser, web, "root", problems)
    root.goto(f"{web}/admin?user=alice&cluster=prod")
    root.wait_for_selector("form.revoke")
    _shot(root, out, "admin", full_page=True)

    # root revokes; alice's terminal URL now says how the grant ended, by whom and why.
    revoke = root.locator("form.revoke").first
    revoke.locator("input[name=reason]").fill("INC-4242 closed: restarts fixed")
    root.on("dialog", lambda dialog: dialog.accept())
    revoke.locator("button").click()
    wait_for(lambda: "Closed:" in (pane.locator(".term-status").text_content() or ""), 30,
             "the terminal cut")
    alice.goto(f"{web}/terminal/{grant}")
    wait_for(lambda: "root" in (alice.text_content("main") or ""), 30, "the ended-grant page")
    _shot(alice, out, "terminal-ended", full_page=True)

    # root replays the session, paused a little before its end.
    root.goto(f"{web}/admin/sessions")
    root.locator("a", has_text="replay").first.click()
    root.wait_for_selector("#replay-app[data-ready=true]", timeout=30_000)
    root.evaluate("async () => { const r = window.janusReplay; r.seek(r.duration * 0.8);"
                  " await r.settled(); }")
    _shot(root, out, "replay")

    # bob's inbox (the seeded pod-logs request waits for him) and the request's timeline.
    bob = _sign_in(browser, web, "bob", problems)
    if _has_route(bob, f"{web}/inbox"):
        bob.goto(f"{web}/inbox")
        _shot(bob, out, "inbox", full_page=True)
    else:
        _say("[screenshots] no /inbox page: inbox.png not written")
    timeline = f"{web}/requests/pr/{number}/timeline"
    if _has_route(alice, timeline):
        alice.goto(timeline)
        wait_for(lambda: "revoked" in (alice.text_content("main") or "").lower(), 60,
                 "the revocation on the timeline", interval=0.5)
        _shot(alice, out, "timeline", full_page=True)
    else:
        _say("[screenshots] no timeline page: timeline.png not written")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        _say(f"no {CHROMIUM}: run `make browser` first")
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="janus-screenshots-") as tmp:
        env = start_demo(Path(tmp) / "demo", _say, web_port=free_port(), clusters=("prod",))
        try:
            with launch_chromium() as browser:
                problems = walk(env, browser, out)
        finally:
            env.stop(_say)
    if problems:
        _say("[screenshots] the pages reported problems:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
