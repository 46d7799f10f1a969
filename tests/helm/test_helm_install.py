"""`helm install` as the README says, on a control plane of its own.

A separate bed because a release owns cluster-scoped objects (the catalogue ClusterRoles, the
controller's target role) that the shared ``cluster`` fixture's tests also rely on, and
``helm uninstall`` deletes them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from janus.dev.controlplane import Binaries, BinariesMissing, LocalCluster
from tests.helm.chart import CHART, NAMESPACE, TOKENS_NAMESPACE, helm_binary

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def helm_cluster() -> Iterator[LocalCluster]:
    try:
        binaries = Binaries.locate()
    except BinariesMissing as exc:
        if os.environ.get("JANUS_REQUIRE_CLUSTER") == "1":
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    c = LocalCluster.start("helm", binaries=binaries)
    try:
        yield c
    finally:
        c.stop()


def test_install_upgrade_uninstall(helm_cluster: LocalCluster, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(helm_cluster.kubeconfig()))
    # HOME too: without it client-go writes its discovery cache to ./.kube of the checkout.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KUBECONFIG": str(kubeconfig),
           "HOME": str(tmp_path),
           "HELM_CACHE_HOME": str(tmp_path / "cache"), "HELM_CONFIG_HOME": str(tmp_path / "cfg"),
           "HELM_DATA_HOME": str(tmp_path / "data")}

    def run(*args: str) -> str:
        proc = subprocess.run([str(helm_binary()), *args], env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, f"helm {args}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    # --create-namespace makes `janus` before helm stores the release there; --take-ownership
    # lets the chart's own Namespace object adopt it and add the Pod Security labels.
    run("install", "janus", str(CHART), "--namespace", NAMESPACE, "--create-namespace",
        "--take-ownership", "--wait=false")
    api = helm_cluster.admin_client()
    core = client.CoreV1Api(api)
    labels = core.read_namespace(NAMESPACE).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    core.read_namespace(TOKENS_NAMESPACE)
    apps = client.AppsV1Api(api)
    assert apps.read_namespaced_deployment("janus-controller", NAMESPACE).spec.replicas == 2
    client.ApiextensionsV1Api(api).read_custom_resource_definition("accessrequests.janus.dev")

    run("upgrade", "janus", str(CHART), "--namespace", NAMESPACE, "--set", "web.replicas=2")
    assert apps.read_namespaced_deployment("janus-web", NAMESPACE).spec.replicas == 2

    run("uninstall", "janus", "--namespace", NAMESPACE, "--wait=false")
    rbac = client.RbacAuthorizationV1Api(api)
    names = {r.metadata.name for r in rbac.list_cluster_role().items}
    assert "janus-controller-target" not in names
