"""End to end with the real controller: `janus controller` (a subprocess) grants an
AccessRequest, the terminal execs with the token it minted, and a revocation through the CR
closes the session within a second, before the controller has even finished removing the grant."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from janus import names
from janus.dev.controlplane import LocalCluster
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    patch_spec,
    prepare_central,
    wait_for,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod
from tests.web.terminal.support import AppServer, Terminal, web_kubeconfig

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def controlled(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, AppServer]]:
    workdir = tmp_path_factory.mktemp("terminal-e2e")
    janus_ns = prepare_central(cluster)
    controller = ControllerProcess(workdir, cluster, janus_ns, clusters=["central"]).start()
    try:
        replica = AppServer.start(web_kubeconfig(cluster, Path(workdir), janus_ns),
                                  workdir / "e2e.db", janus_namespace=janus_ns)
        try:
            yield janus_ns, replica
        finally:
            replica.stop()
    finally:
        controller.stop()


def test_controller_grant_then_terminal_then_revoke(
    controlled: tuple[str, AppServer], cluster: LocalCluster
) -> None:
    janus_ns, replica = controlled
    api = cluster.admin_client()
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    create_namespace(api, namespace)
    create_pod(api, namespace, containers=("app", "sidecar"))
    cr_name = create_request(api, janus_ns, cluster="central", namespace=namespace,
                             requester="alice", duration="1h")
    wait_phase(api, janus_ns, cr_name, "Active", timeout=30)
    secret = names.token_secret_name(cr_name)

    async def scenario() -> tuple[float, dict]:
        term = await Terminal.open(replica, cr_name, "alice", container="sidecar")
        connected = await term.wait_control("connected")
        assert connected["shell"] == "bash"
        await term.type("echo granted-by-$((1+1))-controller\n")
        await term.wait_output(r"granted-by-2-controller")
        started = time.monotonic()
        await asyncio.to_thread(patch_spec, api, janus_ns, cr_name, {"revocation": {
            "by": "root-admin", "reason": "e2e", "requestedAt": "2026-01-01T00:00:00Z"}})
        closed = await term.wait_closed(seconds=10)
        return time.monotonic() - started, closed

    elapsed, closed = asyncio.run(scenario())
    print(f"closed {elapsed:.3f}s after the revocation request")
    assert closed["reason"] == "revoked"
    assert elapsed < 1.0
    wait_phase(api, janus_ns, cr_name, "Revoked", timeout=30)

    def secret_gone() -> bool:
        try:
            client.CoreV1Api(api).read_namespaced_secret(secret, names.TOKENS_NAMESPACE)
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(secret_gone, 30, "the token Secret to be deleted")
