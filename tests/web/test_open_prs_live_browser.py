"""The open request PRs on "My access" follow GitHub without a reload, in real Chromium: a PR
opened elsewhere (as `janus request --open-pr` does, straight on GitHub), then reviewed, then
merged, shows up on the page within seconds. The event streams are made to last far longer
than the test here, so only the replica's PR poll (janus.web.pull_watch) can tell the page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from github import Auth, Github
from playwright.sync_api import expect

from janus.dev.github_sim import GitHubSimulator
from janus.gitops.request_pr import open_request_pr
from janus.web.terminal import live

# The Chromium, simulator and web app of the other browser tests (the app has the org admin's
# token, so it can poll; alice signs in with the dev login).
from tests.web.test_browser import _log_in, browser, page, server, sim  # noqa: F401

pytestmark = pytest.mark.k8s_real

# Within a few seconds: the poll runs every 3 s; the rest is slack for a busy machine.
SECONDS = 12


@pytest.fixture(scope="module", autouse=True)
def streams_outlast_the_test() -> Iterator[None]:
    """No stream ends (and no reconnect re-reads the lists) while a test runs."""
    before = live.STREAM_SECONDS
    live.STREAM_SECONDS = 600.0
    try:
        yield
    finally:
        live.STREAM_SECONDS = before


def _open_pr_on_github(sim: GitHubSimulator, login: str) -> int:  # noqa: F811
    """A request PR opened by *login* straight on GitHub, not through this web app."""
    client = Github(base_url=sim.base_url, auth=Auth.Token(sim.token(login)), retry=None)
    tag = uuid.uuid4().hex[:6]
    path = f"requests/prod/payments/{login}-live-{tag}.yaml"
    text = (f"apiVersion: janus.dev/v1alpha1\nkind: AccessRequest\nmetadata: {{name: "
            f"{login}-live-{tag}}}\nspec: {{cluster: prod, namespaces: [payments], role: "
            f"pod-exec, duration: 1h, reason: 'INC-31: live list', ticket: INC-31}}\n")
    pull = open_request_pr(client.get_repo("acme/access"), login, {path: text},
                           f"Access request {tag}", "opened on GitHub")
    return int(pull.number)


def test_a_pr_opened_on_github_appears_on_my_access_without_reload(
    page, server: str, sim: GitHubSimulator,  # noqa: F811
) -> None:
    _log_in(page, server, "alice")
    page.goto(f"{server}/")
    expect(page.locator("html[data-live=on]")).to_have_count(1, timeout=10000)
    page.evaluate("() => { window.janusNoReload = 'kept'; }")
    # Streams opened on this page: a reconnect would re-read the lists by itself.
    connects = page.evaluate("() => performance.getEntriesByType('resource')"
                             ".filter((e) => e.name.includes('/events/grants')).length")

    number = _open_pr_on_github(sim, "alice")
    row = page.locator("[data-testid=open-pulls] tr", has_text=f"#{number}")
    expect(row).to_have_count(1, timeout=SECONDS * 1000)
    expect(row).to_contain_text("awaiting review")

    sim.add_user("mira")
    sim.review("acme/access", number, "mira", "APPROVE")
    expect(row).to_contain_text("approved by mira", timeout=SECONDS * 1000)

    sim.merge("acme/access", number, "root")
    expect(row).to_have_count(0, timeout=SECONDS * 1000)

    assert page.evaluate("() => window.janusNoReload") == "kept"
    assert page.evaluate("() => performance.getEntriesByType('resource')"
                         ".filter((e) => e.name.includes('/events/grants')).length") == connects
    assert page.problems == []
