"""kopf wiring: one daemon per live AccessRequest, a finalizer, kubeconfig Secret watching.

* ``grant_lifecycle`` (daemon, only for non-terminal CRs): loops ``Controller.step`` and sleeps
  exactly until the next instant that matters — ``expiresAt`` for an Active grant, a backoff for
  an unavailable cluster — or until ``poke`` wakes it because the CR changed. There is no polling
  interval: 200 grants expiring in the same second are 200 timers firing in that second. After a
  restart kopf resumes a daemon per live CR, and an overdue one expires on its first pass.
* kopf puts its finalizer on every CR that has a daemon (non-terminal ones); ``on_delete`` then
  removes the grant's objects before the CR may go. A terminal CR has nothing left to remove and
  no finalizer.
* ``kubeconfig_changed`` invalidates the cached client of a target cluster and wakes the grants
  waiting for it.

One ``asyncio.Lock`` per CR serialises the daemon's pass and the finalizer, so a deletion can
never race a grant half-way through.

kopf hands each handler the raw ``body``; it is read once, here at the edge, into an
:class:`~janus.resource.AccessRequestView`, and only the view goes further.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from typing import Any

import kopf

from janus import names, resource
from janus.controller import kube
from janus.controller.reconcile import Controller
from janus.logs import event
from janus.resource import AccessRequestView, timefmt

log = logging.getLogger("janus.controller")

BACKOFF_MIN, BACKOFF_MAX = 1.0, 60.0
FINALIZER = "janus.dev/cleanup"  # kopf's finalizer, renamed (see runtime.configure_settings)
ECHO_WAIT = 0.5  # seconds to wait for the watch to show our own write


class Runtime:
    """Per-process state shared by the handlers (kept in kopf's memo as ``memo.runtime``)."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.pokes: dict[str, asyncio.Event] = {}
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.waiting_for_cluster: dict[str, str] = {}  # CR name -> cluster it backs off from

    def poke(self, name: str) -> None:
        wake = self.pokes.get(name)
        if wake is not None:
            wake.set()

    def poke_cluster(self, cluster: str | None) -> None:
        for name, waiting in list(self.waiting_for_cluster.items()):
            if cluster is None or waiting == cluster:
                self.poke(name)


def _live(body: kopf.Body, **_: Any) -> bool:
    return resource.phase_of(body) not in resource.TERMINAL_PHASES


async def _sleep(seconds: float, wake: asyncio.Event, stopped: Any) -> None:
    if seconds <= 0:
        return
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _view(body: kopf.Body) -> AccessRequestView:
    """The typed view of kopf's live body, as it is at this instant."""
    return AccessRequestView.from_cr(body)


async def _current(rt: Runtime, name: str, body: kopf.Body, wake: asyncio.Event, stopped: Any,
                   latest: AccessRequestView | None, echoed: bool,
                   ) -> tuple[AccessRequestView | None, bool]:
    """The CR to decide on, and whether the watch has shown our last write yet.

    kopf's live body lags the API server by one watch event. Resource versions must not be
    compared for order, so: once the live body has equalled our last write, anything different
    is newer (use it); before that, wait briefly for the echo, and read fresh if it is late.
    """
    for _ in range(2):
        cr = _view(body)
        if latest is None or echoed:
            return cr, echoed
        if cr.resource_version == latest.resource_version:
            return cr, True
        wake.clear()
        await _sleep(ECHO_WAIT, wake, stopped)
    fresh = await kube.run(rt.controller.crs.find, name)
    return fresh, True


async def grant_lifecycle(name: str, body: kopf.Body, stopped: Any, memo: kopf.Memo,
                          **_: Any) -> None:
    rt: Runtime = memo.runtime
    wake = rt.pokes.setdefault(name, asyncio.Event())
    failures = 0
    latest: AccessRequestView | None = None
    echoed = False
    try:
        # kopf starts the daemon while its own finalizer patch is still in flight; acting on
        # that older body would only lose the compare-and-set. Wait for the finalizer's echo.
        for _attempt in range(20):
            if FINALIZER in _view(body).meta.finalizers or stopped:
                break
            wake.clear()
            await _sleep(ECHO_WAIT, wake, stopped)
        while not stopped:
            wake.clear()  # before reading: a change arriving after this wakes the next sleep
            cr, echoed = await _current(rt, name, body, wake, stopped, latest, echoed)
            if cr is None:
                return
            async with rt.locks[name]:
                if stopped or cr.meta.deleting:
                    return
                try:
                    outcome = await rt.controller.step(cr)
                except Exception as exc:  # the central API itself failed: log, back off, retry
                    event(log, "grant.error", request=name, error=f"{type(exc).__name__}: "
                          f"{str(exc)[:300]}", level=logging.ERROR)
                    outcome = None
            if outcome is not None and outcome.latest is not None:
                latest, echoed = outcome.latest, False
            if outcome is not None and outcome.done:
                rt.locks.pop(name, None)  # terminal: no finalizer, nothing left to serialise
                return
            if outcome is None or outcome.retry_in is not None:
                failures += 1
                delay = min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (failures - 1))
                rt.waiting_for_cluster[name] = cr.cluster
            else:
                failures = 0
                rt.waiting_for_cluster.pop(name, None)
                wake_at = outcome.wake_at or (timefmt.now() + dt.timedelta(hours=1))
                delay = (wake_at - timefmt.now()).total_seconds()
            await _sleep(delay, wake, stopped)
    finally:
        rt.waiting_for_cluster.pop(name, None)
        if rt.pokes.get(name) is wake:
            del rt.pokes[name]


