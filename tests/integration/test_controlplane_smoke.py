"""Smoke tests that prove the test bed is a real Kubernetes control plane: RBAC, TokenRequest,
websocket exec through kwok (plain and TTY with resize), and isolated clusters side by side."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from janus.dev.controlplane import LocalCluster
from tests.k8s_helpers import (
    POD_EXEC_RULES,
    create_namespace,
    create_pod,
    exec_exit_status,
    handshake_status,
    make_sa_token,
)

pytestmark = pytest.mark.k8s_real

CLUSTER_ROLE = "smoke-pod-exec"


@dataclass
class Granted:
    ns: str
    other: str
    client: client.ApiClient
    token: str = field(repr=False)  # never in test output


@pytest.fixture(scope="module")
def granted(cluster: LocalCluster) -> Granted:
    """Two namespaces with a pod each, and a token bound (via a ClusterRole) in the first only."""
    api = cluster.admin_client()
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role(
        client.V1ClusterRole(metadata=client.V1ObjectMeta(name=CLUSTER_ROLE), rules=POD_EXEC_RULES)
    )
    ns, other = "smoke-granted", "smoke-other"
    for name in (ns, other):
        create_namespace(api, name)
        create_pod(api, name, containers=("app", "sidecar"))
    token = make_sa_token(api, ns, "smoke-user", [], cluster_role=CLUSTER_ROLE)
    return Granted(ns=ns, other=other, client=cluster.token_client(token), token=token)


def _exec(api_client: client.ApiClient, ns: str, command: list[str], **kw) -> object:
    return stream(
        client.CoreV1Api(api_client).connect_get_namespaced_pod_exec,
        "target",
        ns,
        container="app",
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        **kw,
    )


def test_token_identity_is_the_service_account(granted: Granted) -> None:
    review = client.AuthenticationV1Api(granted.client).create_self_subject_review(
        client.V1SelfSubjectReview()
    )
    assert review.status.user_info.username == f"system:serviceaccount:{granted.ns}:smoke-user"


def test_token_execs_echo_and_reads_exit_status(granted: Granted) -> None:
    resp = _exec(granted.client, granted.ns, ["sh", "-c", "echo hello-janus"],
                 _preload_content=False)
    resp.run_forever(timeout=20)
    assert resp.read_stdout() == "hello-janus\n"
    assert exec_exit_status(resp) == 0

    failing = _exec(granted.client, granted.ns, ["sh", "-c", "echo oops >&2; exit 3"],
                    _preload_content=False)
    failing.run_forever(timeout=20)
    assert failing.read_stderr() == "oops\n"
    assert exec_exit_status(failing) == 3


def test_exec_runs_in_a_scratch_directory_as_unprivileged_user(
    cluster: LocalCluster, granted: Granted
) -> None:
    out = _exec(granted.client, granted.ns, ["sh", "-c", "id -u; pwd"])
    uid, cwd = out.split()
    assert uid != "0"
    assert cwd == str(cluster.exec_dir)


def test_token_gets_403_for_exec_in_another_namespace(granted: Granted) -> None:
    with pytest.raises(ApiException) as err:
        _exec(granted.client, granted.other, ["echo", "nope"])
    assert handshake_status(err.value) == 403


def test_token_gets_403_for_secrets_in_its_own_namespace(granted: Granted) -> None:
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(granted.client).list_namespaced_secret(granted.ns)
    assert err.value.status == 403


def test_exec_needs_both_get_and_create_on_pods_exec(cluster: LocalCluster) -> None:
    """Since 1.35 a websocket exec (an HTTP GET) also needs `create`: a real API server checks it,
    a mock would not."""
    api = cluster.admin_client()
    ns = "smoke-get-only"
    create_namespace(api, ns)
    create_pod(api, ns)
    get_only = [
        client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list"]),
        client.V1PolicyRule(api_groups=[""], resources=["pods/exec"], verbs=["get"]),
    ]
    token = make_sa_token(api, ns, "get-only", get_only)
    with pytest.raises(ApiException) as err:
        _exec(cluster.token_client(token), ns, ["echo", "nope"])
    assert handshake_status(err.value) == 403


def test_tty_exec_with_resize(granted: Granted) -> None:
    resp = stream(
        client.CoreV1Api(granted.client).connect_get_namespaced_pod_exec,
        "target",
        granted.ns,
        container="app",
        command=["sh"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=True,
        _preload_content=False,
    )
    try:
        resp.write_channel(4, json.dumps({"Width": 123, "Height": 45}))
        time.sleep(0.2)
        resp.write_stdin("stty size; echo done-$((40+2))\n")
        output = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "done-42" not in output:
            resp.update(timeout=1)
            output += resp.read_stdout() if resp.peek_stdout() else ""
        assert "45 123" in output
        assert "done-42" in output
    finally:
        resp.close()


def test_two_clusters_are_isolated(cluster: LocalCluster, second_cluster: LocalCluster) -> None:
    assert cluster.server != second_cluster.server
    first = client.CoreV1Api(cluster.admin_client())
    second = client.CoreV1Api(second_cluster.admin_client())
    first.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="only-first")))
    second.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="only-second")))
    first_names = {n.metadata.name for n in first.list_namespace().items}
    second_names = {n.metadata.name for n in second.list_namespace().items}
    assert "only-first" in first_names and "only-first" not in second_names
    assert "only-second" in second_names and "only-second" not in first_names
    # Each cluster's CA is its own: the first cluster's admin cert means nothing to the second.
    foreign = client.Configuration()
    foreign.host = second_cluster.server
    foreign.ssl_ca_cert = str(second_cluster.pki.ca_cert)
    foreign.cert_file = str(cluster.pki.admin_cert)
    foreign.key_file = str(cluster.pki.admin_key)
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(client.ApiClient(foreign)).list_namespace()
    assert err.value.status == 401
