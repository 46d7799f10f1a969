"""Request form guidance in Chromium (issue 14 item 3): for the chosen cluster the form lists the
namespaces the user may request, offers only the durations their policies allow, marks the
ticket required with its expected form in plain words, names who will approve; an error shows
next to its field in plain words; progress shows while the pull request is opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from janus.dev.controlplane.ports import free_port
from janus.dev.github_sim import GitHubSimulator
from janus.web.app import create_app
from janus.web.settings import WebSettings
from tests.browser_support import (
    CHROMIUM,
    VENDOR,
    collect_problems,
    launch_chromium,
    require,
    serving,
)
from tests.web.conftest import JANUS_CONFIG

pytestmark = pytest.mark.k8s_real

PROD_POLICY = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-prod}
spec:
  clusters: [prod]
  namespaces: [payments, "payments-*"]
  roles: [pod-exec]
  requesters: {users: [alice]}
  approvers: {teams: [acme/payments-leads], required: 1}
  maxDuration: 4h
  ticketPattern: "^INC-[0-9]+$"
"""
STAGING_POLICY = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-staging}
spec:
  clusters: [staging]
  namespaces: [checkout]
  roles: [pod-exec]
  requesters: {users: [alice]}
  approvers: {users: [bob], required: 1}
  maxDuration: 8h
"""


@pytest.fixture(scope="module")
def server(central, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "htmx" / "htmx.min.js").exists(), "no vendored assets (make assets)")
    with GitHubSimulator.start() as sim:
        for login in ("root", "alice", "bob"):
            sim.add_user(login)
        sim.add_org("acme", admins=["root"])
        sim.create_repo("acme", "access", files={
            "policies/janus.yaml": JANUS_CONFIG, "policies/payments-prod.yaml": PROD_POLICY,
            "policies/payments-staging.yaml": STAGING_POLICY},
            collaborators={"alice": "write", "bob": "write", "root": "admin"})
        members = tmp_path_factory.mktemp("guidance") / "members.yaml"
        members.write_text("teams:\n  acme/payments-leads: [bob]\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = WebSettings(
            public_url=url, session_secret="guidance-test-secret-0123456789",
            kubeconfig=central.admin_kubeconfig, auth_mode="dev", repo="acme/access",
            github_api_url=sim.base_url, github_token=sim.token("root"),
            dev_user_tokens={"alice": sim.token("alice")}, membership_file=members,
            database_url=f"sqlite:///{Path(members).with_name('web.db')}",
        )
        with serving(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                    log_level="warning", access_log=False)):
            yield url


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Page]:
    with launch_chromium() as chromium:
        tab = chromium.new_context(viewport={"width": 1200, "height": 1000}).new_page()
        problems: list[str] = []
        collect_problems(tab, problems)
        tab.goto(f"{server}/auth/dev?next=/requests/new")
        tab.fill("input[name=login]", "alice")
        tab.click("form[action='/auth/dev'] button[type=submit]")
        tab.wait_for_url(f"{server}/requests/new")
        yield tab
        # The refused submissions answer 400 on purpose; nothing else may go wrong.
        assert [p for p in problems if "status of 400" not in p] == []


def _enabled_durations(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "select[name=duration] option", "os => os.filter(o => !o.disabled).map(o => o.value)")


def test_guidance_follows_the_chosen_cluster(page: Page, server: str) -> None:
    page.goto(f"{server}/requests/new")
    namespaces = page.locator("[data-testid=guidance-namespaces]")
    approvers = page.locator("[data-testid=guidance-approvers]")
    ticket_required = page.locator("[data-testid=ticket-required]")
    hint = page.locator("[data-testid=ticket-hint]")
    # prod: payments namespaces, up to 4h, ticket required in plain words, payments leads.
    expect(namespaces).to_contain_text("payments, payments-*")
    expect(approvers).to_contain_text("1 approval from @acme/payments-leads")
    expect(ticket_required).to_be_visible()
    expect(hint).to_have_text('Expected form: "INC-" followed by digits, e.g. INC-1234')
    assert "^INC" not in (page.text_content("form") or "")
    durations = _enabled_durations(page)
    assert "4h" in durations and "8h" not in durations and "12h" not in durations
    assert page.locator("datalist#namespace-choices option[value=payments]").count() == 1

    # staging: another namespace, no ticket, up to 8h, bob approves.
    page.select_option("select[name=cluster]", "staging")
    expect(namespaces).to_contain_text("checkout")
    expect(namespaces).not_to_contain_text("payments")
    expect(approvers).to_contain_text("@bob")
    expect(ticket_required).to_be_hidden()
    assert page.locator("input[name=ticket]").get_attribute("required") is None
    assert "8h" in _enabled_durations(page)

    page.select_option("select[name=cluster]", "prod")
    expect(ticket_required).to_be_visible()
    assert "8h" not in _enabled_durations(page)


def test_errors_sit_next_to_their_field_in_plain_words(page: Page, server: str) -> None:
    page.goto(f"{server}/requests/new")
    page.fill("input[name=namespaces]", "payments")
    page.fill("textarea[name=reason]", "checkout pods restart in a loop")
    page.fill("input[name=ticket]", "1234")
    page.click("[data-testid=request-submit]")
    error = page.locator("label:has(input[name=ticket]) [data-testid=error-ticket]")
    expect(error).to_have_text(
        '“1234” is not in the expected form: "INC-" followed by digits, e.g. INC-1234.')
    body = page.text_content("body") or ""
    assert "spec.ticket" not in body and "^INC-" not in body
    expect(page.locator("[data-testid=problems]")).to_contain_text("see the marked fields")

    page.fill("input[name=namespaces]", "billing")
    page.fill("input[name=ticket]", "INC-1")
    page.click("[data-testid=request-submit]")
    expect(page.locator("label:has(input[name=namespaces]) [data-testid=error-namespaces]")
           ).to_contain_text("You may request: payments, payments-*")


def test_progress_shows_while_the_pull_request_is_opened(page: Page, server: str) -> None:
    page.goto(f"{server}/requests/new")
    page.fill("input[name=namespaces]", "payments")
    page.fill("textarea[name=reason]", "INC-77: checkout pods restart in a loop")
    page.fill("input[name=ticket]", "INC-77")
    progress = page.locator("[data-testid=progress]")
    expect(progress).to_be_hidden()
    # Hold the submission in the page to look at the progress state, then submit for real.
    page.evaluate("""() => document.querySelector('form[data-testid=request-form]')
        .addEventListener('submit', e => e.preventDefault(), {once: true})""")
    button = page.locator("[data-testid=request-submit]")
    button.click()
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("Opening the pull request")
    expect(button).to_be_disabled()
    page.evaluate("() => document.querySelector('form[data-testid=request-form]').submit()")
    page.wait_for_url(f"{server}/requests/pr/*")
    assert page.locator("[data-testid=pr-link]").count() == 1