async def on_event(name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.poke(name)


async def on_delete(name: str, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    rt: Runtime = memo.runtime
    cr = _view(body)
    async with rt.locks[name]:
        try:
            await rt.controller.remove_for_deletion(cr)
        except Exception as exc:
            event(log, "grant.delete_blocked", request=name,
                  error=f"{type(exc).__name__}: {str(exc)[:300]}", level=logging.WARNING)
            raise kopf.TemporaryError(f"cleanup not finished: {str(exc)[:300]}", delay=5) \
                from None
    rt.locks.pop(name, None)


async def kubeconfig_changed(name: str, namespace: str | None, labels: Any, memo: kopf.Memo,
                             type: str, **_: Any) -> None:
    rt: Runtime = memo.runtime
    # kopf passes type None (despite its annotation) for the initial listing: not a change.
    if namespace != rt.controller.namespace or not type:
        return  # only the Janus namespace holds cluster kubeconfigs
    cluster = labels.get(names.LABEL_CLUSTER)
    rt.controller.registry.invalidate(cluster)
    event(log, "cluster.kubeconfig_changed", cluster=cluster, secret=name, change=type)
    rt.poke_cluster(cluster)


class NoDiffBase(kopf.DiffBaseStorage):
    """No "last-handled-configuration": this operator has no change-detection handlers.

    Everything here is level-based (the daemon re-reads the CR; the finalizer acts on deletion,
    which kopf detects from ``deletionTimestamp``, not from a diff). kopf's default storage
    would still write the annotation once per CR — one extra write and watch event per grant,
    measurable in ``bench/grant.py`` — so it is not stored.
    """

    def fetch(self, *, body: kopf.Body) -> None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        return None


def register(registry: kopf.OperatorRegistry) -> None:
    """Attach the handlers to *registry* (the CLI's, or a test's)."""
    group, version, plural = resource.GROUP, resource.VERSION, resource.PLURAL
    # Graceful stop first (the daemon checks `stopped` between steps and never abandons a
    # half-done step to a concurrent finalizer); forced cancellation only after that.
    kopf.daemon(group, version, plural, id="grant-lifecycle", when=_live, registry=registry,
                cancellation_backoff=30.0, cancellation_timeout=30.0)(grant_lifecycle)
    kopf.on.event(group, version, plural, id="poke", registry=registry)(on_event)
    kopf.on.delete(group, version, plural, id="cleanup", when=_live,
                   registry=registry)(on_delete)
    kopf.on.event("", "v1", "secrets", id="kubeconfigs", registry=registry,
                  labels={names.LABEL_CLUSTER: kopf.PRESENT})(kubeconfig_changed)

