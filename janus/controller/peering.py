"""Whether kopf's peering has paused this replica, for the timer queue (HA only).

kopf pauses a replica when a live peer of higher priority (or a second one of equal priority)
is registered in the KopfPeering object: it stops the watch streams and its own daemons, and
re-lists everything on resume. The timer queue (:mod:`janus.controller.timers`) is Janus's own,
so kopf cannot stop it: :class:`PeeringGate` reads the same object every second, applies kopf's
rule (:func:`paused`), and on pause the queue drops its timers — kopf's listing on resume
re-arms them. Between kopf's pause and the gate's next read (≤ ``INTERVAL``) a pass may still
run on both replicas; every step is idempotent and every status write a compare-and-set.

No identity is needed: priorities are random per process (``runtime.default_priority``), so
two live entries with this replica's priority mean a tie — one of them is this replica.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client

from janus.controller import kube
from janus.logs import event

log = logging.getLogger("janus.controller")

INTERVAL = 1.0
DEFAULT_LIFETIME = 60  # kopf's default peer lifetime (seconds)


def _live(info: Mapping[str, Any], now: dt.datetime) -> bool:
    seen = info.get("lastseen")
    if not seen:
        return True
    try:
        last = dt.datetime.fromisoformat(str(seen))
    except ValueError:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return last + dt.timedelta(seconds=int(info.get("lifetime", DEFAULT_LIFETIME))) > now


def paused(peers: Mapping[str, Any], priority: int, now: dt.datetime) -> bool:
    """kopf's rule: a live peer of higher priority, or two live peers of ours (a tie)."""
    live = [info for info in peers.values() if isinstance(info, Mapping) and _live(info, now)]
    higher = any(int(info.get("priority", 0)) > priority for info in live)
    same = sum(1 for info in live if int(info.get("priority", 0)) == priority)
    return higher or same >= 2


class PeeringGate:
    def __init__(self, api: Any, namespace: str, name: str, priority: int,
                 on_pause: Callable[[], None]) -> None:
        self._api, self._namespace, self._name = api, namespace, name
        self._priority = priority
        self._on_pause = on_pause
        # Closed until the first read: kopf may hand events to a replica before it has seen
        # the peering object, and a standby must not act on them.
        self.paused = True

    def _read(self) -> Mapping[str, Any]:
        obj = client.CustomObjectsApi(self._api).get_namespaced_custom_object(
            "kopf.dev", "v1", self._namespace, "kopfpeerings", self._name,
            _request_timeout=kube.REQUEST_TIMEOUT)
        status = obj.get("status") if isinstance(obj, dict) else None
        return status if isinstance(status, dict) else {}

    async def check(self, *, first: bool = False) -> None:
        """Read the peering object once and open or close the gate."""
        try:
            peers = await kube.run(self._read)
        except Exception as exc:  # keep the last answer (closed at first); retried
            event(log, "controller.peering_unreadable", peering=self._name,
                  error=f"{type(exc).__name__}: {str(exc)[:200]}", level=logging.WARNING)
            return
        was, self.paused = self.paused, paused(peers, self._priority, dt.datetime.now(dt.UTC))
        if self.paused and (first or not was):
            event(log, "controller.paused", peering=self._name)
            self._on_pause()
        elif was and not self.paused and not first:
            event(log, "controller.resumed", peering=self._name)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self.check()
