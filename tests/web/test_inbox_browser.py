""""Waiting for my review" in a real browser: Debian's Chromium driven by Playwright, the app
served by uvicorn, the GitHub simulator and the real control plane (the live event stream needs
the grant watcher).

bob leads payments and owns ``requests/prod/`` in CODEOWNERS; alice and carol request. bob sees
alice's PR in his inbox with the count in the navigation bar, and the count follows a PR being
opened, approved and merged without a reload — on the inbox page (which loads live.js) and on the
request form (where inbox_count.js opens the event stream itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect

from janus.dev.controlplane.ports import free_port
from janus.dev.github_sim import GitHubSimulator
from janus.web.app import create_app
from janus.web.settings import WebSettings
from tests.browser_support import (
    CHROMIUM,
    VENDOR,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    serving,
)
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY

pytestmark = pytest.mark.k8s_real

REPO = "acme/access"
USERS = ("root", "alice", "bob", "carol")
MEMBERSHIP = """\
teams:
  acme/payments-leads: [bob]
  acme/payments-devs: [carol]
"""
# A change can take one reconnect of the event stream (20 s) plus a loaded machine's delay.
LIVE_MS = 60_000


@pytest.fixture(scope="module")
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        for login in USERS:
            simulator.add_user(login)
        simulator.add_org("acme", admins=["root"])
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": PAYMENTS_POLICY,
                   ".github/CODEOWNERS": "/requests/prod/ @acme/payments-leads\n"},
            collaborators={"alice": "write", "bob": "write", "carol": "write", "root": "admin"},
        )
        yield simulator


@pytest.fixture(scope="module")
def server(central, sim: GitHubSimulator, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    work = tmp_path_factory.mktemp("inbox-browser")
    (work / "membership.yaml").write_text(MEMBERSHIP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = WebSettings(
        public_url=url, session_secret="inbox-browser-secret-0123456789",
        kubeconfig=central.admin_kubeconfig, auth_mode="dev", repo=REPO,
        github_api_url=sim.base_url, github_token=sim.token("root"),
        dev_user_tokens={u: sim.token(u) for u in USERS},
        membership_file=work / "membership.yaml", database_url=f"sqlite:///{work / 'web.db'}",
        login_open_to_any_github_user=True,
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", proxy_headers=False, access_log=False)
    with serving(config):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "htmx" / "htmx.min.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


def _open_request(sim: GitHubSimulator, requester: str, namespace: str) -> int:
    """A request PR as the form or ``janus request`` opens it: one file on its own branch."""
    name = f"{requester}-{namespace}-{uuid.uuid4().hex[:6]}"
    branch = f"janus/request/{requester}/{name}"
    sim.push(REPO, branch, {f"requests/prod/{namespace}/{name}.yaml": f"""\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata: {{name: {name}}}
spec:
  requester: {requester}
  cluster: prod
  namespace: {namespace}
  role: pod-exec
  duration: 1h
  reason: "INC-77: {requester} looks at stuck payment workers"
  ticket: INC-77
"""}, requester, f"Request {name}")
    return sim.create_pull(REPO, branch, f"Access request: {requester} → prod/{namespace}",
                           requester)


def test_bob_sees_alices_request_and_the_count_follows_without_reload(
    browser, server: str, sim: GitHubSimulator, tmp_path: Path
) -> None:
    first = _open_request(sim, "alice", "payments")
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    inbox, form = context.new_page(), context.new_page()
    problems: list[str] = []
    for tab in (inbox, form):
        collect_problems(tab, problems)
    try:
        dev_sign_in(inbox, f"{server}/inbox", "bob")
        row = inbox.locator(f"[data-testid=inbox] tr[data-pull='{first}']")
        expect(row).to_contain_text("alice")
        expect(row).to_contain_text("prod/payments")
        expect(row).to_contain_text("1h")
        expect(row).to_contain_text("INC-77: alice looks at stuck payment workers")
        expect(row).to_contain_text("0 of 1 approval")
        href = row.locator("[data-testid=review-link]").get_attribute("href") or ""
        assert href.endswith(f"/acme/access/pull/{first}"), href
        count = inbox.locator("[data-testid=inbox-count]")
        expect(count).to_have_text("1", timeout=15_000)

        form.goto(f"{server}/requests/new")
        form_count = form.locator("[data-testid=inbox-count]")
        expect(form_count).to_have_text("1", timeout=15_000)
        for tab in (inbox, form):
            expect(tab.locator("html[data-live=on]")).to_have_count(
                1 if tab is inbox else 0, timeout=15_000)
            tab.evaluate("() => { window.janusNoReload = 'kept'; }")

        # Opened: carol (a payments developer) asks too; her PR joins bob's inbox.
        second = _open_request(sim, "carol", "payments-api")
        expect(count).to_have_text("2", timeout=LIVE_MS)
        expect(form_count).to_have_text("2", timeout=LIVE_MS)
        expect(inbox.locator(f"[data-testid=inbox] tr[data-pull='{second}']")).to_have_count(
            1, timeout=LIVE_MS)

        # Approved: bob approves alice's PR on GitHub; it leaves the list, said as such.
        sim.review(REPO, first, "bob", "APPROVE")
        expect(count).to_have_text("1", timeout=LIVE_MS)
        expect(form_count).to_have_text("1", timeout=LIVE_MS)
        expect(inbox.locator(f"[data-testid=inbox-approved] tr[data-pull='{first}']")
               ).to_have_count(1, timeout=LIVE_MS)

        # Merged: carol's PR is merged (by an admin); nothing is left to review.
        sim.merge(REPO, second, "root")
        expect(count).to_have_text("0", timeout=LIVE_MS)
        expect(form_count).to_have_text("0", timeout=LIVE_MS)
        expect(inbox.locator(f"tr[data-pull='{second}']")).to_have_count(0, timeout=LIVE_MS)

        for tab in (inbox, form):
            assert tab.evaluate("() => window.janusNoReload") == "kept"
        assert problems == []
    finally:
        context.close()


def test_the_requester_sees_an_empty_inbox_that_says_why(
    browser, server: str, sim: GitHubSimulator
) -> None:
    _open_request(sim, "alice", "payments")
    context = browser.new_context()
    page = context.new_page()
    try:
        dev_sign_in(page, f"{server}/inbox", "alice")
        expect(page.locator("[data-testid=inbox-empty]")).to_contain_text(
            "Your own requests are not listed")
        expect(page.locator("[data-testid=approver-of-none]")).to_have_count(1)
        expect(page.locator("[data-testid=inbox-count]")).to_have_text("0", timeout=15_000)
    finally:
        context.close()
