"""The web UI in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser), against the app served by uvicorn, the GitHub simulator and the real control plane.

The docs' screenshots come from ``make screenshots`` (scripts/screenshots.py), not from tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect

from janus.dev.controlplane.ports import free_port
from janus.dev.github_sim import GitHubSimulator
from janus.resource import standing
from janus.web.app import create_app
from janus.web.grants import GrantStore
from janus.web.settings import WebSettings
from tests.browser_support import (
    CHROMIUM,
    VENDOR,
    collect_problems,
    launch_chromium,
    require,
    serving,
)
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY

pytestmark = pytest.mark.k8s_real



@pytest.fixture(scope="module")
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        simulator.add_user("root")
        simulator.add_user("alice")
        simulator.add_org("acme", admins=["root"])
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": PAYMENTS_POLICY},
            collaborators={"alice": "write", "root": "admin"},
        )
        yield simulator


@pytest.fixture(scope="module")
def server(
    central, sim: GitHubSimulator, access_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    database = tmp_path_factory.mktemp("browser") / "web.db"
    url = f"http://127.0.0.1:{port}"
    settings = WebSettings(
        public_url=url, session_secret="browser-test-secret-0123456789",
        kubeconfig=central.admin_kubeconfig, auth_mode="dev", repo="acme/access",
        github_api_url=sim.base_url, github_token=sim.token("root"),
        dev_user_tokens={"alice": sim.token("alice")},
        membership_file=access_repo / "membership.yaml",
        database_url=f"sqlite:///{database}",
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            proxy_headers=False, access_log=False)
    with serving(config):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "htmx" / "htmx.min.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    collect_problems(tab, problems)
    tab.problems = problems
    try:
        yield tab
    finally:
        context.close()


def _log_in(page, server: str, login: str) -> None:
    page.goto(f"{server}/requests/new")
    assert "/auth/dev" in page.url
    page.fill("input[name=login]", login)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/requests/new")


def test_request_form_opens_a_pr(
    page, server: str, sim: GitHubSimulator, tmp_path: Path
) -> None:
    _log_in(page, server, "alice")
    assert page.text_content("[data-testid=whoami]") == "alice"
    assert page.evaluate("typeof window.htmx") == "object"  # vendored htmx loaded under the CSP
    assert "4h for you" in page.text_content("select[name=cluster]")
    page.fill("input[name=namespaces]", "payments payments-api")
    page.select_option("select[name=duration]", "2h")
    page.fill("textarea[name=reason]", "INC-99: checkout pods restart in a loop")
    page.fill("input[name=ticket]", "INC-99")
    page.click("[data-testid=request-submit]")
    page.wait_for_url(f"{server}/requests/pr/*")
    link = page.locator("[data-testid=pr-link]")
    assert link.get_attribute("href").endswith("/acme/access/pull/1")
    assert "awaiting review" in page.text_content("[data-testid=pr-status]")
    # HTMX polls the status fragment: an approval shows up without reloading.
    sim.add_user("lena")
    sim.review("acme/access", 1, "lena", "APPROVE")
    # (expect() polls from the test side: wait_for_function would need eval, which our CSP
    # rightly forbids.)
    expect(page.locator("[data-testid=pr-status]")).to_contain_text("approved by lena",
                                                                    timeout=15000)
    assert sim.pull("acme/access", 1)["user"]["login"] == "alice"
    assert page.problems == []


def test_countdown_and_relinquish_via_htmx(
    page, server: str, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice", reason="INC-5: <b>not bold</b> in a browser")
    _log_in(page, server, "alice")
    page.goto(f"{server}/")
    row = page.locator(f"#grant-{name}")
    assert "<b>not bold</b>" in row.text_content()  # shown as text, not markup
    expect(row.locator(".countdown")).to_have_text(re.compile(r"^\d+m \d\ds left$"))
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Relinquish").click()
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + 10
    while not grants.get(name).revocation_requested:
        assert time.monotonic() < deadline, "relinquish did not reach the CR"
        time.sleep(0.1)
    assert standing.who_revoked(grants.get(name)) == "alice"
    assert page.problems == []


def test_my_access_follows_an_open_request_without_reload(
    page, server: str, sim: GitHubSimulator
) -> None:
    """The open request on "My access" moves from awaiting review to approved by itself: the
    page re-reads its lists each time its event stream reconnects (janus.web.terminal.live)."""
    _log_in(page, server, "alice")
    page.fill("input[name=namespaces]", "payments")
    page.select_option("select[name=duration]", "1h")
    page.fill("textarea[name=reason]", "INC-123: live request list in a browser")
    page.fill("input[name=ticket]", "INC-123")
    page.click("[data-testid=request-submit]")
    page.wait_for_url(f"{server}/requests/pr/*")
    number = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{server}/")
    expect(page.locator("html[data-live=on]")).to_have_count(1, timeout=10000)
    page.evaluate("() => { window.janusNoReload = 'kept'; }")
    row = page.locator("[data-testid=open-pulls] tr", has_text=f"#{number}")
    expect(row).to_contain_text("awaiting review")
    sim.add_user("mira")
    sim.review("acme/access", number, "mira", "APPROVE")
    expect(row).to_contain_text("approved by mira", timeout=30000)
    assert page.evaluate("() => window.janusNoReload") == "kept"
    assert page.problems == []
