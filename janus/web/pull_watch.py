"""Request PRs on the live pages: one poll of GitHub per replica, shared by all its browsers.

GitHub tells the receiver about pull requests, not the web app, and the two talk only through
the Kubernetes and GitHub APIs (docs/architecture.md); an AccessRequest exists only after the
merge. So each web replica asks GitHub itself: one list of the access repository's open pull
requests every ``POLL_SECONDS`` with the app's own token, and only while at least one page of
this replica listens to the event stream (never one poll per browser). A change is announced on
the stream as a ``pulls`` event that carries nothing: the pages re-read their lists with the
user's own rights (janus.web.terminal.live, static/js/live.js). A PR the web app opened itself
is announced at once (:meth:`PullWatch.poke`).

A change is a PR opened or no longer open (merged, closed), a new head commit, or a new
``updated_at`` (GitHub moves it on reviews and comments; the receiver's plan comment follows its
check run). ``updated_at`` counts whole seconds, so two changes in one second look like one: a
PR updated within ``RECENT_SLACK_SECONDS`` of the previous poll is announced once more, and the
second change is not missed. The first poll of a (re)started watch announces PRs updated just
before it started, since a page may have been rendered before them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from janus.logs import event

log = logging.getLogger("janus.web.pull_watch")

POLL_SECONDS = 3.0
# With no page listening for this long the poll stops (a page reconnects its stream every
# 20 s; the watch outlives that gap instead of restarting with a fresh baseline each time).
LINGER_SECONDS = 30.0
RECENT_SLACK_SECONDS = 2.0
FIRST_LOOKBACK_SECONDS = 10.0


@dataclass(frozen=True)
class PullMark:
    """What one open PR looks like in the list: enough to tell that it changed."""

    number: int
    head_sha: str
    updated_at: dt.datetime | None


def changed(previous: Iterable[PullMark] | None, now: Iterable[PullMark],
            since: float) -> bool:
    """Whether the pages should re-read: the open PRs differ from *previous*, or one of them
    was updated at or after *since* (epoch seconds; see the module docstring)."""
    current = frozenset(now)
    if previous is not None and current != frozenset(previous):
        return True
    return any(m.updated_at is not None and m.updated_at.timestamp() >= since for m in current)


class PullWatch:
    """The poll of one replica. ``list_open`` lists the open PRs (blocking, run in a thread),
    ``announce`` tells this replica's streams, ``listeners`` counts them."""

    def __init__(
        self,
        list_open: Callable[[], list[PullMark]],
        announce: Callable[[], None],
        listeners: Callable[[], int],
        *,
        interval: float = POLL_SECONDS,
        linger: float = LINGER_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._list_open = list_open
        self._announce = announce
        self._listeners = listeners
        self.interval = interval
        self.linger = linger
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.polls = 0          # tests and logs: how often GitHub was asked
        self.announced = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """A page started listening (on the event loop): poll unless already polling."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="pull-watch")

    def poke(self) -> None:
        """This replica opened a PR (from a worker thread or the loop): announce it now."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._tell)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _tell(self) -> None:
        self.announced += 1
        self._announce()

    async def _run(self) -> None:
        previous: frozenset[PullMark] | None = None
        since = self._clock() - FIRST_LOOKBACK_SECONDS
        idle_since: float | None = None
        failing = False
        while True:
            if self._listeners() > 0:
                idle_since = None
            else:
                idle_since = idle_since if idle_since is not None else self._clock()
                if self._clock() - idle_since >= self.linger:
                    return
            started = self._clock()
            try:
                marks = frozenset(await asyncio.to_thread(self._list_open))
            except Exception as exc:
                # Said once per failing streak; the pages still re-read on reconnect.
                if not failing:
                    event(log, "pulls.watch_failed", level=logging.WARNING,
                          error=f"{exc.__class__.__name__}: {exc}"[:300])
                failing = True
            else:
                failing = False
                self.polls += 1
                if changed(previous, marks, since):
                    self._tell()
                previous = marks
                since = started - RECENT_SLACK_SECONDS
            await asyncio.sleep(self.interval)
