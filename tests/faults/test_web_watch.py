"""The web app loses its watch on the API server; sessions of grants that ended meanwhile close.

Each web replica ends its own terminal sessions from two watches (janus/web/terminal/watcher.py).
Here the real GrantWatcher watches the real API server through a proxy (tests/faults/apiproxy.py)
that first cuts every connection and refuses new ones, while grants end, and later answers the
watch with 504 "Too large resource version" and 410 Gone, while more grants end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.web.terminal.central import CentralApi
from janus.web.terminal.watcher import GrantWatcher, SessionRegistry
from tests.faults.apiproxy import ApiProxy, WatchFault
from tests.integration.controller_env import create_request, prepare_central

pytestmark = pytest.mark.k8s_real

# A session of a grant that ended while the watch was lost closes within this many seconds of
# the API server being reachable again (the watcher retries every second; measured ~1-2 s).
BOUND_SECONDS = 10.0


@dataclass(eq=False)
class Session:
    """Records how the watcher ended it (the StoppableSession protocol; a terminal's own)."""

    cr_name: str
    ended: list[tuple[str, float]] = field(default_factory=list)

    def stop(self, reason: str, message: str) -> None:
        self.ended.append((reason, time.monotonic()))

    def set_expiry(self, expires_at: dt.datetime | None) -> None:
        pass


def _set_phase(api: Any, janus_ns: str, name: str, phase: str) -> None:
    client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
        {"status": {"phase": phase}})


async def _wait(predicate: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


def test_sessions_of_grants_ended_while_the_watch_was_lost_still_close(
        cluster: LocalCluster, unique_ns: str) -> None:
    """Promise: no access past expiry beyond BOUND_SECONDS after the API server is reachable
    again — a session whose grant expired, was revoked or was deleted while the web app could
    not watch is closed once it can, and one of a grant that ended across a 504/410 answer to
    its watch too. A live grant's session stays open."""
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    grants = {key: create_request(api, janus_ns, cluster="central", namespace=unique_ns)
              for key in ("expired", "revoked", "deleted", "after504", "after410", "live")}
    core = client.CoreV1Api(api)
    for name in grants.values():
        _set_phase(api, janus_ns, name, "Active")
        # A live grant has its token Secret; the watcher ends sessions of grants without one.
        core.create_namespaced_secret(names.TOKENS_NAMESPACE, client.V1Secret(
            metadata=client.V1ObjectMeta(generate_name="faults-token-",
                                         labels={names.LABEL_REQUEST: name})))
    proxy = ApiProxy(cluster).start()
    try:
        asyncio.run(_scenario(api, janus_ns, proxy, grants))
    finally:
        proxy.stop()
        for name in grants.values():
            core.delete_collection_namespaced_secret(
                names.TOKENS_NAMESPACE, label_selector=f"{names.LABEL_REQUEST}={name}")


async def _scenario(api: Any, janus_ns: str, proxy: ApiProxy, grants: dict[str, str]) -> None:
    central = CentralApi(proxy.admin_client().configuration)
    registry = SessionRegistry()
    sessions = {key: Session(name) for key, name in grants.items()}
    for session in sessions.values():
        registry.add(session)
    watcher = GrantWatcher(central, registry, janus_ns=janus_ns, tokens_ns=names.TOKENS_NAMESPACE)
    watcher.start()
    try:
        await asyncio.wait_for(watcher.ready.wait(), 30)

        # 1. The API server is gone for the web app; three grants end meanwhile.
        proxy.go_down()
        await asyncio.sleep(1.5)
        _set_phase(api, janus_ns, grants["expired"], "Expired")
        _set_phase(api, janus_ns, grants["revoked"], "Revoked")
        client.CustomObjectsApi(api).delete_namespaced_custom_object(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, grants["deleted"])
        await asyncio.sleep(2)
        assert not any(sessions[k].ended for k in ("expired", "revoked", "deleted"))
        back = time.monotonic()
        proxy.come_back()
        await _wait(lambda: all(sessions[k].ended for k in ("expired", "revoked", "deleted")),
                    BOUND_SECONDS, "the sessions of grants ended while the watch was lost")
        lateness = max(sessions[k].ended[0][1] - back for k in ("expired", "revoked", "deleted"))
        print(f"[faults] web watch lost: sessions closed {lateness:.2f}s after reconnect")
        assert sessions["expired"].ended[0][0] == "expired"
        assert sessions["revoked"].ended[0][0] == "revoked"
        assert sessions["deleted"].ended[0][0] == "grant-ended"

        # 2. Its next watches are answered 504 "Too large resource version", then 410 Gone.
        for kind in ("event504", "http504", "event410"):
            proxy.add_fault(WatchFault("accessrequests", kind))
        # The open watch ends only at its timeout: cut it so the next one meets the faults.
        proxy.go_down()
        proxy.come_back()
        await _wait(lambda: proxy.injected_count() == 3, 30, "the three faults served")
        _set_phase(api, janus_ns, grants["after504"], "Expired")
        _set_phase(api, janus_ns, grants["after410"], "Revoked")
        await _wait(lambda: sessions["after504"].ended and sessions["after410"].ended,
                    BOUND_SECONDS, "the sessions of grants ended after the 504/410 answers")
        assert not sessions["live"].ended
    finally:
        await watcher.stop()
        await central.aclose()
