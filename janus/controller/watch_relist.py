"""Every kopf watch re-lists on 410 Gone *and* on 504 "Too large resource version".

kopf (1.45) restarts a watch-stream with a fresh listing when the API server answers 410 Gone,
but treats any other ERROR event as fatal: ``WatchingError`` ends the watcher task for good, and
kopf never spawns it again. The API server's watch cache answers a watch from a resourceVersion
it has not caught up with yet (a listing served by etcd is newer than the cache, common under
load) with an ERROR 504 "Too large resource version". Without this module one such answer stops
the controller from ever seeing a new, changed or deleted AccessRequest again (live grants keep
their daemons; nothing new is granted and revocations are missed) — the failure
tests/faults/test_watch_relist.py forces through a proxy.

:func:`install` wraps kopf's ``watch_objs`` (the one call each watch request goes through) so
that a 504 "Too large resource version" — as an ERROR event, or as the HTTP status of the watch
request — and an HTTP 410 reach kopf as the ERROR 410 it already handles by listing again; and
its ``continuous_watch`` (list, then watch) so that a listing still answered 410/504 after
kopf's own retries (``error_backoffs``, ~54 s) starts over instead of ending the watcher.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from janus.logs import event

log = logging.getLogger("janus.controller")

GONE: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "Expired", "code": 410,
                        "message": "re-list (Janus: 410 Gone or 504 Too large resource version)"}


def is_relist(code: object, message: object) -> bool:
    """410 Gone, or 504 whose message says the resource version is too large."""
    return code == 410 or (code == 504 and "too large resource version" in str(message).lower())


def _relist_event(code: object, message: object) -> dict[str, Any]:
    event(log, "controller.watch_relist", level=logging.WARNING, code=code,
          message=str(message)[:200])
    return {"type": "ERROR", "object": dict(GONE)}


def wrap(watch_objs: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    """*watch_objs* with 504 "Too large resource version" and HTTP 410 turned into ERROR 410."""
    from kopf._cogs.clients import errors

    async def relisting_watch_objs(**kwargs: Any) -> AsyncIterator[Any]:
        try:
            async for raw in watch_objs(**kwargs):
                obj = raw.get("object") if isinstance(raw, dict) else None
                if raw.get("type") == "ERROR" and isinstance(obj, dict) \
                        and obj.get("code") != 410 \
                        and is_relist(obj.get("code"), obj.get("message")):
                    yield _relist_event(obj.get("code"), obj.get("message"))
                    return
                yield raw
        except errors.APIError as exc:
            message = f"{exc.message or ''} {exc}"
            if not is_relist(exc.status, message):
                raise
            yield _relist_event(exc.status, message)

    relisting_watch_objs.__wrapped__ = watch_objs  # type: ignore[attr-defined]
    return relisting_watch_objs


def wrap_continuous(continuous_watch: Callable[..., AsyncIterator[Any]]
                    ) -> Callable[..., AsyncIterator[Any]]:
    """*continuous_watch* ending quietly on a 410/504-too-large API error (kopf's infinite
    watch then lists and watches again) instead of raising it out of the watcher task."""
    from kopf._cogs.clients import errors

    async def relisting_continuous_watch(**kwargs: Any) -> AsyncIterator[Any]:
        try:
            async for raw in continuous_watch(**kwargs):
                yield raw
        except errors.APIError as exc:
            message = f"{exc.message or ''} {exc}"
            if not is_relist(exc.status, message):
                raise
            _relist_event(exc.status, message)  # logged; the infinite watch starts over

    relisting_continuous_watch.__wrapped__ = continuous_watch  # type: ignore[attr-defined]
    return relisting_continuous_watch


def install() -> None:
    """Wrap kopf's ``watch_objs`` and ``continuous_watch`` once (idempotent)."""
    from kopf._cogs.clients import watching

    if not hasattr(watching.watch_objs, "__wrapped__"):
        watching.watch_objs = wrap(watching.watch_objs)
    if not hasattr(watching.continuous_watch, "__wrapped__"):
        watching.continuous_watch = wrap_continuous(watching.continuous_watch)
