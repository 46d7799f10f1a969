"""Who may see a request's timeline, and the inbox behind it, on real components: the web app
(TestClient), the GitHub simulator and the real control plane.

Hostile first: a stranger and a colleague who is a requester but not an approver get 404 for
a request PR and for a grant — the same answer as for one that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.github_sim import GitHubSimulator
from janus.gitops.ledger_keeper import ENTRY_ANNOTATION
from janus.model import ledger
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY, dev_login

pytestmark = pytest.mark.k8s_real

REPO = "acme/access"
USERS = ("root", "alice", "lena", "mallory", "bob", "sam")
CODEOWNERS = "/requests/prod/ @acme/payments-leads\n"


@pytest.fixture
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        for login in USERS:
            simulator.add_user(login)
        simulator.add_org("acme", admins=["root"])
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": PAYMENTS_POLICY,
                   ".github/CODEOWNERS": CODEOWNERS,
                   "requests/README.md": "Requests go here.\n"},
            collaborators={u: "write" for u in USERS if u != "root"} | {"root": "admin"},
        )
        yield simulator


@pytest.fixture
def as_user(web: Callable[..., TestClient], sim: GitHubSimulator
            ) -> Callable[[str], tuple[TestClient, str]]:
    """A signed-in web client for *login* (membership file: lena leads payments, bob is a
    payments developer, sam is SRE = admin), and its CSRF token."""
    def make(login: str) -> tuple[TestClient, str]:
        app = web(repo=REPO, github_api_url=sim.base_url, github_token=sim.token("root"),
                  dev_user_tokens={u: sim.token(u) for u in USERS}, access_repo_dir=None)
        return app, dev_login(app, login)

    return make


def _open_request(as_user: Callable[[str], tuple[TestClient, str]]) -> int:
    alice, token = as_user("alice")
    response = alice.post("/requests", data={
        "cluster": "prod", "namespaces": "payments", "role": "pod-exec", "duration": "1h",
        "reason": "INC-42: payment workers are stuck", "ticket": "INC-42",
        "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


@pytest.fixture
def grant_of_pull(central: LocalCluster) -> Iterator[Callable[[int], str]]:
    """An AccessRequest made from PR *n* (as the receiver would), Active (as the controller)."""
    api = client.CustomObjectsApi(central.admin_client())
    made: list[str] = []

    def make(number: int, entry_path_of: Callable[[str], str] | None = None) -> str:
        request_name = f"alice-{uuid.uuid4().hex[:6]}"
        name = names.access_request_name("prod", "payments", request_name)
        annotations = {ENTRY_ANNOTATION: entry_path_of(name)} if entry_path_of else {}
        api.create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
            {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
             "metadata": {"name": name, "annotations": annotations},
             "spec": {"requestName": request_name, "requester": "alice", "cluster": "prod",
                      "namespace": "payments", "role": "pod-exec", "duration": "1h",
                      "reason": "INC-42: payment workers are stuck",
                      "provenance": {"repo": REPO, "pullRequest": number,
                                     "approvers": ["lena"], "mergedBy": "lena"}}})
        made.append(name)
        return name

    yield make
    for name in made:
        api.delete_namespaced_custom_object(resource.GROUP, resource.VERSION,
                                            names.JANUS_NAMESPACE, resource.PLURAL, name)


def test_strangers_get_404_for_a_request_and_its_grant(
    as_user: Callable[[str], tuple[TestClient, str]], grant_of_pull: Callable[[int], str],
) -> None:
    number = _open_request(as_user)
    grant = grant_of_pull(number)
    for login in ("mallory", "bob"):   # bob requests in payments; he approves nothing
        stranger, _ = as_user(login)
        for path in (f"/requests/pr/{number}/timeline", f"/grants/{grant}/timeline"):
            response = stranger.get(path)
            assert response.status_code == 404, (login, path, response.status_code)
            assert "INC-42" not in response.text and "alice" not in response.text
        # Indistinguishable from requests that do not exist.
        assert stranger.get("/requests/pr/999/timeline").status_code == 404
        assert stranger.get("/grants/no-such-grant/timeline").status_code == 404
    anonymous = as_user("mallory")[0]
    anonymous.cookies.clear()
    assert anonymous.get(f"/requests/pr/{number}/timeline",
                         follow_redirects=False).status_code in (303, 401, 403)


def test_requester_eligible_approver_and_admin_see_it(
    as_user: Callable[[str], tuple[TestClient, str]], grant_of_pull: Callable[[int], str],
) -> None:
    number = _open_request(as_user)
    grant = grant_of_pull(number)
    for login in ("alice", "lena", "sam"):
        viewer, _ = as_user(login)
        for path in (f"/requests/pr/{number}/timeline", f"/grants/{grant}/timeline"):
            page = viewer.get(path)
            assert page.status_code == 200, (login, path)
            assert "Opened by alice" in page.text
            assert f"/acme/access/pull/{number}" in page.text


def test_a_live_grants_extension_comes_from_its_ledger_entry(
    as_user: Callable[[str], tuple[TestClient, str]], grant_of_pull: Callable[..., str],
    sim: GitHubSimulator,
) -> None:
    """The receiver's ledger entry (on the default branch; the CR's annotation says where)
    gives the extension: the timeline reads it through GitHub with the app's token."""
    number = _open_request(as_user)
    merged_at = "2026-11-30T09:10:00Z"
    grant = grant_of_pull(number, lambda name: ledger.entry_path(merged_at, number, name))
    path = ledger.entry_path(merged_at, number, grant)
    merge = ledger.MergeRecord(REPO, number, "d" * 40, merged_at, "lena", ("lena",))
    entry = ledger.Entry(
        request=ledger.RequestRecord(f"requests/prod/payments/{grant}.yaml", "e" * 40, grant,
                                     "alice", "prod", "payments", "pod-exec", "1h",
                                     "INC-42: payment workers are stuck", "INC-42"),
        merge=merge, access_request=grant, granted_at="2026-11-30T09:11:00Z",
        expires_at="2026-11-30T10:11:00Z",
        extensions=(ledger.Extension(
            ledger.MergeRecord(REPO, number + 40, "f" * 40, "2026-11-30T09:50:00Z", "lena",
                               ("lena",)), "a" * 40, "2h", "2026-11-30T11:11:00Z"),))
    sim.push(REPO, sim.pull(REPO, number)["base"]["ref"], {path: ledger.dump(entry)}, "root",
             "janus: granted alice → prod/payments")
    page = as_user("lena")[0].get(f"/grants/{grant}/timeline")
    assert page.status_code == 200
    assert "Extended to 2h, until 2026-11-30T11:11:00Z" in page.text
    assert f"PR #{number + 40} (merged by lena)" in page.text


