"""Every replica watches the grants itself and ends its own terminal sessions.

Two watches on the central cluster, no message bus between replicas:

* token Secrets in `janus-tokens` with the `janus.dev/request` label (metadata only): a deleted
  Secret means the grant is gone — close its sessions;
* AccessRequest CRs in the Janus namespace: a revocation request, a final phase (Revoked,
  Expired, Failed) or a deleted CR closes its sessions; a new ``expiresAt`` (an extension) moves
  the sessions' deadline.

Watch events arrive within milliseconds of the change, which is what makes the one-second
revocation bound hold. After any reconnect the watcher lists again and closes sessions whose
grant vanished while it was not watching, so a missed DELETED event cannot leave one open.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Protocol

from janus import names, resource
from janus.logs import event
from janus.resource import AccessRequestView
from janus.web import metrics
from janus.web.terminal.central import CentralApi, WatchExpired
from janus.web.terminal.live import GrantFeed, ending_of

log = logging.getLogger("janus.web.terminal")

RETRY_SECONDS = 1.0


class StoppableSession(Protocol):
    cr_name: str

    def stop(self, reason: str, message: str) -> None: ...

    def set_expiry(self, expires_at: dt.datetime | None) -> None: ...


class SessionRegistry:
    """The open sessions of this replica, by grant."""

    def __init__(self) -> None:
        self._by_grant: dict[str, set[StoppableSession]] = defaultdict(set)

    def add(self, session: StoppableSession) -> None:
        if session not in self._by_grant[session.cr_name]:
            metrics.SESSIONS_OPEN.inc()
        self._by_grant[session.cr_name].add(session)

    def remove(self, session: StoppableSession) -> None:
        sessions = self._by_grant.get(session.cr_name)
        if sessions is not None:
            if session in sessions:
                metrics.SESSIONS_OPEN.dec()
            sessions.discard(session)
            if not sessions:
                del self._by_grant[session.cr_name]

    def grants(self) -> set[str]:
        return set(self._by_grant)

    def count(self) -> int:
        return sum(len(s) for s in self._by_grant.values())

    def end_grant(self, cr_name: str, reason: str, message: str) -> None:
        sessions = list(self._by_grant.get(cr_name, ()))
        if sessions:
            event(log, "terminal.grant_ended", request=cr_name, reason=reason,
                  sessions=len(sessions))
        for session in sessions:
            session.stop(reason, message)

    def set_expiry(self, cr_name: str, expires_at: dt.datetime | None) -> None:
        for session in list(self._by_grant.get(cr_name, ())):
            session.set_expiry(expires_at)


def _end_reason(grant: AccessRequestView) -> tuple[str, str]:
    if grant.revocation_requested or grant.phase == "Revoked":
        # Who and why, as the pages say it (janus.web.terminal.live.ending_of).
        ending = ending_of(grant)
        return "revoked", "The grant was revoked." + (f" {ending.text}" if ending else "")
    if grant.phase == "Expired":
        return "expired", "The grant expired."
    return "grant-ended", f"The grant is {grant.phase}."


class GrantWatcher:
    def __init__(
        self, central: CentralApi, registry: SessionRegistry, *, janus_ns: str, tokens_ns: str
    ) -> None:
        self.central = central
        self.registry = registry
        self.janus_ns = janus_ns
        self.tokens_ns = tokens_ns
        self._tasks: list[asyncio.Task[None]] = []
        # Set once both watches have listed and are watching (tests and readiness use it).
        self.ready = asyncio.Event()
        self._ready_parts: set[str] = set()
        # The same AccessRequest events, for the live pages (janus.web.terminal.live).
        self.feed = GrantFeed()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run("secrets", self._secrets_once), name="watch-secrets"),
            asyncio.create_task(self._run("grants", self._grants_once), name="watch-grants"),
        ]

    async def stop(self) -> None:
        self.feed.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _mark_ready(self, part: str) -> None:
        self._ready_parts.add(part)
        if self._ready_parts >= {"secrets", "grants"}:
            self.ready.set()

    async def _run(self, part: str, once: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await once()
            except asyncio.CancelledError:
                raise
            except WatchExpired:
                continue
            except Exception as exc:
                event(log, "terminal.watch_failed", level=logging.WARNING, watch=part,
                      error=f"{exc.__class__.__name__}: {exc}"[:300])
                await asyncio.sleep(RETRY_SECONDS)

    # ---- token Secrets ----------------------------------------------------------------------

    async def _secrets_once(self) -> None:
        path = f"/api/v1/namespaces/{self.tokens_ns}/secrets"
        items, version = await self.central.list_objects(
            path, names.LABEL_REQUEST, metadata_only=True
        )
        present = {
            (item["metadata"].get("labels") or {}).get(names.LABEL_REQUEST) for item in items
        }
        for cr_name in self.registry.grants() - present:
            self.registry.end_grant(cr_name, "grant-ended", "The grant's token was removed.")
        self._mark_ready("secrets")
        while True:
            async for kind, obj in self.central.watch(
                path, version, label_selector=names.LABEL_REQUEST, metadata_only=True
            ):
                meta = obj.get("metadata") or {}
                version = meta.get("resourceVersion") or version
                if kind == "DELETED":
                    token_of = (meta.get("labels") or {}).get(names.LABEL_REQUEST)
                    if token_of:
                        self.registry.end_grant(
                            token_of, "grant-ended", "The grant's token was removed."
                        )

    # ---- AccessRequest CRs ------------------------------------------------------------------

    async def _grants_once(self) -> None:
        path = (f"/apis/{resource.GROUP}/{resource.VERSION}/namespaces/{self.janus_ns}/"
                f"{resource.PLURAL}")
        crs, version = await self.central.list_objects(path)
        by_name = {grant.name: grant for grant in map(AccessRequestView.from_cr, crs)}
        for listed in by_name.values():
            self.feed.remember(listed)
        for cr_name in self.registry.grants():
            grant = by_name.get(cr_name)
            if grant is None:
                self.registry.end_grant(cr_name, "grant-ended", "The grant no longer exists.")
            else:
                self._apply(grant)
        self._mark_ready("grants")
        while True:
            async for kind, obj in self.central.watch(path, version):
                grant = AccessRequestView.from_cr(obj)
                version = grant.resource_version or version
                if kind == "BOOKMARK":
                    continue
                if kind == "DELETED":
                    self.registry.end_grant(
                        grant.name, "grant-ended", "The grant no longer exists."
                    )
                else:
                    self._apply(grant)
                self.feed.publish(grant, deleted=kind == "DELETED")

    def _apply(self, grant: AccessRequestView) -> None:
        if grant.ended:
            reason, message = _end_reason(grant)
            self.registry.end_grant(grant.name, reason, message)
        else:
            self.registry.set_expiry(grant.name, grant.expires_at)
