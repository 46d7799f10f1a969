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


def _older_crd() -> dict:
    """The AccessRequest CRD as an older release had it: without spec.ticket and the Expires
    column (a stand-in: 0.1.0 is the first release, so no real older file exists yet)."""
    crd = yaml.safe_load((CHART / "crds" / "accessrequests.yaml").read_text())
    version = crd["spec"]["versions"][0]
    del version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["ticket"]
    version["additionalPrinterColumns"] = [
        c for c in version["additionalPrinterColumns"] if c["name"] != "Expires"]
    return crd


def test_crd_upgrade_path(helm_cluster: LocalCluster, tmp_path: Path) -> None:
    """docs/helm.md "Upgrading the CRDs": Helm installs crds/ once and never upgrades them, so
    the CRDs of a new chart are applied with server-side apply, over the ones Helm created."""
    import sys
    import time

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(helm_cluster.kubeconfig()))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KUBECONFIG": str(kubeconfig),
           "HOME": str(tmp_path), "HELM_CACHE_HOME": str(tmp_path / "cache"),
           "HELM_CONFIG_HOME": str(tmp_path / "cfg"), "HELM_DATA_HOME": str(tmp_path / "data")}
    kubectl = str(Path(sys.executable).with_name("kubectl"))
    api = helm_cluster.admin_client()
    ext = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)
    name = "accessrequests.janus.dev"

    def established() -> dict:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            crd = ext.read_custom_resource_definition(name)
            if any(c.type == "Established" and c.status == "True"
                   for c in crd.status.conditions or []):
                return api.sanitize_for_serialization(crd)
            time.sleep(0.2)
        raise AssertionError(f"{name} not Established")

    # Start from the older CRD, created as `helm install` creates crds/ (a plain create).
    try:
        ext.delete_custom_resource_definition(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            ext.read_custom_resource_definition(name)
        except client.ApiException as exc:
            if exc.status == 404:
                break
        time.sleep(0.2)
    old = tmp_path / "old-crd.yaml"
    old.write_text(yaml.safe_dump(_older_crd()))
    proc = subprocess.run([kubectl, "create", "-f", str(old)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    established()
    ns = "crd-upgrade"
    try:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    spec = {"requestName": "r1", "requester": "alice", "cluster": "prod",
            "namespace": "payments", "role": "pod-exec", "duration": "1h",
            "reason": "incident 42, read the logs"}
    body = {"apiVersion": "janus.dev/v1alpha1", "kind": "AccessRequest",
            "metadata": {"name": "before-upgrade"}, "spec": spec}
    custom.create_namespaced_custom_object("janus.dev", "v1alpha1", ns, "accessrequests", body)
    # The older schema prunes the field it does not know.
    pruned = custom.create_namespaced_custom_object(
        "janus.dev", "v1alpha1", ns, "accessrequests",
        {**body, "metadata": {"name": "pruned"}, "spec": {**spec, "ticket": "INC-1"}})
    assert "ticket" not in pruned["spec"]

    # The documented upgrade: the new chart's CRDs, server-side applied over Helm's.
    crds = subprocess.run([str(helm_binary()), "show", "crds", str(CHART)], env=env,
                          capture_output=True, text=True, timeout=60, check=True).stdout
    proc = subprocess.run([kubectl, "apply", "--server-side", "--force-conflicts", "-f", "-"],
                          input=crds, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"customresourcedefinition.apiextensions.k8s.io/{name} serverside-applied" in (
        proc.stdout)

    live = established()
    new = yaml.safe_load((CHART / "crds" / "accessrequests.yaml").read_text())
    (live_v,), (new_v,) = live["spec"]["versions"], new["spec"]["versions"]
    assert live_v["schema"] == new_v["schema"]
    assert live_v["additionalPrinterColumns"] == new_v["additionalPrinterColumns"]
    # Objects stored under the older schema are still served; the new field is kept now.
    custom.get_namespaced_custom_object("janus.dev", "v1alpha1", ns, "accessrequests",
                                        "before-upgrade")
    kept = custom.create_namespaced_custom_object(
        "janus.dev", "v1alpha1", ns, "accessrequests",
        {**body, "metadata": {"name": "after-upgrade"}, "spec": {**spec, "ticket": "INC-1"}})
    assert kept["spec"]["ticket"] == "INC-1"
    # Applying again is a no-op: the path is safe to repeat on every upgrade.
    again = subprocess.run([kubectl, "apply", "--server-side", "--force-conflicts", "-f", "-"],
                           input=crds, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr

