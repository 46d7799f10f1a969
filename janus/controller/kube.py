"""Calling the sync Kubernetes client from kopf's event loop without blocking it.

Every API call of the controller goes through :func:`run` (or :func:`run_at`), which hands it to
a dedicated thread pool: kopf's watch streams, the timer queue and event posting keep running
while a call waits on the network. The pool is sized for bursts (hundreds of grants applied at
once), and each ApiClient's connection pool is sized to match (see ``clusters.py``), so threads
never queue on sockets.

The pool serves waiting calls by **priority**, then in arrival order: with thousands of grants
expiring in the same second, every RoleBinding delete (the call that ends access, :data:`ACCESS`)
is served before the ServiceAccount and Secret deletes (:data:`CLEANUP`), and those before the
status writes, reads and grants (:data:`NORMAL`). A FIFO pool served them interleaved across
grants, so the last grants' RoleBindings waited behind the first grants' status writes
(docs/development.md, "Grant and expire").

After the RoleBinding tier, a pass that ends access runs in a **lane** (:func:`lane`): every
call of that pass — the ServiceAccount and Secret deletes, the compare-and-set status write, a
re-read after a conflict — is served at :data:`CLEANUP` in the order the passes began, so the
first grant due is finished (phase Expired) before a later grant's deletes are served. Without
it a mass expiry's status writes waited, at :data:`NORMAL`, behind every SA/Secret delete still
queued, so grants were recorded Expired only once the deletes had drained (the API calls per
expiry are the same either way: bench/grant.py counts them).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import heapq
import itertools
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from kubernetes.client import V1ObjectMeta
from kubernetes.client.rest import ApiException

from janus.resource import errors

T = TypeVar("T")

# As many calls in flight as the benchmarks' bare floor makes (32 threads, each deleting a grant's
# three objects at once). With 32, a mass expiry's deletes and status writes shared 32 threads
# and the controller trailed the floor (docs/development.md, scale curve).
POOL_SIZE = 96
# (connect, read) seconds: an unreachable target cluster must fail fast into the retry path
# instead of pinning a thread for minutes.
REQUEST_TIMEOUT = (3.0, 15.0)

ACCESS, CLEANUP, NORMAL = 0, 1, 2  # lower is served first

_Item = tuple[int, int, int, "Future[Any]", "Callable[[], Any]"]

# The lane of the current pass (its rank among passes that end access), or None.
_lane: contextvars.ContextVar[int | None] = contextvars.ContextVar("janus_kube_lane",
                                                                   default=None)
_lanes = itertools.count(1)


@contextlib.contextmanager
def lane() -> Iterator[None]:
    """Serve every call made inside (this task and the tasks it starts) at :data:`CLEANUP`,
    after the calls of passes that entered a lane earlier (the module docstring says why).
    :data:`ACCESS` calls keep their tier."""
    token = _lane.set(next(_lanes))
    try:
        yield
    finally:
        _lane.reset(token)


class PriorityPool:
    """*threads* threads taking the waiting call of the lowest (priority, rank), FIFO within one.

    Threads start on demand (as ThreadPoolExecutor's do) and are daemons: a call in flight when
    the process exits is abandoned like a dropped connection, and every step it belongs to is
    idempotent. A call whose future was cancelled before a thread took it is skipped."""

    def __init__(self, threads: int, name: str = "janus-kube") -> None:
        self._max, self._name = threads, name
        # The waiting calls in a heap under one lock; each call also puts one token on a C
        # SimpleQueue, on which idle threads block. A thread that takes a token pops the lowest
        # call at that moment. (queue.PriorityQueue's pure-Python Condition cost ~25% more per
        # call than ThreadPoolExecutor's SimpleQueue in a 96-thread micro-benchmark of 1,600
        # short calls; this design costs the same as the executor.)
        self._heap: list[_Item] = []
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, priority: int, fn: Callable[[], T], rank: int = 0) -> Future[T]:
        future: Future[T] = Future()
        start = ""
        with self._lock:
            heapq.heappush(self._heap, (priority, rank, next(self._seq), future, fn))
            if self._idle > 0:
                self._idle -= 1  # an idle thread takes it
            elif self._threads < self._max:
                self._threads += 1
                start = f"{self._name}-{self._threads}"
        self._tokens.put(None)
        if start:
            threading.Thread(target=self._serve, daemon=True, name=start).start()
        return future

    def waiting(self) -> int:
        with self._lock:
            return len(self._heap)

    def _serve(self) -> None:
        while True:
            self._tokens.get()
            with self._lock:  # one token per call: the heap is not empty
                _, _, _, future, fn = heapq.heappop(self._heap)
            if not future.set_running_or_notify_cancel():
                with self._lock:
                    self._idle += 1
                continue
            error: BaseException | None = None
            result: Any = None
            try:
                result = fn()
            except BaseException as exc:  # handed to the awaiting coroutine
                error = exc
            # Idle again before the caller hears back: its next call reuses this thread.
            with self._lock:
                self._idle += 1
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)


_pool: PriorityPool | None = None


def pool() -> PriorityPool:
    global _pool
    if _pool is None:
        _pool = PriorityPool(POOL_SIZE)
    return _pool


async def run_at(priority: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the blocking call ``fn(*args, **kwargs)`` in the pool at *priority* (inside a
    :func:`lane`: at the lane's place in :data:`CLEANUP`, unless *priority* is ACCESS) and await
    it."""
    rank = _lane.get()
    if rank is not None and priority != ACCESS:
        priority = CLEANUP
    future = pool().submit(priority, functools.partial(fn, *args, **kwargs), rank or 0)
    return await asyncio.wrap_future(future)


async def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the blocking call ``fn(*args, **kwargs)`` in the pool (:data:`NORMAL`) and await it."""
    return await run_at(NORMAL, fn, *args, **kwargs)


class Returned(Protocol):
    """An object the API server returned (a Secret, a RoleBinding, …)."""

    @property
    def metadata(self) -> V1ObjectMeta | None: ...


def name_of(obj: Returned) -> str:
    """``metadata.name`` of an object the API server returned. The server always sets it; the
    client types every field as optional, so a missing one is an error here, not a None later."""
    name = obj.metadata.name if obj.metadata is not None else None
    if not name:
        raise ValueError(f"the API server returned a {type(obj).__name__} without a name")
    return name


def namespace_of(obj: Returned) -> str | None:
    """``metadata.namespace`` of an object the API server returned (None: cluster-scoped)."""
    return obj.metadata.namespace if obj.metadata is not None else None


class Listing(Protocol):
    """A list the API server returned (a V1SecretList, a V1RoleBindingList, …)."""

    @property
    def items(self) -> Sequence[Returned]: ...


def status_of(exc: BaseException) -> int | None:
    return exc.status if isinstance(exc, ApiException) else None


def ignore(statuses: tuple[int, ...], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call *fn*; an ApiException with one of *statuses* (404 on delete, 409 on create) is
    success for an idempotent step and returns None."""
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status in statuses:
            return None
        raise


def reason_of(exc: ApiException) -> str:
    """The API server's short ``reason``/``message`` without echoing request bodies."""
    return errors.reason_of(exc)
