"""Calling the sync Kubernetes client from kopf's event loop without blocking it.

Every API call of the controller goes through :func:`run`, which hands it to a dedicated thread
pool: kopf's watch streams, daemons and event posting keep running while a call waits on the
network. The pool is sized for bursts (hundreds of grants applied at once), and each ApiClient's
connection pool is sized to match (see ``clusters.py``), so threads never queue on sockets.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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

_executor: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="janus-kube")
    return _executor


async def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the blocking call ``fn(*args, **kwargs)`` in the pool and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor(), functools.partial(fn, *args, **kwargs))


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
