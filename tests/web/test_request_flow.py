"""The request form end to end: judge, PR on the GitHub simulator, PR status, my requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from janus.dev.github_sim import GitHubSimulator
from janus.model import load_request
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY, dev_login

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]
REPO = "acme/access"


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
                   "policies/payments-prod.yaml": PAYMENTS_POLICY,
                   "requests/README.md": "Requests go here.\n"},
            collaborators={"alice": "write", "mallory": "write", "lena": "write",
                           "root": "admin"},
        )
        yield simulator


@pytest.fixture
def web_gh(web: WebFactory, sim: GitHubSimulator) -> Callable[..., TestClient]:
    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {
            "repo": REPO,
            "github_api_url": sim.base_url,
            "github_token": sim.token("root"),
            "dev_user_tokens": {u: sim.token(u) for u in ("alice", "mallory")},
            # Policies come from the repo's default branch, as the receiver will judge them.
            "access_repo_dir": None,
        }
        values.update(overrides)
        return web(**values)

    return make


def _form(**overrides: str) -> dict[str, str]:
    data = {"cluster": "prod", "namespaces": "payments, payments-api", "role": "pod-exec",
            "duration": "1h", "reason": "INC-42: payment workers are stuck", "ticket": "INC-42"}
    data.update(overrides)
    return data


def test_form_shows_choices_and_maximum(web_gh: Callable[..., TestClient]) -> None:
    alice = web_gh()
    dev_login(alice, "alice")
    page = alice.get("/requests/new")
    assert page.status_code == 200
    assert '<option value="prod"' in page.text and '<option value="pod-exec"' in page.text
    assert "maximum 8h" in page.text
    assert "up to 4h for you" in page.text


def test_submit_opens_one_pr_with_a_file_per_namespace(
    web_gh: Callable[..., TestClient], sim: GitHubSimulator
) -> None:
    alice = web_gh()
    token = dev_login(alice, "alice")
    response = alice.post("/requests", data={**_form(), "csrf_token": token},
                          follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/requests/pr/1"
    pull = sim.pull(REPO, 1)
    assert pull["user"]["login"] == "alice"
    assert "@alice" in pull["body"] and "INC-42: payment workers are stuck" in pull["body"]
    assert "prod/payments-api" in pull["body"] and "1h" in pull["body"]
    head = pull["head"]["sha"]
    paths = [p for p in ("payments", "payments-api")]
    for namespace in paths:
        files = [f for f in _changed(sim, 1) if f"/{namespace}/" in f]
        assert len(files) == 1
        text = sim.read_file(REPO, files[0], ref=head)
        request, problems = load_request(files[0], text)
        assert problems == [] and request is not None
        assert request.requester == "alice" and request.namespace == namespace
        assert yaml.safe_load(text)["spec"]["ticket"] == "INC-42"

    # A retried POST (double click, 5xx) finds the same PR instead of opening another.
    again = alice.post("/requests", data={**_form(), "csrf_token": token},
                       follow_redirects=False)
    assert again.headers["location"] == "/requests/pr/1"
    assert len(_pulls(sim)) == 1

    page = alice.get("/requests/pr/1")
    assert page.status_code == 200
    assert 'data-testid="pr-link"' in page.text and "/acme/access/pull/1" in page.text
    assert "awaiting review" in alice.get("/requests/pr/1/status").text
    sim.review(REPO, 1, "lena", "APPROVE")
    assert "approved by lena" in alice.get("/requests/pr/1/status",
                                           headers={"HX-Request": "true"}).text
    assert "#1" in alice.get("/").text  # listed under open requests


def _changed(sim: GitHubSimulator, number: int) -> list[str]:
    from github import Auth, Github

    gh = Github(base_url=sim.base_url, auth=Auth.Token(sim.token("root")), retry=None)
    return [f.filename for f in gh.get_repo(REPO).get_pull(number).get_files()]


def _pulls(sim: GitHubSimulator) -> list[int]:
    from github import Auth, Github

    gh = Github(base_url=sim.base_url, auth=Auth.Token(sim.token("root")), retry=None)
    return [p.number for p in gh.get_repo(REPO).get_pulls(state="all")]


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"duration": "6h"}, "duration.policy-max"),
        ({"namespaces": "kube-system"}, "namespace.excluded"),
        ({"namespaces": "billing"}, "policy.no-match"),
        ({"reason": "short"}, "schema"),
        ({"cluster": "mars"}, "cluster.unknown"),
    ],
)
def test_judge_refuses_before_any_pr(
    web_gh: Callable[..., TestClient], sim: GitHubSimulator, overrides: dict[str, str], rule: str
) -> None:
    alice = web_gh()
    token = dev_login(alice, "alice")
    response = alice.post("/requests", data={**_form(**overrides), "csrf_token": token})
    assert response.status_code == 400
    assert rule in response.text
    assert _pulls(sim) == []


def test_ineligible_requester_is_refused(
    web_gh: Callable[..., TestClient], sim: GitHubSimulator
) -> None:
    mallory = web_gh()
    token = dev_login(mallory, "mallory")
    response = mallory.post("/requests", data={**_form(), "csrf_token": token})
    assert response.status_code == 400
    assert "requester.not-eligible" in response.text
    assert _pulls(sim) == []


def test_submit_needs_login_and_csrf(
    web_gh: Callable[..., TestClient], sim: GitHubSimulator
) -> None:
    anon = web_gh()
    assert anon.post("/requests", data=_form()).status_code in (401, 403)
    alice = web_gh()
    dev_login(alice, "alice")
    assert alice.post("/requests", data=_form()).status_code == 403
    assert alice.post("/requests", data={**_form(), "csrf_token": "nope"}).status_code == 403
    assert _pulls(sim) == []


def test_other_users_pr_page_is_hidden(
    web_gh: Callable[..., TestClient], sim: GitHubSimulator
) -> None:
    alice = web_gh()
    token = dev_login(alice, "alice")
    alice.post("/requests", data={**_form(), "csrf_token": token})
    mallory = web_gh()
    dev_login(mallory, "mallory")
    assert mallory.get("/requests/pr/1").status_code == 404
    assert mallory.get("/requests/pr/1/status").status_code == 404


def test_hostile_reason_is_escaped_on_the_form(web_gh: Callable[..., TestClient]) -> None:
    alice = web_gh()
    token = dev_login(alice, "alice")
    hostile = '<script>alert("x")</script> long enough reason'
    response = alice.post("/requests", data={**_form(reason=hostile, duration="9h"),
                                             "csrf_token": token})
    assert response.status_code == 400
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;" in response.text


def test_admin_team_membership_from_github(
    web_gh: Callable[..., TestClient], sim: GitHubSimulator
) -> None:
    """Without a membership file, JanusConfig's admin team is resolved through the GitHub API."""
    sim.add_user("sam")
    sim.add_team("acme", "sre", members=["sam"])
    sam = web_gh(membership_file=None)
    dev_login(sam, "sam")
    assert sam.get("/admin").status_code == 200
    alice = web_gh(membership_file=None)
    dev_login(alice, "alice")
    assert alice.get("/admin").status_code == 403


def test_github_down_is_reported_not_crashed(web: WebFactory) -> None:
    alice = web(repo=REPO, github_api_url="http://127.0.0.1:9", github_token="x")
    token = dev_login(alice, "alice")
    response = alice.post("/requests", data={**_form(), "csrf_token": token})
    assert response.status_code == 502
    assert "retry" in response.text
