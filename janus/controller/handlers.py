"""kopf wiring: one timer queue for every live AccessRequest, a finalizer, kubeconfig watching.

* ``on_event`` (every watch event of an AccessRequest, the initial listing included) records the
  CR as the watch shows it and schedules a reconcile of it *now*. A terminal or deleted CR is
  forgotten.
* ``Runtime.reconcile`` (run by :class:`~janus.controller.timers.TimerQueue`'s bounded worker
  pool) is one idempotent pass: ``Controller.step`` decides with the pure ``lifecycle.plan`` and
  acts; the pass returns the next instant that matters — ``expiresAt`` for an Active grant, a
  backoff for an unavailable cluster — and the queue sets its timer. There is no polling
  interval: 2,000 grants expiring in the same second are 2,000 heap entries coming due in that
  second, drained by the workers as fast as the API server answers.
* ``Runtime.on_due`` (the queue's hook, the moment a name comes due) starts the RoleBinding
  delete of every grant whose pass would end its access (``Controller.cut_access``: the same
  ``plan`` on the body the pass would use), at the API pool's first priority. The workers are
  fewer than a mass expiry's grants; without this, the grants past the first ``WORKERS`` waited
  for a whole pass (deletes, status write, Event) of an earlier one before their RoleBinding
  delete was even queued. After a restart kopf lists
  every CR, which schedules each one: timers are re-armed from the API server, and an overdue
  grant expires on its first pass.
* kopf puts its finalizer on every non-terminal CR (the ``cleanup`` delete handler requires it);
  ``on_delete`` then removes the grant's objects before the CR may go. A terminal CR has nothing
  left to remove and no finalizer.
* ``kubeconfig_changed`` invalidates the cached client of a target cluster and reschedules the
  grants backing off from it.

One ``asyncio.Lock`` per CR serialises a pass and the finalizer, so a deletion can never race a
grant half-way through; the queue itself never runs two passes of one CR at once.

kopf hands each handler the raw ``body``; it is read once, here at the edge, into an
:class:`~janus.resource.AccessRequestView`, and only the view goes further.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

import kopf

from janus import names, resource
from janus.controller import kube
from janus.controller.peering import PeeringGate
from janus.controller.reconcile import Controller
from janus.controller.timers import TimerQueue
from janus.logs import event
from janus.resource import AccessRequestView

log = logging.getLogger("janus.controller")

BACKOFF_MIN, BACKOFF_MAX = 1.0, 60.0
FINALIZER = "janus.dev/cleanup"  # kopf's finalizer, renamed (see runtime.configure_settings)
ECHO_WAIT = 0.5    # seconds to let the watch show our own write before reading the CR afresh
FINALIZER_WAIT = 10.0  # act without kopf's finalizer if it has not appeared by then
IDLE_RECHECK = 3600.0  # a live grant with nothing due is still looked at once an hour
# Passes in flight. More than the API threads (kube.POOL_SIZE): a pass holds up to three of
# them at once. Not more: each pass in flight holds memory (at 500 grants with 96 threads, 384
# workers peaked at 222 MB RSS, 128 at 173 MB). The workers do not bound how soon access ends:
# with thousands due together, every grant's RoleBinding delete is started by ``on_due`` the
# moment it comes due (the access cut), and the workers do the rest of each pass.
WORKERS = 128
STOP_GRACE = 30.0
PAUSED_RECHECK = 1.0  # paused by peering: look again after this (the gate may lag kopf)


class Runtime:
    """Per-process state shared by the handlers (kept in kopf's memo as ``memo.runtime``).

    Per live CR: the latest body the watch showed, our last write until the watch echoes it,
    the failure count of its backoff. Nothing is kept for a terminal CR.
    """

    def __init__(self, controller: Controller, workers: int = WORKERS) -> None:
        self.controller = controller
        self.queue = TimerQueue(self.reconcile, workers, on_due=self.on_due)
        self.bodies: dict[str, AccessRequestView] = {}
        self.written: dict[str, tuple[AccessRequestView, float]] = {}  # not yet echoed
        self.failures: dict[str, int] = {}
        self.unfinalized: dict[str, float] = {}  # first seen without kopf's finalizer
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.waiting_for_cluster: dict[str, str] = {}  # CR name -> cluster it backs off from
        self.gate: PeeringGate | None = None  # HA only

    def drop_all(self) -> None:
        """Paused by peering: drop every timer; kopf's listing on resume re-arms them."""
        for name in list(self.bodies):
            self.forget(name)

    # ---- what the watch shows -----------------------------------------------------------------

    def observe(self, name: str, cr: AccessRequestView | None) -> None:
        """The watch's view of *name* (None: deleted); schedule a pass if it is live."""
        if cr is None or cr.phase in resource.TERMINAL_PHASES:
            self.forget(name)
            return
        self.bodies[name] = cr
        mine = self.written.get(name)
        if mine is not None and mine[0].resource_version == cr.resource_version:
            del self.written[name]  # the echo of our own write: the watch has caught up
        self.queue.schedule(name)

    def on_due(self, name: str) -> None:
        """*name* came due: if its pass will end access, start the RoleBinding delete now.

        Acts on the body the pass would decide on (:meth:`_current`): not while our own last
        write is unechoed, not before kopf's finalizer, not while peering pauses this replica.
        """
        if self.gate is not None and self.gate.paused:
            return
        cr = self.bodies.get(name)
        if cr is None or name in self.written or FINALIZER not in cr.meta.finalizers:
            return
        self.controller.cut_access(cr)

    def forget(self, name: str) -> None:
        self.controller.forget_cut(name)
        self.queue.forget(name)
        self.bodies.pop(name, None)
        self.written.pop(name, None)
        self.failures.pop(name, None)
        self.unfinalized.pop(name, None)
        self.waiting_for_cluster.pop(name, None)
        lock = self.locks.get(name)
        if lock is not None and not lock.locked():
            del self.locks[name]

    def poke_cluster(self, cluster: str | None) -> None:
        for name, waiting in list(self.waiting_for_cluster.items()):
            if cluster is None or waiting == cluster:
                self.queue.schedule(name)

    # ---- one pass -----------------------------------------------------------------------------

    async def _current(self, name: str) -> tuple[AccessRequestView | None, float | None]:
        """The CR to decide on, or (None, when to look again).

        The watch lags the API server by an event. Resource versions must not be compared for
        order, so: until the watch has shown our last write, wait briefly for the echo (the
        echo itself schedules the pass), and read the CR afresh if it is late.
        """
        cr = self.bodies.get(name)
        mine = self.written.get(name)
        if mine is None:
            return cr, None
        if time.time() - mine[1] < ECHO_WAIT:
            return None, mine[1] + ECHO_WAIT
        del self.written[name]
        fresh = await kube.run(self.controller.crs.find, name)
        if fresh is None:
            self.forget(name)
        return fresh, None

    async def reconcile(self, name: str) -> float | None:
        """One pass over *name*; returns when to run the next one (None: when the watch says)."""
        if self.gate is not None and self.gate.paused:
            return time.time() + PAUSED_RECHECK if name in self.bodies else None
        cr, later = await self._current(name)
        if cr is None:
            return later
        if cr.phase in resource.TERMINAL_PHASES or cr.meta.deleting:
            return None  # terminal: forgotten by observe; deleting: the finalizer's turn
        now = time.time()
        if FINALIZER not in cr.meta.finalizers:
            # kopf adds its finalizer on the first event; acting before that would lose the
            # compare-and-set to kopf's patch. Its echo schedules the pass again.
            since = self.unfinalized.setdefault(name, now)
            if now - since < FINALIZER_WAIT:
                return since + FINALIZER_WAIT
        self.unfinalized.pop(name, None)
        async with self.locks[name]:
            try:
                outcome = await self.controller.step(cr)
            except Exception as exc:  # the central API itself failed: log, back off, retry
                event(log, "grant.error", request=name, error=f"{type(exc).__name__}: "
                      f"{str(exc)[:300]}", level=logging.ERROR)
                outcome = None
        if outcome is not None and outcome.latest is not None:
            if outcome.latest.phase in resource.TERMINAL_PHASES:
                self.forget(name)
                return None
            self.bodies[name] = outcome.latest
            self.written[name] = (outcome.latest, time.time())
        if outcome is not None and outcome.done:
            self.forget(name)
            return None
        if outcome is None or outcome.retry_in is not None:
            failures = self.failures.get(name, 0) + 1
            self.failures[name] = failures
            self.waiting_for_cluster[name] = cr.cluster
            return time.time() + min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (failures - 1))
        self.failures.pop(name, None)
        self.waiting_for_cluster.pop(name, None)
        if outcome.wake_at is None:
            return time.time() + IDLE_RECHECK
        return outcome.wake_at.timestamp()


