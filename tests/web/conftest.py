"""Fixtures of the web app tests: the app on the real control plane, logins, grants (CRs)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.web.app import create_app
from janus.web.grants import GrantStore
from janus.web.settings import WebSettings

LOOPBACK_PEER = ("127.0.0.1", 50000)
PUBLIC_URL = "http://testserver"

JANUS_CONFIG = """\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [prod, staging]
  excludedNamespaces: [kube-system, kube-public, kube-node-lease, janus, janus-tokens]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-exec: {clusterRole: janus-pod-exec}
  admins: {teams: [acme/sre], users: [root-admin]}
  pendingTimeout: 24h
"""

PAYMENTS_POLICY = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-prod}
spec:
  clusters: [prod]
  namespaces: [payments, "payments-*"]
  roles: [pod-exec]
  requesters: {users: [alice], teams: [acme/payments-devs]}
  approvers: {users: [], teams: [acme/payments-leads], required: 1}
  maxDuration: 4h
"""

MEMBERSHIP = """\
teams:
  acme/sre: [sam]
  acme/payments-devs: [bob]
  acme/payments-leads: [lena]
"""


@pytest.fixture(scope="session")
def access_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout of an access repo with a JanusConfig and one policy."""
    root = tmp_path_factory.mktemp("access-repo")
    (root / "policies").mkdir()
    (root / "policies" / "janus.yaml").write_text(JANUS_CONFIG)
    (root / "policies" / "payments-prod.yaml").write_text(PAYMENTS_POLICY)
    (root / "membership.yaml").write_text(MEMBERSHIP)
    return root


@pytest.fixture(scope="session")
def central(cluster: LocalCluster) -> LocalCluster:
    """The real central cluster with the AccessRequest CRD and the Janus namespace."""
    from janus.resource.crd import install

    api = cluster.admin_client()
    install(api)
    for namespace in (names.JANUS_NAMESPACE, names.TOKENS_NAMESPACE):
        try:
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
            )
        except ApiException as exc:
            if exc.status != 409:
                raise
    return cluster


@pytest.fixture
def web_database_url(tmp_path: Path) -> str:
    """The web database: one throwaway SQLite file per test. A module overrides this fixture
    with tests/conftest.py's ``database_url`` to run its tests on PostgreSQL as well."""
    return f"sqlite:///{tmp_path / 'web.db'}"


@pytest.fixture
def settings_for(
    central: LocalCluster, access_repo: Path, web_database_url: str
) -> Callable[..., WebSettings]:
    def make(**overrides: Any) -> WebSettings:
        values: dict[str, Any] = {
            # The terminal's session records and the login sessions.
            "database_url": web_database_url,
            "public_url": PUBLIC_URL,
            "session_secret": "test-session-secret-0123456789",
            "kubeconfig": central.admin_kubeconfig,
            "auth_mode": "dev",
            "access_repo_dir": access_repo,
            "membership_file": access_repo / "membership.yaml",
            # No GitHub here: the organization gate (tests/web/test_login_gate.py and the login
            # provider tests turn it on against the simulator) is off for the other tests.
            "login_open_to_any_github_user": True,
        }
        values.update(overrides)
        return WebSettings(**values)

    return make


@pytest.fixture
def web(settings_for: Callable[..., WebSettings]) -> Callable[..., TestClient]:
    """``web(**settings)`` -> a TestClient whose TCP peer is 127.0.0.1 (unless ``peer=``)."""
    clients: list[TestClient] = []

    def make(peer: tuple[str, int] = LOOPBACK_PEER, app_kwargs: dict | None = None,
             **overrides: Any) -> TestClient:
        app = create_app(settings_for(**overrides), **(app_kwargs or {}))
        test_client = TestClient(app, base_url=PUBLIC_URL, client=peer)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(web_client: TestClient, path: str = "/auth/signed-out") -> str:
    page = web_client.get(path)
    match = _CSRF_META.search(page.text)
    assert match, f"no csrf meta on {path}"
    return match.group(1)


def dev_login(web_client: TestClient, login: str) -> str:
    """Log in with the dev form; return the session's CSRF token."""
    token = csrf_of(web_client, "/auth/dev")
    response = web_client.post(
        "/auth/dev", data={"login": login, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(web_client)


@pytest.fixture
def grants(central: LocalCluster) -> GrantStore:
    return GrantStore(central.admin_client(), names.JANUS_NAMESPACE)


@pytest.fixture
def make_grant(central: LocalCluster) -> Iterator[Callable[..., str]]:
    """Create an AccessRequest CR (as the receiver would) with a status (as the controller
    would); return its name. Deleted afterwards."""
    api = client.CustomObjectsApi(central.admin_client())
    created: list[str] = []

    def make(requester: str, *, reason: str = "INC-1: investigating a stuck worker",
             phase: str = "Active", cluster: str = "prod",
             namespace: str | None = None) -> str:
        namespace = namespace or f"t-{uuid.uuid4().hex[:8]}"
        request_name = f"{requester.lower()}-{uuid.uuid4().hex[:6]}"
        name = names.access_request_name(cluster, namespace, request_name)
        body = {
            "apiVersion": resource.API_VERSION,
            "kind": resource.KIND,
            "metadata": {"name": name, "namespace": names.JANUS_NAMESPACE},
            "spec": {
                "requestName": request_name, "requester": requester, "cluster": cluster,
                "namespace": namespace, "role": "pod-exec", "duration": "1h", "reason": reason,
            },
        }
        api.create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, body
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        status = {"phase": phase, "grantedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "expiresAt": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        api.patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, name,
            {"status": status}, _content_type="application/merge-patch+json",
        )
        created.append(name)
        return name

    yield make
    for name in created:
        try:
            api.delete_namespaced_custom_object(
                resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, name
            )
        except ApiException:
            pass
