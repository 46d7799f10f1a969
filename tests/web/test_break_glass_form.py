"""The request form's break-glass button: a visible warning, refused where no policy allows it
(nothing opened), and a PR whose file says ``breakGlass: true`` where one does."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml
from fastapi.testclient import TestClient
from github import Auth, Github
from github.Repository import Repository

from janus.dev.github_sim import GitHubSimulator
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY, dev_login

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]
REPO = "acme/access"
GLASS = PAYMENTS_POLICY + """\
  breakGlass:
    requesters: {users: [alice]}
    maxDuration: 1h
    reviewWithin: 24h
    reviewers: {teams: [acme/payments-leads]}
"""


@pytest.fixture
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        for login in ("root", "alice", "lena", "mallory"):
            simulator.add_user(login)
        simulator.add_org("acme", admins=["root"])
        simulator.add_team("acme", "payments-leads", members=["lena"])
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": GLASS,
                   "requests/README.md": "Requests go here.\n"},
            collaborators={"alice": "write", "mallory": "write", "lena": "write",
                           "root": "admin"},
        )
        yield simulator


@pytest.fixture
def client(web: WebFactory, sim: GitHubSimulator) -> TestClient:
    return web(repo=REPO, github_api_url=sim.base_url, github_token=sim.token("root"),
               dev_user_tokens={u: sim.token(u) for u in ("alice", "mallory")},
               access_repo_dir=None)


def _form(**overrides: str) -> dict[str, str]:
    data = {"cluster": "prod", "namespaces": "payments", "role": "pod-exec",
            "duration": "30m", "reason": "INC-42: payments down, no lead answers",
            "ticket": "INC-42", "break_glass": "1"}
    data.update(overrides)
    return data


def _repo(sim: GitHubSimulator) -> Repository:
    return Github(base_url=sim.base_url, auth=Auth.Token(sim.token("root"))).get_repo(REPO)


def _pulls(sim: GitHubSimulator) -> list[int]:
    return [p.number for p in _repo(sim).get_pulls(state="all")]


def test_form_shows_the_break_glass_button_with_a_warning(client: TestClient) -> None:
    token = dev_login(client, "alice")
    assert token
    page = client.get("/requests/new").text
    assert 'data-testid="break-glass-submit"' in page and 'name="break_glass"' in page
    assert "Break-glass skips approval" in page


@pytest.mark.parametrize(("overrides", "rule_text"), [
    ({"duration": "2h"}, "at most 1h"),
    ({"namespaces": "payments-api", "duration": "30m"}, None),  # allowed: glob namespace
])
def test_break_glass_past_its_maximum_is_refused_before_any_pr(
    client: TestClient, sim: GitHubSimulator, overrides: dict[str, str], rule_text: str | None
) -> None:
    token = dev_login(client, "alice")
    response = client.post("/requests", data={**_form(**overrides), "csrf_token": token},
                           follow_redirects=False)
    if rule_text is None:
        assert response.status_code == 303, response.text
        return
    assert response.status_code == 400
    assert rule_text in response.text
    assert _pulls(sim) == []


def test_break_glass_by_someone_not_listed_is_refused(
    client: TestClient, sim: GitHubSimulator
) -> None:
    token = dev_login(client, "mallory")
    response = client.post("/requests", data={**_form(), "csrf_token": token})
    assert response.status_code == 400
    assert "may not break the glass" in response.text
    assert _pulls(sim) == []


def test_break_glass_button_opens_a_marked_pr(client: TestClient, sim: GitHubSimulator) -> None:
    token = dev_login(client, "alice")
    response = client.post("/requests", data={**_form(), "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    pull = sim.pull(REPO, 1)
    assert str(pull["title"]).startswith("BREAK-GLASS access: alice")
    assert "BREAK-GLASS" in str(pull["body"]) and "@acme/payments-leads" in str(pull["body"])
    [path] = [f.filename for f in _repo(sim).get_pull(1).get_files()]
    text = sim.read_file(REPO, path, ref=pull["head"]["sha"])
    assert text is not None and yaml.safe_load(text)["spec"]["breakGlass"] is True