def _live(body: kopf.Body, **_: Any) -> bool:
    return resource.phase_of(body) not in resource.TERMINAL_PHASES


def _view(body: kopf.Body) -> AccessRequestView:
    """The typed view of kopf's live body, as it is at this instant."""
    return AccessRequestView.from_cr(body)


async def on_event(name: str, body: kopf.Body, type: str | None, memo: kopf.Memo,
                   **_: Any) -> None:
    rt: Runtime = memo.runtime
    # Started here, not at startup: the workers post Events with kopf.info/warn, which need the
    # context kopf gives its handlers (its event queue), and a task copies its creator's.
    rt.queue.start()
    rt.observe(name, None if type == "DELETED" else _view(body))


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
    rt.forget(name)


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

    Everything here is level-based (each pass decides from the whole CR; the finalizer acts on
    deletion, which kopf detects from ``deletionTimestamp``, not from a diff). kopf's default
    storage would still write the annotation once per CR — one extra write and watch event per
    grant, measurable in ``bench/grant.py`` — so it is not stored.
    """

    def fetch(self, *, body: kopf.Body) -> None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        return None


def register(registry: kopf.OperatorRegistry) -> None:
    """Attach the handlers to *registry* (the CLI's, or a test's)."""
    group, version, plural = resource.GROUP, resource.VERSION, resource.PLURAL
    kopf.on.event(group, version, plural, id="poke", registry=registry)(on_event)
    kopf.on.delete(group, version, plural, id="cleanup", when=_live,
                   registry=registry)(on_delete)
    kopf.on.event("", "v1", "secrets", id="kubeconfigs", registry=registry,
                  labels={names.LABEL_CLUSTER: kopf.PRESENT})(kubeconfig_changed)

    @kopf.on.startup(registry=registry)
    async def start_peering_gate(settings: kopf.OperatorSettings, memo: kopf.Memo,
                                 **_: Any) -> None:
        rt: Runtime = memo.runtime
        if settings.peering.standalone or not settings.peering.name:
            return
        rt.gate = PeeringGate(rt.controller.central, rt.controller.namespace,
                              settings.peering.name, settings.peering.priority, rt.drop_all)
        await rt.gate.check(first=True)
        memo.peering_gate = asyncio.get_running_loop().create_task(rt.gate.run())

    @kopf.on.cleanup(registry=registry)
    async def stop_timers(memo: kopf.Memo, **_: Any) -> None:
        # Passes in flight finish (none is abandoned half-way to a concurrent finalizer).
        gate = getattr(memo, "peering_gate", None)
        if gate is not None:
            gate.cancel()
        await memo.runtime.queue.stop(STOP_GRACE)

