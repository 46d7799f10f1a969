"""§9 invariant 2: a grant's token can exec only in its namespace on its cluster.

The existing smoke test proves RBAC with a hand-made ServiceAccount token; here the token is the
one the controller itself issued (read from its Secret in janus-tokens), and it is tried on the
real API servers: its own namespace (works), another namespace with a pod on the same cluster
(403) and the same namespace name, with the same pod, on the OTHER cluster (refused: that API
server never issued it). Both directions: a grant on the central cluster and one on the second.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from janus import names
from janus.dev.controlplane import LocalCluster
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    prepare_central,
    register_cluster,
    wait_phase,
)
from tests.integration.test_controller_multicluster import _controller_token
from tests.k8s_helpers import create_namespace, create_pod, handshake_status

pytestmark = pytest.mark.k8s_real


@dataclass
class Bed:
    central: LocalCluster
    second: LocalCluster
    janus_ns: str
    ctl: ControllerProcess = field(repr=False)


@dataclass
class Token:
    # repr=False: a failing assertion must never print the credential.
    value: str = field(repr=False)


@pytest.fixture(scope="module")
def bed(cluster: LocalCluster, second_cluster: LocalCluster,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    janus_ns = prepare_central(cluster)
    register_cluster(cluster, janus_ns, "second",
                     second_cluster.kubeconfig(token=_controller_token(second_cluster)))
    ctl = ControllerProcess(tmp_path_factory.mktemp("inv2"), cluster, janus_ns,
                            clusters=["central", "second"]).start()
    try:
        yield Bed(cluster, second_cluster, janus_ns, ctl)
    finally:
        ctl.stop()


def _pod_ns(cluster: LocalCluster, ns: str) -> None:
    create_namespace(cluster.admin_client(), ns)
    create_pod(cluster.admin_client(), ns)


def _granted_token(bed: Bed, cluster_name: str, ns: str) -> Token:
    api = bed.central.admin_client()
    name = create_request(api, bed.janus_ns, cluster=cluster_name, namespace=ns)
    wait_phase(api, bed.janus_ns, name, "Active")
    secret = client.CoreV1Api(api).read_namespaced_secret(
        names.token_secret_name(name), names.TOKENS_NAMESPACE)
    return Token(base64.b64decode(secret.data["token"]).decode())


def _exec(cluster: LocalCluster, token: Token, ns: str) -> str:
    core = client.CoreV1Api(cluster.token_client(token.value))
    return stream(core.connect_get_namespaced_pod_exec, "target", ns, container="app",
                  command=["sh", "-c", "echo granted"],
                  stderr=True, stdin=False, stdout=True, tty=False)


def _refused(cluster: LocalCluster, token: Token, ns: str) -> int:
    with pytest.raises(ApiException) as err:
        _exec(cluster, token, ns)
    return handshake_status(err.value)


@pytest.mark.parametrize("home,away", [("central", "second"), ("second", "central")])
def test_grant_token_execs_only_in_its_namespace_on_its_cluster(
        bed: Bed, unique_ns: str, home: str, away: str) -> None:
    clusters = {"central": bed.central, "second": bed.second}
    other_ns = f"{unique_ns}-o"
    # The same namespace name and pod exist on both clusters, plus a neighbour namespace at home,
    # so every refusal below is about the token's scope, never about a missing object.
    for c in clusters.values():
        _pod_ns(c, unique_ns)
    _pod_ns(clusters[home], other_ns)
    token = _granted_token(bed, home, unique_ns)

    assert "granted" in _exec(clusters[home], token, unique_ns)
    assert _refused(clusters[home], token, other_ns) == 403
    # The other cluster's API server did not issue the token: 401 (unauthenticated). A 403 would
    # also be a refusal, but anything that lets the exec through fails here.
    assert _refused(clusters[away], token, unique_ns) in (401, 403)
    # Nor can it do anything else at home beyond exec in its namespace (e.g. read Secrets).
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(clusters[home].token_client(token.value)).list_namespaced_secret(
            unique_ns)
    assert err.value.status == 403
