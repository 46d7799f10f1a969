"""The debug flow's first step (issue 13 item 1): a ``pod-debug`` grant adds an ephemeral
container whose image the web app checks against the role's allow-list, with the grant's own
token, on the real API server (kwok does not run it: what is tested is what the API server
accepts). The terminal attached to it: test_role_gate.py and test_debug_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.web.terminal.debug import allowed_images, check_request
from janus.web.terminal.pods import PodListError
from tests.unit.model.helpers import CONFIG
from tests.web.terminal.support import AppServer
from tests.web.terminal.test_log_viewer import ALICE, _as_pod_logs

IMAGES = ["busybox:1.36", "ghcr.io/acme/debug:2"]
ROLES = "    pod-exec: {clusterRole: janus-pod-exec}\n"
DEBUG_CONFIG = CONFIG.replace(ROLES, ROLES + (
    "    pod-debug: {clusterRole: janus-pod-debug, images: [busybox:1.36, ghcr.io/acme/debug:2]}\n"
)).replace("clusters: [prod, staging]", "clusters: [central]")


@pytest.fixture(scope="module")
def debug_replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:
    repo = terminal_dir / "debug-access"
    (repo / "policies").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "janus.yaml").write_text(DEBUG_CONFIG)
    with AppServer.running(web_kube, terminal_dir / "debug.db", access_repo_dir=repo) as replica:
        yield replica


def _as_role(cluster: LocalCluster, grant, role: str) -> None:
    """The test grant's AccessRequest made again with *role* (spec.role is immutable)."""
    custom = client.CustomObjectsApi(cluster.admin_client())
    args = (resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL)
    cr = custom.get_namespaced_custom_object(*args, grant.cr_name)
    custom.delete_namespaced_custom_object(*args, grant.cr_name)
    custom.create_namespaced_custom_object(*args, {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND,
        "metadata": {"name": grant.cr_name}, "spec": {**cr["spec"], "role": role}})
    custom.patch_namespaced_custom_object_status(*args, grant.cr_name,
                                                 {"status": cr["status"]})


def _session(replica: AppServer, cr_name: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=replica.base, headers=ALICE)
    page = http.get(f"/logs/{cr_name}")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token, page.text[:300]
    return http, token.group(1)


@pytest.mark.k8s_real
def test_an_allowed_image_becomes_an_ephemeral_container(
    debug_replica, make_grant, cluster: LocalCluster,
) -> None:
    grant = make_grant()
    _as_pod_logs(cluster, grant, "janus-pod-debug")
    _as_role(cluster, grant, "pod-debug")
    http, csrf = _session(debug_replica, grant.cr_name)
    assert http.get(f"/api/debug/{grant.cr_name}/images").json() == {"images": IMAGES}
    body = {"pod": "target", "container": "app", "image": "ghcr.io/acme/debug:2"}
    added = http.post(f"/api/debug/{grant.cr_name}", json=body,
                      headers={"X-CSRF-Token": csrf})
    assert added.status_code == 200, added.text
    name = added.json()["container"]
    pod = client.CoreV1Api(cluster.admin_client()).read_namespaced_pod("target", grant.namespace)
    [ephemeral] = [c for c in pod.spec.ephemeral_containers or [] if c.name == name]
    assert ephemeral.image == "ghcr.io/acme/debug:2"
    assert ephemeral.target_container_name == "app"
    assert ephemeral.security_context is None  # nothing beyond the pod's defaults

    # An image outside the allow-list never reaches the cluster; nor does a foreign CSRF-less
    # post, someone else, or a bad pod name.
    refused = http.post(f"/api/debug/{grant.cr_name}", headers={"X-CSRF-Token": csrf},
                        json={**body, "image": "evil/root-shell:latest"})
    assert refused.status_code == 400
    assert "busybox:1.36, ghcr.io/acme/debug:2" in refused.json()["detail"]
    assert http.post(f"/api/debug/{grant.cr_name}", json=body).status_code == 403
    bob = httpx.post(f"{debug_replica.base}/api/debug/{grant.cr_name}", json=body,
                     headers={"X-Forwarded-User": "bob"})
    assert bob.status_code == 403
    assert http.post(f"/api/debug/{grant.cr_name}", headers={"X-CSRF-Token": csrf},
                     json={**body, "pod": "../x"}).status_code == 400


@pytest.mark.k8s_real
def test_a_role_without_images_starts_no_debug_container(
    debug_replica, make_grant, cluster: LocalCluster,
) -> None:
    grant = make_grant()  # role pod-exec: no images in its definition
    http, csrf = _session(debug_replica, grant.cr_name)
    assert http.get(f"/api/debug/{grant.cr_name}/images").json() == {"images": []}
    refused = http.post(f"/api/debug/{grant.cr_name}", headers={"X-CSRF-Token": csrf},
                        json={"pod": "target", "container": "app", "image": "busybox:1.36"})
    assert refused.status_code == 403


@pytest.mark.k8s_real
def test_rbac_refuses_when_the_token_lacks_ephemeralcontainers(
    debug_replica, make_grant, cluster: LocalCluster,
) -> None:
    # The CR says pod-debug but the binding is pod-logs: Kubernetes' 403 is passed on.
    grant = make_grant()
    _as_pod_logs(cluster, grant, "janus-pod-logs")
    _as_role(cluster, grant, "pod-debug")
    http, csrf = _session(debug_replica, grant.cr_name)
    refused = http.post(f"/api/debug/{grant.cr_name}", headers={"X-CSRF-Token": csrf},
                        json={"pod": "target", "container": "app", "image": "busybox:1.36"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "the cluster answered 403"


@pytest.mark.parametrize(("pod", "container", "image", "status"), [
    ("target", "app", "busybox:1.36", None),
    ("target", "app", "busybox:latest", 400),
    ("target", "app", "busybox:1.36 ", 400),
    ("Target", "app", "busybox:1.36", 400),
    ("target", "", "busybox:1.36", 400),
])
def test_check_request(pod, container, image, status) -> None:
    if status is None:
        check_request(pod, container, image, ("busybox:1.36",))
        return
    with pytest.raises(PodListError) as info:
        check_request(pod, container, image, ("busybox:1.36",))
    assert info.value.status == status


def test_allowed_images_come_from_the_role_definition() -> None:
    from janus.model import load_policy_set_from_files

    policies = load_policy_set_from_files({"policies/janus.yaml": DEBUG_CONFIG.encode()})
    assert allowed_images(policies, "pod-debug") == tuple(IMAGES)
    assert allowed_images(policies, "pod-exec") == ()
    assert allowed_images(None, "pod-debug") == ()
