"""The terminal follows the grant's role (issue 13 items 1-2): refused for roles without exec
(pod-logs, view) with a page naming what the role allows and linking to it; a pod-debug grant
attaches only to an ephemeral container (never exec, never the pod's own containers). Real
uvicorn replica, real API server, kwok's attach; grants bound like the controller binds them."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.kwok_config import ATTACH_FILE
from janus.web.terminal import protocol
from tests.unit.model.helpers import CONFIG
from tests.web.terminal.support import AppServer, Terminal
from tests.web.terminal.test_debug_container import _as_role, _session
from tests.web.terminal.test_log_viewer import ALICE, _as_pod_logs

pytestmark = pytest.mark.k8s_real

ROLES = "    pod-exec: {clusterRole: janus-pod-exec}\n"
GATE_CONFIG = CONFIG.replace(ROLES, ROLES + (
    "    pod-logs: {clusterRole: janus-pod-logs}\n"
    "    view: {clusterRole: janus-view}\n"
    "    pod-debug: {clusterRole: janus-pod-debug, images: [busybox:1.36]}\n"
)).replace("clusters: [prod, staging]", "clusters: [central]")


@pytest.fixture(scope="module")
def gate_replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:
    repo = terminal_dir / "gate-access"
    (repo / "policies").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "janus.yaml").write_text(GATE_CONFIG)
    with AppServer.running(web_kube, terminal_dir / "gate.db", access_repo_dir=repo) as replica:
        yield replica


def _grant_of(cluster: LocalCluster, make_grant, role: str):
    grant = make_grant()
    if role != "pod-exec":
        _as_pod_logs(cluster, grant, f"janus-{role}")
        _as_role(cluster, grant, role)
    return grant


@pytest.mark.parametrize(("role", "offered"), [
    ("pod-logs", {"/logs/": "the log viewer"}),
    ("view", {"/view/": "the read-only resource view"}),
    ("pod-debug", {"/debug/": "a debug container with a terminal attached to it"}),
])
def test_the_terminal_page_is_refused_for_a_role_without_exec(
    gate_replica, make_grant, cluster: LocalCluster, role: str, offered: dict[str, str],
) -> None:
    grant = _grant_of(cluster, make_grant, role)
    page = httpx.get(f"{gate_replica.base}/terminal/{grant.cr_name}", headers=ALICE)
    assert page.status_code == 403
    assert f"The role {role} does not allow a terminal (exec) into pods." in page.text
    links = dict(re.findall(r'<a href="([^"]+)" data-testid="role-offer">([^<]+)</a>', page.text))
    assert links == {f"{path}{grant.cr_name}": label for path, label in offered.items()}
    assert "terminal.js" not in page.text


def test_a_pod_exec_grant_keeps_its_terminal_page(gate_replica, make_grant) -> None:
    grant = make_grant()
    page = httpx.get(f"{gate_replica.base}/terminal/{grant.cr_name}", headers=ALICE)
    assert page.status_code == 200 and "terminal.js" in page.text


@pytest.mark.parametrize("role", ["pod-logs", "view"])
def test_the_websocket_refuses_a_role_without_exec(
    gate_replica, make_grant, cluster: LocalCluster, role: str,
) -> None:
    grant = _grant_of(cluster, make_grant, role)

    async def scenario() -> None:
        term = await Terminal.open(gate_replica, grant.cr_name, "alice")
        closed = await term.wait_closed()
        assert closed["reason"] == "not-allowed"
        assert f"The role {role} does not allow a terminal" in closed["message"]
        assert term.close_code == protocol.close_code("not-allowed")
        assert not gate_replica.has_sessions(grant.cr_name)  # no exec was ever attempted

    asyncio.run(scenario())


def test_pod_debug_attaches_to_its_debug_container_only(
    gate_replica, make_grant, cluster: LocalCluster,
) -> None:
    grant = _grant_of(cluster, make_grant, "pod-debug")

    async def refused(container: str) -> None:
        term = await Terminal.open(gate_replica, grant.cr_name, "alice", container=container)
        closed = await term.wait_closed()
        assert closed["reason"] == "not-allowed", closed
        assert "attaches only to a debug (ephemeral) container" in closed["message"]

    asyncio.run(refused("app"))  # the pod's own container: neither exec nor attach
    http, csrf = _session(gate_replica, grant.cr_name)
    added = http.post(f"/api/debug/{grant.cr_name}", headers={"X-CSRF-Token": csrf},
                      json={"pod": "target", "container": "app", "image": "busybox:1.36"})
    assert added.status_code == 200, added.text
    debug = added.json()["container"]
    attach_file = cluster.workdir / ATTACH_FILE

    async def attached() -> None:
        term = await Terminal.open(gate_replica, grant.cr_name, "alice", container=debug)
        connected = await term.wait_control("connected", 30)
        assert connected["container"] == debug and connected["shell"] == "attach"
        # kwok's attach follows a file: a line written now travels API server -> kwok ->
        # web app -> this socket (a real kubelet would carry the debug container's terminal).
        marker = f"debug-attach-{debug}"
        with attach_file.open("a") as f:
            f.write(f"2026-01-01T00:00:00Z stdout F {marker}\n")
        await term.wait_output(marker, 30)
        await term.close()

    asyncio.run(attached())
    asyncio.run(refused("nosuch"))  # a container the pod does not have is not ephemeral either
    assert gate_replica.has_sessions(grant.cr_name)  # recorded like an exec session

    async def revoked() -> None:  # and closed like one when the grant is revoked
        term = await Terminal.open(gate_replica, grant.cr_name, "alice", container=debug)
        await term.wait_control("connected", 30)
        await asyncio.to_thread(
            client.CustomObjectsApi(cluster.admin_client()).patch_namespaced_custom_object_status,
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
            grant.cr_name, {"status": {"phase": "Revoked"}})
        closed = await term.wait_closed(15)
        assert closed["reason"] == "revoked", closed

    asyncio.run(revoked())


def test_the_debug_grants_token_is_refused_everything_else(
    gate_replica, make_grant, cluster: LocalCluster,
) -> None:
    """With the pod-debug grant's own token: exec, logs, secrets, deleting the pod and
    patching the pod itself answer 403; listing pods and the ephemeral subresource do not."""
    grant = _grant_of(cluster, make_grant, "pod-debug")
    token = client.CoreV1Api(cluster.admin_client()).read_namespaced_secret(
        grant.secret, "janus-tokens").data["token"]
    headers = {"Authorization": f"Bearer {base64.b64decode(token).decode()}"}
    base = f"{cluster.server}/api/v1/namespaces/{grant.namespace}"
    with httpx.Client(verify=False, headers=headers) as http:  # noqa: S501 - local test CA
        assert http.get(f"{base}/pods").status_code == 200
        assert http.get(f"{base}/pods/target/log", params={"container": "app"}).status_code == 403
        assert http.post(f"{base}/pods/target/exec",
                         params={"container": "app", "command": "sh"}).status_code == 403
        assert http.get(f"{base}/secrets").status_code == 403
        assert http.delete(f"{base}/pods/target").status_code == 403
        patch = http.patch(f"{base}/pods/target", json={"metadata": {"labels": {"x": "y"}}},
                           headers={"Content-Type": "application/strategic-merge-patch+json"})
        assert patch.status_code == 403
        eph = http.patch(f"{base}/pods/target/ephemeralcontainers", json={"spec": {}},
                         headers={"Content-Type": "application/strategic-merge-patch+json"})
        assert eph.status_code == 200
