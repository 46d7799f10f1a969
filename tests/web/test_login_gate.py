"""Issue 11 item 6: only members of the configured organizations/teams may log in (default: the
access repository's organization), asked of the GitHub API (the simulator) at login and again
periodically; users are known by their numeric GitHub id as well as their login, so a login that
was renamed away and reclaimed by someone else inherits nothing (admins configured by login are
resolved to ids).

GitHub.com's OAuth endpoints are played by an httpx transport (tests/web/test_login_providers.py);
every API question (``/user``, org and team membership, ``/users/{login}``) goes to the simulator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from janus.dev.github_sim import GitHubSimulator
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY
from tests.web.test_login_providers import GITHUB_WEB, FakeGitHubOAuth

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]
HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}


@pytest.fixture
def sim() -> Iterator[GitHubSimulator]:
    """A fresh simulator per test (the tests rename users and change memberships)."""
    with GitHubSimulator.start() as simulator:
        for login in ("root", "alice", "bob", "erin"):
            simulator.add_user(login)
        simulator.add_org("acme", admins=["root"])
        simulator.add_team("acme", "payments-devs", members=["alice"])
        simulator.add_team("acme", "observers", members=["erin"])
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": PAYMENTS_POLICY},
            collaborators={"alice": "write", "bob": "write", "root": "admin"},
        )
        yield simulator


class MultiUserOAuth(FakeGitHubOAuth):
    """github.com's OAuth endpoints; the code ``code-<login>`` logs in as <login>."""

    def __init__(self, sim: GitHubSimulator) -> None:
        super().__init__(sim, "root")
        self.sim = sim

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login/oauth/access_token":
            code = parse_qs(request.content.decode())["code"][0]
            if code.startswith("code-"):
                self.codes[code] = self.sim.token(code.removeprefix("code-"))
        return super().handler(request)


def _github_app(web: WebFactory, sim: GitHubSimulator, **overrides) -> TestClient:  # type: ignore[no-untyped-def]
    fake = MultiUserOAuth(sim)
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    values = dict(
        auth_mode="github", github_url=GITHUB_WEB, github_api_url=sim.base_url,
        github_client_id="gh-client", github_client_secret="gh-secret", repo="acme/access",
        login_open_to_any_github_user=False, app_kwargs={"http": http},
    )
    values.update(overrides)
    return web(**values)


def _log_in(app: TestClient, login: str) -> httpx.Response:
    response = app.get("/auth/login", params={"next": "/"}, follow_redirects=False)
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    return app.get("/auth/callback", params={"code": f"code-{login}", "state": state},
                   follow_redirects=False)


def _whoami(app: TestClient) -> str | None:
    page = app.get("/", headers=HTML, follow_redirects=False)
    if page.status_code != 200:
        return None
    return page.text.split('data-testid="whoami">')[1].split("<")[0]


def _rename(sim: GitHubSimulator, old: str, new: str) -> None:
    """GitHub's "change username": the account (and its id) keeps everything under a new login;
    the old login is free for anyone to register."""
    world = sim.world
    with world.lock:
        account = world.accounts.pop(old.lower())
        account.login = new
        world.accounts[new.lower()] = account
        for org in world.orgs.values():
            if old in org.members:
                org.members[new] = org.members.pop(old)
            for team in org.teams.values():
                if old in team.members:
                    team.members[new] = team.members.pop(old)
        for token in world.tokens.values():
            if token.login == old:
                token.login = new
    sim._tokens[new.lower()] = sim._tokens.pop(old.lower())


def test_a_github_user_outside_the_organization_cannot_log_in(
    web: WebFactory, sim: GitHubSimulator
) -> None:
    outsider = _github_app(web, sim)
    response = _log_in(outsider, "bob")  # a collaborator on the repo, but not in org acme
    assert response.status_code == 403, (response.status_code, response.headers)
    assert "acme" in response.text
    assert _whoami(outsider) is None
    member = _github_app(web, sim)
    assert _log_in(member, "alice").status_code == 303
    assert _whoami(member) == "alice"


def test_login_restricted_to_configured_teams(web: WebFactory, sim: GitHubSimulator) -> None:
    app = _github_app(web, sim, login_teams=("acme/payments-devs",))
    assert _log_in(app, "erin").status_code == 403  # in org acme, but not in the team
    assert _log_in(app, "alice").status_code == 303
    assert _whoami(app) == "alice"


def test_membership_is_rechecked_during_the_session(web: WebFactory, sim: GitHubSimulator) -> None:
    app = _github_app(web, sim, membership_recheck_seconds=1)
    assert _log_in(app, "erin").status_code == 303
    assert _whoami(app) == "erin"
    sim.set_team_members("acme", "observers", [])
    sim.world.org("acme").members.pop("erin")  # erin leaves the organization
    time.sleep(1.2)
    page = app.get("/", headers=HTML, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/login")
    assert app.get("/", headers=JSON).status_code == 401


def test_a_renamed_and_reclaimed_login_inherits_nothing(
    web: WebFactory, sim: GitHubSimulator, make_grant: Callable[..., str]
) -> None:
    grant = make_grant("alice")
    first = _github_app(web, sim, admin_users=frozenset({"alice"}))
    assert _log_in(first, "alice").status_code == 303
    assert grant in first.get("/").text
    first.post("/auth/logout", data={"csrf_token": first.get("/").text.split(
        'name="csrf-token" content="')[1].split('"')[0]})
    # alice renames her account; someone else registers "alice" and joins the organization.
    _rename(sim, "alice", "alice-2")
    sim.add_user("alice")
    sim.add_team("acme", "newcomers", members=["alice"])
    reclaimer = _github_app(web, sim, admin_users=frozenset({"alice"}))
    response = _log_in(reclaimer, "alice")
    assert response.status_code == 403, response.status_code
    assert "another GitHub account" in response.text
    assert _whoami(reclaimer) is None
    assert grant not in reclaimer.get("/", headers=HTML).text


def test_admins_configured_by_login_are_resolved_to_ids(
    web: WebFactory, sim: GitHubSimulator
) -> None:
    """The admin never logged in: the configured login is resolved to an id at startup, so
    whoever holds that login later is not the admin."""
    app = _github_app(web, sim, admin_users=frozenset({"erin"}), github_token=sim.token("root"))
    _rename(sim, "erin", "erin-2")
    sim.add_user("erin")
    sim.add_team("acme", "newcomers", members=["erin"])
    assert _log_in(app, "erin").status_code == 403
    assert _whoami(app) is None
    assert app.get("/admin", headers=JSON).status_code == 401


def test_proxy_login_is_restricted_to_the_organization(
    web: WebFactory, sim: GitHubSimulator
) -> None:
    via_proxy = web(peer=("10.0.0.5", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.5",),
                    repo="acme/access", github_api_url=sim.base_url,
                    github_token=sim.token("root"), login_open_to_any_github_user=False)
    outsider = via_proxy.get("/", headers={"X-Forwarded-User": "bob", **JSON})
    assert outsider.status_code == 403
    member = via_proxy.get("/", headers={"X-Forwarded-User": "alice"})
    assert member.status_code == 200 and 'data-testid="whoami">alice<' in member.text
