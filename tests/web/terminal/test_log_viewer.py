"""The log viewer (issue 13 item 1): a pod's log read with the grant's own token through the web
app — real uvicorn replicas, the real API server, kwok serving the log — and closed when the
grant ends, like the terminal."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.policy.roles import cluster_role_manifest
from janus.web.terminal.logs import LogQuery, LogRequestError, LogStream
from janus.web.terminal.watcher import SessionRegistry
from tests.web.terminal.support import ADMIN

ALICE = {"X-Forwarded-User": "alice"}


def _as_pod_logs(cluster: LocalCluster, grant, cluster_role: str = "janus-pod-logs") -> None:
    """Turn a test grant (bound like the controller binds pod-exec) into a grant of another
    built-in role: its ServiceAccount bound to *cluster_role* instead."""
    api = cluster.admin_client()
    rbac = client.RbacAuthorizationV1Api(api)
    try:
        rbac.create_cluster_role(cluster_role_manifest(cluster_role))
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    sa = names.service_account_name(grant.requester, grant.cr_name)
    rbac.delete_namespaced_role_binding(sa, grant.namespace)
    rbac.create_namespaced_role_binding(grant.namespace, {
        "metadata": {"name": sa},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": grant.namespace}],
    })


def _url(server, cr_name: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"pod": "target", "container": "app",
                                             **params}.items())
    return f"{server.base}/api/logs/{cr_name}?{query}"


@pytest.mark.k8s_real
def test_the_requester_reads_the_log_with_the_grants_token(
    replicas, make_grant, cluster: LocalCluster,
) -> None:
    grant = make_grant()
    _as_pod_logs(cluster, grant)
    page = httpx.get(f"{replicas[0].base}/logs/{grant.cr_name}", headers=ALICE)
    assert page.status_code == 200 and "logs.js" in page.text
    shown = httpx.get(_url(replicas[0], grant.cr_name), headers=ALICE)
    assert shown.status_code == 200, shown.text
    assert shown.text.splitlines()[-1] == "ready"
    assert "[janus]" not in shown.text  # the log ended by itself: no closing line
    sidecar = httpx.get(_url(replicas[1], grant.cr_name, container="sidecar",
                             timestamps="true"), headers=ALICE)
    assert sidecar.status_code == 200
    assert sidecar.text.splitlines()[-1].endswith(" ready")  # a timestamp before each line
    assert sidecar.text.splitlines()[-1] != "ready"
    # kwok's lines are dated 2026-01-01: nothing in the last five minutes.
    recent = httpx.get(_url(replicas[0], grant.cr_name, since="300"), headers=ALICE)
    assert recent.status_code == 200 and recent.text == ""
    download = httpx.get(_url(replicas[0], grant.cr_name, download="true"), headers=ALICE)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        f'attachment; filename="central-{grant.namespace}-target-app.log"')
    assert download.text == shown.text


@pytest.mark.k8s_real
def test_only_the_requester_and_only_a_usable_grant(
    replicas, make_grant, cluster: LocalCluster,
) -> None:
    grant = make_grant()
    _as_pod_logs(cluster, grant)
    url = _url(replicas[0], grant.cr_name)
    assert httpx.get(url, headers={"X-Forwarded-User": "bob"}).status_code == 403
    assert httpx.get(url, headers={"X-Forwarded-User": ADMIN}).status_code == 403
    assert httpx.get(url).status_code == 401
    assert httpx.get(f"{replicas[0].base}/logs/{grant.cr_name}",
                     headers={"X-Forwarded-User": "bob"}).status_code == 403
    assert httpx.get(_url(replicas[0], grant.cr_name, pod="..%2Fsecrets"),
                     headers=ALICE).status_code == 400
    # A pod the namespace does not have: Kubernetes' 404, passed on as such.
    assert httpx.get(_url(replicas[0], grant.cr_name, pod="nope"),
                     headers=ALICE).status_code == 404
    client.CustomObjectsApi(cluster.admin_client()).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
        grant.cr_name, {"status": {"phase": "Revoked"}})
    assert httpx.get(url, headers=ALICE).status_code == 409


# ---- the stream closes when the grant ends (kwok serves logs without follow) ----------------


async def _forever() -> AsyncIterator[bytes]:
    yield b"line 1\n"
    while True:
        await asyncio.sleep(3600)
        yield b""


async def _collect(stream: LogStream, chunks: AsyncIterator[bytes], *,
                   trailer: bool = True) -> bytes:
    return b"".join([c async for c in stream.relay(chunks, trailer=trailer)])


def test_revocation_closes_an_open_stream_and_says_why() -> None:
    async def scenario() -> bytes:
        registry = SessionRegistry()
        stream = LogStream("cr-1", None, registry)
        task = asyncio.create_task(_collect(stream, _forever()))
        await asyncio.sleep(0.05)
        assert registry.count() == 1
        registry.end_grant("cr-1", "revoked", "The grant was revoked.")
        body = await asyncio.wait_for(task, 2)
        assert registry.count() == 0
        return body

    body = asyncio.run(scenario())
    assert body == b"line 1\n\n[janus] The grant was revoked. The log stream is closed.\n"


def test_expiry_closes_an_open_stream_and_an_extension_moves_it() -> None:
    async def scenario() -> tuple[bytes, float]:
        registry = SessionRegistry()
        now = dt.datetime.now(dt.UTC)
        stream = LogStream("cr-2", now + dt.timedelta(seconds=0.2), registry)
        task = asyncio.create_task(_collect(stream, _forever()))
        await asyncio.sleep(0.05)
        registry.set_expiry("cr-2", now + dt.timedelta(seconds=0.6))
        started = asyncio.get_running_loop().time()
        body = await asyncio.wait_for(task, 3)
        return body, asyncio.get_running_loop().time() - started

    body, waited = asyncio.run(scenario())
    assert body.endswith(b"[janus] The grant expired. The log stream is closed.\n")
    assert 0.3 < waited < 1.5


def test_a_download_gets_no_closing_line() -> None:
    async def scenario() -> bytes:
        registry = SessionRegistry()
        stream = LogStream("cr-3", None, registry)
        task = asyncio.create_task(_collect(stream, _forever(), trailer=False))
        await asyncio.sleep(0.05)
        registry.end_grant("cr-3", "revoked", "The grant was revoked.")
        return await asyncio.wait_for(task, 2)

    assert asyncio.run(scenario()) == b"line 1\n"


@pytest.mark.parametrize(("pod", "container", "since"), [
    ("../x", "app", None), ("Target", "app", None), ("target", "a/b", None),
    ("target", "app", 0), ("target", "app", 8 * 24 * 3600),
])
def test_queries_outside_the_names_are_refused(pod, container, since) -> None:
    with pytest.raises(LogRequestError) as info:
        LogQuery(pod=pod, container=container, since_seconds=since)
    assert info.value.status == 400


def test_a_browser_going_away_unregisters_and_stops_reading_upstream() -> None:
    cancelled = asyncio.Event()

    async def upstream() -> AsyncIterator[bytes]:
        yield b"line 1\n"
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        yield b"never\n"

    async def scenario() -> int:
        registry = SessionRegistry()
        relay = LogStream("cr-4", None, registry).relay(upstream())
        assert await relay.__anext__() == b"line 1\n"
        pending = asyncio.ensure_future(relay.__anext__())
        await asyncio.sleep(0.05)
        pending.cancel()  # what Starlette does when the client disconnects
        with pytest.raises(asyncio.CancelledError):
            await pending
        await relay.aclose()
        await asyncio.wait_for(cancelled.wait(), 1)
        return registry.count()

    assert asyncio.run(scenario()) == 0
