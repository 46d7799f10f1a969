"""Every watch in Janus lists again after 410 Gone and 504 "Too large resource version".

The API server answers a watch from a compacted resourceVersion with 410 Gone, and one from a
version its watch cache has not reached yet (a listing served by etcd under load) with 504 "Too
large resource version" — as an ERROR event after a 200, or as the HTTP status. A proxy in front
of the real API server (tests/faults/apiproxy.py) answers chosen watch requests that way; the
promise in each test is that the watcher lists again and goes on seeing every change.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from janus import resource
from janus.dev.controlplane import LocalCluster
from janus.resource.client import AccessRequestClient, WatchEvent
from tests.faults.apiproxy import ApiProxy, WatchFault
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    prepare_central,
    wait_for,
    wait_phase,
)
from tests.k8s_helpers import create_namespace

pytestmark = pytest.mark.k8s_real

ALL_KINDS = ("event504", "http504", "event410", "http410")


@pytest.fixture
def proxy(cluster: LocalCluster) -> Any:
    p = ApiProxy(cluster).start()
    yield p
    p.stop()


def test_controller_watch_relists_after_504_and_410(cluster: LocalCluster, proxy: ApiProxy,
                                                    tmp_path: Path, unique_ns: str) -> None:
    """Promise: no grant lost. After its AccessRequest watch is answered 504 "Too large resource
    version" and 410 Gone (event and HTTP status each), the controller (a real process, behind
    the proxy) lists again and grants a request created afterwards. Before the fix, kopf ended
    its watcher on the first 504 for good and the request stayed without a phase."""
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    create_namespace(api, unique_ns)
    for kind in ALL_KINDS:
        proxy.add_fault(WatchFault("accessrequests", kind))
    ctl = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                            kubeconfig=proxy.kubeconfig())
    ctl.start()
    try:
        wait_for(lambda: proxy.injected_count() == len(ALL_KINDS), 90,
                 "all four faults served (a watcher that died stops asking)")
        name = create_request(api, janus_ns, cluster="central", namespace=unique_ns,
                              duration="1h")
        wait_phase(api, janus_ns, name, "Active", timeout=60)
        assert ctl.running()
    finally:
        ctl.stop()
        print(ctl.log()[-4000:])


def test_access_request_client_watch_relists_after_504_and_410(
        cluster: LocalCluster, proxy: ApiProxy, unique_ns: str) -> None:
    """Promise: no state missed. AccessRequestClient.watch (the receiver's status watch, the
    ledger keeper, the notifier) lists again after each kind of 410/504 instead of raising, and
    then sees a request created after the faults."""
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    first = create_request(api, janus_ns, cluster="central", namespace=unique_ns)
    for kind in ALL_KINDS:
        proxy.add_fault(WatchFault("accessrequests", kind))
    crs = AccessRequestClient(proxy.admin_client(), janus_ns)
    stop = threading.Event()
    seen: list[WatchEvent] = []
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            for change in crs.watch(stop=stop, timeout_seconds=5):
                seen.append(change)
        except BaseException as exc:  # the promise is that nothing escapes
            failure.append(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        wait_for(lambda: proxy.injected_count() == len(ALL_KINDS) or failure, 60,
                 "all four faults served (a watcher that died stops asking)")
        assert not failure, f"the watch raised instead of listing again: {failure[0]!r}"
        later = create_request(api, janus_ns, cluster="central", namespace=unique_ns)
        wait_for(lambda: any(c.view.name == later for c in seen) or failure, 30,
                 "the request created after the faults")
        assert not failure, f"the watch raised: {failure[0]!r}"
        listed_first = [c for c in seen if c.type == "LISTED" and c.view.name == first]
        assert len(listed_first) >= 1 + len(ALL_KINDS)  # the start, then one list per fault
    finally:
        stop.set()
        thread.join(15)


def test_benchmark_observers_relist_after_504_and_410(
        cluster: LocalCluster, proxy: ApiProxy, unique_ns: str) -> None:
    """Promise: a benchmark never reports a phase as never reached because its observing watch
    died (bench/grant.py --count 2000 did, on a 504). bench/grant.py's PhaseWatch and
    bench/webhook.py's ActiveWatch, answered 504/410, list again and record a phase reached
    after the faults."""
    from bench.grant import PhaseWatch
    from bench.webhook import ActiveWatch

    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    for kind in ALL_KINDS:
        proxy.add_fault(WatchFault("accessrequests", kind, times=2))  # one each per observer
    phases = PhaseWatch(proxy.admin_client(), janus_ns)
    active = ActiveWatch(proxy.admin_client(), janus_ns)
    try:
        wait_for(lambda: proxy.injected_count() == 2 * len(ALL_KINDS)
                 or active.ended is not None, 60, "every fault served")
        assert active.ended is None, f"ActiveWatch died: {active.ended!r}"
        name = create_request(api, janus_ns, cluster="central", namespace=unique_ns)
        client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
            {"status": {"phase": "Active"}})
        wait_for(lambda: (name, "Active") in phases.seen and name in active.seen, 30,
                 "both observers to see the phase")
        assert phases.relists >= 1 and active.relists >= 1
    finally:
        phases.stop()
        active.stop()
        phases._thread.join(15)  # its watches last 5 s; let it end before the proxy does


def test_terminal_sessions_watch_ends_for_a_relist_after_504_and_410(
        cluster: LocalCluster, proxy: ApiProxy) -> None:
    """Promise: the ledger's session recorder never loses its TerminalSession watch to a
    410/504. TerminalSessions.watch ends (its caller, session_recorder.run, calls it again,
    which lists first) instead of raising an error the caller logs and sleeps on."""
    from janus.resource.sessions import TerminalSessions

    janus_ns = prepare_central(cluster)
    for kind in ALL_KINDS:
        proxy.add_fault(WatchFault("terminalsessions", kind))
    store = TerminalSessions(proxy.admin_client(), janus_ns)
    stop = threading.Event()
    for _ in ALL_KINDS:
        list(store.watch(stop, timeout_seconds=5))  # the fault ends it at once, no exception
    assert proxy.injected_count() == len(ALL_KINDS)


def test_controller_listing_still_504_after_kopf_retries_starts_over() -> None:
    """Promise: a listing answered 504 "Too large resource version" (or 410) beyond kopf's own
    retries (~54 s, too long to force here) ends one round of kopf's infinite watch, which
    lists again, instead of ending the controller's watcher; any other API error still
    raises. The wrapped generator stands in for kopf's list-then-watch."""
    import asyncio

    from kopf._cogs.clients import errors

    from janus.controller.watch_relist import wrap_continuous

    def failing(status: int, message: str) -> Any:
        async def continuous_watch(**_: Any) -> Any:
            yield {"type": None, "object": {}}
            raise errors.APIServerError({"message": message}, status=status, headers={})
        return continuous_watch

    async def drain(stream: Any) -> list[Any]:
        return [raw async for raw in stream]

    for status, message in ((504, "Too large resource version: 9, current: 1"),
                            (410, "too old resource version")):
        got = asyncio.run(drain(wrap_continuous(failing(status, message))()))
        assert got == [{"type": None, "object": {}}]
    with pytest.raises(errors.APIServerError):
        asyncio.run(drain(wrap_continuous(failing(503, "etcd unavailable"))()))
