"""The world lock: one writer at a time, or any number of readers together.

GitHub answers concurrent requests in parallel; a simulator that answered one at a time would
make every benchmark measure its queue instead of Janus. Reads (REST ``GET``, GraphQL queries)
hold the lock *shared*, so they run together and their git subprocesses overlap; every change
(a REST write, a control call such as ``sim.merge``, a webhook's payload) holds it *exclusive*,
alone, exactly as before. A reader never sees half a write: a push moves the ref, the pull
requests and the outbox under one exclusive hold.

``with world.lock:`` is the exclusive, re-entrant hold every world method already used (an
``RLock`` before). :meth:`WorldLock.shared` is the read hold; it is re-entrant too, and inside an
exclusive hold it simply nests. A thread holding the lock shared that asks for it exclusive is a
read path that writes — the upgrade could deadlock two readers and would let a write run beside
other readers — so it raises :class:`LockUpgradeError` instead of waiting.

Writers are preferred: once one waits, new readers queue behind it, so a stream of reads cannot
starve a merge. :attr:`WorldLock.serial` makes every shared hold exclusive: the simulator of
before, one request at a time (the benchmark's baseline, ``bench/merge.py --sim-serial``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class LockUpgradeError(RuntimeError):
    """A thread holding the world lock shared asked for it exclusive (a read that writes)."""


class WorldLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._writer: int | None = None
        self._depth = 0  # the writer's re-entrant holds
        self._readers: dict[int, int] = {}  # thread -> re-entrant shared holds
        self._writers_waiting = 0
        self.serial = False
        # What the tests look at: the most readers ever inside at once.
        self.max_readers = 0

    # -- exclusive (the RLock interface the world methods use) ----------------------------------

    def acquire(self) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._depth += 1
                return True
            if me in self._readers:
                raise LockUpgradeError("the world lock is held shared by this thread: a read "
                                       "path asked to write")
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._cond:
            if self._writer != threading.get_ident():
                raise RuntimeError("release of a world lock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._writer = None
                self._cond.notify_all()

    def __enter__(self) -> WorldLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def held_exclusive(self) -> bool:
        """Whether this thread holds the lock exclusive."""
        return self._writer == threading.get_ident()

    # -- shared ---------------------------------------------------------------------------------

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock for reading (exclusive when :attr:`serial`, or nested in a write)."""
        me = threading.get_ident()
        if self.serial or self._writer == me:
            with self:
                yield
            return
        with self._cond:
            if me in self._readers:
                self._readers[me] += 1
            else:
                while self._writer is not None or self._writers_waiting:
                    self._cond.wait()
                self._readers[me] = 1
                self.max_readers = max(self.max_readers, len(self._readers))
        try:
            yield
        finally:
            with self._cond:
                self._readers[me] -= 1
                if not self._readers[me]:
                    del self._readers[me]
                    if not self._readers:
                        self._cond.notify_all()
