""""Past grants" and the admin view read ended grants from the ledger (docs/design.md §11),
through the GitHub API on the simulator, with the real API server for the live ones: a grant
whose AccessRequest is gone is still listed, linked to its PR and its ledger entry; an ended
AccessRequest the ledger does not have yet is listed too; the ledger is read once per head."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.github_sim import GitHubSimulator
from janus.web.ledger_source import ledger_source_for
from tests.audit.sim_flow import REPO, Flow, start
from tests.web.conftest import dev_login

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]


@pytest.fixture(autouse=True)
def no_other_grants(central: LocalCluster) -> None:
    """These tests count the rows of "Past grants" and the admin view, so they start from a
    Janus namespace without AccessRequests: earlier tests in the same session (on the same
    cluster) may leave ended grants of alice's there, which the pages rightly list as "not in
    the ledger yet". Finalizers are dropped first so a deletion is immediate."""
    api = client.CustomObjectsApi(central.admin_client())
    args = (resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL)
    for item in api.list_namespaced_custom_object(*args)["items"]:
        name = item["metadata"]["name"]
        try:
            api.patch_namespaced_custom_object(*args, name, {"metadata": {"finalizers": None}})
            api.delete_namespaced_custom_object(*args, name)
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def flow() -> Iterator[Flow]:
    with GitHubSimulator.start() as sim:
        yield start(sim)


@pytest.fixture
def web_ledger(web: WebFactory, flow: Flow) -> Callable[..., TestClient]:
    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {
            "repo": REPO, "github_api_url": flow.sim.base_url,
            "github_url": "https://github.example", "github_token": flow.sim.token("root"),
            "admin_users": frozenset({"root"}),
        }
        values.update(overrides)
        return web(**values)

    return make


def _rows(html: str, testid: str) -> list[str]:
    table = re.search(rf'<table data-testid="{testid}">(.*?)</table>', html, re.S)
    return re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:] if table else []


def test_past_grants_come_from_the_ledger_with_links(
    web_ledger: Callable[..., TestClient], flow: Flow, make_grant: Callable[..., str]
) -> None:
    flow.grant("alice", "payments", "INC-7: stuck worker")
    flow.grant("bob", "orders", "INC-8: orders")
    alice = flow.end("alice", "revoked", by="root", reason="left the team", via="web")
    flow.end("bob", "expired", via="controller")
    # No AccessRequest exists for either: the ledger alone tells. One ended CR of alice's that
    # the ledger does not have yet is shown beside them, marked.
    pending = make_grant("alice", phase="Expired", namespace="payments-api")

    client = web_ledger()
    dev_login(client, "alice")
    page = client.get("/")
    assert page.status_code == 200
    rows = _rows(page.text, "past-grants")
    assert len(rows) == 2, rows
    recorded = next(r for r in rows if "prod/payments<" in r)
    assert "revoked" in recorded and "by root" in recorded
    assert f'href="https://github.example/{REPO}/pull/{alice.merge.pull_request}"' in recorded
    head = flow.sim.head(REPO)
    assert f'href="https://github.example/{REPO}/blob/{head}/{alice.path}"' in recorded
    unrecorded = next(r for r in rows if "payments-api" in r)
    assert "not in the ledger yet" in unrecorded and "PR #" not in unrecorded
    assert f'href="/terminal/{pending}"' not in page.text
    assert "orders" not in page.text  # bob's grant is bob's

    admin = web_ledger()
    dev_login(admin, "root")
    ended = _rows(admin.get("/admin").text, "admin-ended")
    assert len(ended) == 3
    assert any("bob" in r and "expired" in r and "ledger entry" in r for r in ended)
    assert any("alice" in r and "revoked by root: left the team" in r for r in ended)


def test_the_ledger_is_read_once_per_head_and_ttl(
    web_ledger: Callable[..., TestClient], flow: Flow
) -> None:
    flow.grant("alice", "payments", "INC-7: stuck worker")
    flow.end("alice", "expired", via="controller")
    client = web_ledger()
    dev_login(client, "alice")
    now = [1000.0]
    source = ledger_source_for(client.app.state.settings, clock=lambda: now[0])
    client.app.state.ledger = source  # the one the pages use (made at first use otherwise)
    assert len(_rows(client.get("/").text, "past-grants")) == 1
    git = source._git  # its calls counter
    assert git is not None
    first = git.calls
    client.get("/")  # within the TTL: no call at all
    assert git.calls == first
    now[0] += source.ttl + 1  # past the TTL, same head: only the head is asked
    client.get("/")
    assert git.calls - first == 2
    flow.grant("alice", "payments-api", "INC-9: more")
    flow.end("alice", "revoked", by="alice", reason="done", via="web")
    now[0] += source.ttl + 1  # a new head: only what changed is read
    after = git.calls
    assert len(_rows(client.get("/").text, "past-grants")) == 2
    assert git.calls - after <= 10


def test_without_the_ledger_the_pages_say_so_and_show_the_cluster(
    web_ledger: Callable[..., TestClient], make_grant: Callable[..., str]
) -> None:
    make_grant("alice", phase="Revoked")
    client = web_ledger(github_api_url="http://127.0.0.1:9")  # nothing listens there
    dev_login(client, "alice")
    page = client.get("/")
    assert page.status_code == 200
    assert "The ledger cannot be read right now" in page.text
    (row,) = _rows(page.text, "past-grants")
    assert "revoked" in row and "not in the ledger yet" in row
