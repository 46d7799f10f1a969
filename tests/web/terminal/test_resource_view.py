"""The read-only resource view of a ``view`` grant (issue 13 item 1): real uvicorn replica, the
real API server, the grant's own token — each kind the role reads is listed, never a Secret, and
a role that does not read a kind gets Kubernetes' 403."""

from __future__ import annotations

import httpx
import pytest
from kubernetes import client

from janus.dev.controlplane import LocalCluster
from tests.web.terminal.test_log_viewer import ALICE, _as_pod_logs

pytestmark = pytest.mark.k8s_real


def test_a_view_grant_lists_the_workload_kinds(replicas, make_grant, cluster: LocalCluster):
    grant = make_grant()
    _as_pod_logs(cluster, grant, "janus-view")
    core = client.CoreV1Api(cluster.admin_client())
    core.create_namespaced_config_map(grant.namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings"), data={"LEVEL": "debug", "MODE": "x"}))
    core.create_namespaced_secret(grant.namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="db"), string_data={"password": "hunter2"}))
    base = f"{replicas[0].base}/api/view/{grant.cr_name}"
    page = httpx.get(f"{replicas[0].base}/view/{grant.cr_name}", headers=ALICE)
    assert page.status_code == 200 and "view.js" in page.text
    pods = httpx.get(f"{base}/pods", headers=ALICE).json()
    assert [p["name"] for p in pods["items"]] == ["target"]
    assert pods["items"][0]["phase"] == "Running"
    configmaps = httpx.get(f"{base}/configmaps", headers=ALICE).json()["items"]
    settings = next(c for c in configmaps if c["name"] == "settings")
    assert settings["keys"] == "LEVEL, MODE" and "debug" not in str(configmaps)
    for kind in ("deployments", "replicasets", "services", "events"):
        assert httpx.get(f"{base}/{kind}", headers=ALICE).status_code == 200, kind
    # Secrets are not a kind of the view at all, whatever the role.
    assert httpx.get(f"{base}/secrets", headers=ALICE).status_code == 400
    assert httpx.get(f"{base}/pods", headers={"X-Forwarded-User": "bob"}).status_code == 403


def test_a_pod_logs_grant_reads_pods_but_not_deployments(replicas, make_grant, cluster):
    grant = make_grant()
    _as_pod_logs(cluster, grant)
    base = f"{replicas[0].base}/api/view/{grant.cr_name}"
    assert httpx.get(f"{base}/pods", headers=ALICE).status_code == 200
    for kind in ("deployments", "configmaps", "services"):
        assert httpx.get(f"{base}/{kind}", headers=ALICE).status_code == 403, kind
