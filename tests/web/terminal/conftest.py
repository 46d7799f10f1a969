"""Fixtures of the terminal tests: the web app's kubeconfig (its own restricted identity), two
replicas served by uvicorn, and grants made like the controller makes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from janus.dev.controlplane import LocalCluster
from tests.k8s_helpers import create_access_request, create_namespace, create_pod, make_grant_secret
from tests.web.terminal.support import AppServer, in_seconds, two_replicas, web_kubeconfig


@pytest.fixture(scope="session")
def terminal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("terminal")


@pytest.fixture(scope="session")
def web_kube(cluster: LocalCluster, terminal_dir: Path) -> Path:
    return web_kubeconfig(cluster, terminal_dir)


@pytest.fixture(scope="module")
def replicas(web_kube: Path, terminal_dir: Path) -> Iterator[tuple[AppServer, AppServer]]:
    """Two replicas of the web app sharing one database, as a Deployment with 2 pods would."""
    with two_replicas(web_kube, terminal_dir / "sessions.db") as pair:
        yield pair


@dataclass(frozen=True)
class MadeGrant:
    cr_name: str
    namespace: str
    requester: str
    secret: str


@pytest.fixture
def make_grant(cluster: LocalCluster) -> Callable[..., MadeGrant]:
    def make(
        requester: str = "alice",
        *,
        expires_in: float = 3600,
        pull_request: int | None = None,
        containers: tuple[str, ...] = ("app", "sidecar"),
    ) -> MadeGrant:
        namespace = f"t-{uuid.uuid4().hex[:10]}"
        api = cluster.admin_client()
        create_namespace(api, namespace)
        create_pod(api, namespace, containers=containers)
        expires_at = in_seconds(expires_in)
        cr_name = create_access_request(
            cluster, request_name=f"req-{namespace}", requester=requester, namespace=namespace,
            expires_at=expires_at, pull_request=pull_request,
        )
        secret = make_grant_secret(
            cluster, cr_name=cr_name, requester=requester, namespace=namespace,
            expires_at=expires_at,
        )
        return MadeGrant(cr_name, namespace, requester, secret)

    return make