def test_inbox_lists_the_pr_for_its_approver_only(
    as_user: Callable[[str], tuple[TestClient, str]], sim: GitHubSimulator,
) -> None:
    number = _open_request(as_user)
    lena, _ = as_user("lena")
    assert lena.get("/inbox/count").json() == {"count": 1}
    page = lena.get("/inbox")
    assert page.status_code == 200 and 'data-testid="inbox"' in page.text
    assert f'data-pull="{number}"' in page.text and "INC-42: payment workers are stuck" in page.text
    assert "prod/payments" in page.text and f"/acme/access/pull/{number}" in page.text
    for login in ("alice", "mallory", "bob"):
        other, _ = as_user(login)
        assert other.get("/inbox/count").json() == {"count": 0}, login
        assert f'data-pull="{number}"' not in other.get("/inbox").text
    # The empty state says who would see what.
    assert "No policy names you as an approver" in as_user("mallory")[0].get("/inbox").text
    sim.review(REPO, number, "lena", "APPROVE")
    assert lena.get("/inbox/count").json() == {"count": 0}
    approved = lena.get("/inbox").text
    assert 'data-testid="inbox-approved"' in approved and f'data-pull="{number}"' in approved


def test_inbox_count_without_github_is_unknown_not_an_error(
    web: Callable[..., TestClient], tmp_path: Path
) -> None:
    alone = web()
    dev_login(alone, "lena")
    assert alone.get("/inbox/count").json() == {"count": None}
    assert alone.get("/inbox").status_code == 200
