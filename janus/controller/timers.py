"""One timer queue for every live grant: a heap of due times, drained by a bounded worker pool.

Replaces one kopf daemon per AccessRequest (a task, a stopper and kopf's per-daemon state each,
60–90 KB a grant, 403 MB at 5,000 grants; ``bench/scale.py``). Here a grant is a name and a due
time:

* :meth:`TimerQueue.schedule` ``(name, when)`` keeps the *earliest* due time of a name; a later
  one never postpones an earlier one (stale entries are skipped when popped — the pass they
  trigger is idempotent and finds nothing to do);
* one dispatcher sleeps until the earliest due time (or until something earlier is scheduled)
  and hands due names to ``workers`` tasks;
* a name is never worked on by two workers at once: scheduled while it is being worked on, it
  runs again right after (client-go's workqueue rule), so no change is lost;
* the work function returns when the name wants to run next (``None``: not until something
  schedules it);
* an optional ``on_due`` callback sees each name the moment it comes due, before it waits for a
  worker: with thousands due in the same second, the workers take them in turn, but what must
  not wait (the controller's RoleBinding delete, :meth:`Controller.cut_access
  <janus.controller.reconcile.Controller.cut_access>`) starts at once. It must not block.

Times are wall-clock seconds (``time.time()``), like ``expiresAt``; the dispatcher never sleeps
longer than :data:`MAX_SLEEP`, so a clock step is noticed within that.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable

MAX_SLEEP = 30.0
RETRY_AFTER_CRASH = 5.0

Work = Callable[[str], Awaitable[float | None]]
OnDue = Callable[[str], None]


class TimerQueue:
    def __init__(self, work: Work, workers: int, on_due: OnDue | None = None) -> None:
        self._work = work
        self._on_due = on_due
        self._workers = workers
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._seq = itertools.count()
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()     # in _ready, not yet taken
        self._running: set[str] = set()
        self._busy: dict[str, asyncio.Task[None]] = {}  # name -> the worker on it
        self._again: set[str] = set()      # scheduled while running: run once more after
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # ---- scheduling ---------------------------------------------------------------------------

    def schedule(self, name: str, when: float | None = None) -> None:
        """Run *name* at *when* (default: now), unless it is already due earlier."""
        when = time.time() if when is None else when
        current = self._due.get(name)
        if current is not None and current <= when:
            return
        self._due[name] = when
        heapq.heappush(self._heap, (when, next(self._seq), name))
        if self._heap[0][2] == name:
            self._changed.set()

    def forget(self, name: str) -> None:
        """Drop *name*'s pending timer (its heap entry is skipped when it comes up)."""
        self._due.pop(name, None)

    def pending(self) -> int:
        """Names with a timer (live grants waiting for their next instant)."""
        return len(self._due)

    def busy(self) -> int:
        return len(self._running) + len(self._queued)

    # ---- running ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the dispatcher and the workers (once; later calls do nothing)."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._dispatch(), name="janus-timers")]
        self._tasks += [loop.create_task(self._worker(), name=f"janus-worker-{i}")
                        for i in range(self._workers)]

    async def stop(self, grace: float) -> None:
        """Stop taking work; let passes in flight finish (up to *grace* seconds), then cancel."""
        self._stopping = True
        self._changed.set()
        busy = set(self._busy.values())
        for task in self._tasks:
            if task not in busy:
                task.cancel()  # idle (waiting for a name): nothing half-done
        if busy:
            await asyncio.wait(busy, timeout=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _release(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            when, _, name = heapq.heappop(self._heap)
            if self._due.get(name) != when:
                continue  # superseded by an earlier schedule, or forgotten
            del self._due[name]
            if name in self._running:
                self._again.add(name)
            elif name not in self._queued:
                if self._on_due is not None:
                    with contextlib.suppress(Exception):  # a head start only: the pass runs
                        self._on_due(name)
                self._queued.add(name)
                self._ready.put_nowait(name)

    async def _dispatch(self) -> None:
        while not self._stopping:
            self._changed.clear()
            now = time.time()
            self._release(now)
            delay = MAX_SLEEP if not self._heap else min(MAX_SLEEP, self._heap[0][0] - now)
            if delay > 0:
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=delay)
                except TimeoutError:
                    pass

    async def _worker(self) -> None:
        while not self._stopping:
            name = await self._ready.get()
            self._queued.discard(name)
            if self._stopping:
                return
            self._running.add(name)
            current = asyncio.current_task()
            if current is not None:
                self._busy[name] = current
            try:
                again_at = await self._work(name)
            except Exception:  # the work function handles its errors; never lose the name
                again_at = time.time() + RETRY_AFTER_CRASH
            finally:
                self._running.discard(name)
                self._busy.pop(name, None)
            if name in self._again:
                self._again.discard(name)
                self.schedule(name)
            elif again_at is not None:
                self.schedule(name, again_at)
