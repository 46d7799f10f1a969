"""What the terminal keeps for the life of the app: central-cluster client, watcher, open
sessions, audit store. Created on startup by the lifespan that `install()` wraps."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

from janus.logs import event
from janus.resource import AccessRequestView, standing
from janus.web import db
from janus.web.settings import WebSettings
from janus.web.terminal.central import CentralApi, load_configuration
from janus.web.terminal.grants import GrantCredentials, pull_request_of, secret_name
from janus.web.terminal.ledger_report import SessionReporter
from janus.web.terminal.session import SessionLimits
from janus.web.terminal.watcher import GrantWatcher, SessionRegistry

log = logging.getLogger("janus.web.terminal")

SHUTDOWN_GRACE_SECONDS = 3.0
RETENTION_SWEEP_SECONDS = 3600.0


class TerminalUnavailable(RuntimeError):
    """The central cluster is not configured or not reachable from this replica."""


@dataclass
class TerminalRuntime:
    settings: WebSettings
    central: CentralApi | None
    registry: SessionRegistry
    watcher: GrantWatcher | None
    store: db.SessionStore
    _retention: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    async def start(cls, settings: WebSettings) -> TerminalRuntime:
        engine = db.make_engine(settings.database_url)
        await asyncio.to_thread(db.create_tables, engine)
        registry = SessionRegistry()
        try:
            central = CentralApi(load_configuration(settings.kubeconfig))
        except Exception as exc:
            # No central cluster (a unit test, a misconfigured kubeconfig): the rest of the web
            # app still serves; terminal routes answer 503 until the app restarts configured.
            event(log, "terminal.unavailable", level=logging.ERROR,
                  error=f"{exc.__class__.__name__}: {exc}"[:300])
            return cls(settings, None, registry, None, db.SessionStore(engine)).with_retention()
        watcher = GrantWatcher(
            central,
            registry,
            janus_ns=settings.janus_namespace,
            tokens_ns=settings.tokens_namespace,
        )
        watcher.start()
        event(log, "terminal.started", database=engine.url.get_backend_name())
        return cls(settings, central, registry, watcher, db.SessionStore(engine)).with_retention()

    def with_retention(self) -> TerminalRuntime:
        """Start the retention sweep (at once, then hourly) unless recordings are kept."""
        if self.settings.recording_retention_days > 0:
            self._retention = asyncio.create_task(self._sweep_forever(), name="retention")
        return self

    async def _sweep_forever(self) -> None:
        keep = dt.timedelta(days=self.settings.recording_retention_days)
        while True:
            try:
                deleted = await asyncio.to_thread(
                    self.store.delete_recordings_before, db.now() - keep
                )
                if deleted:
                    event(log, "terminal.recordings_deleted", count=deleted,
                          retention_days=self.settings.recording_retention_days)
            except Exception as exc:
                # Retried at the next sweep; keeping a recording longer is the safe failure.
                event(log, "terminal.retention_failed", level=logging.WARNING,
                      error=f"{exc.__class__.__name__}: {exc}"[:300])
            await asyncio.sleep(RETENTION_SWEEP_SECONDS)

    async def stop(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
        for cr_name in self.registry.grants():
            self.registry.end_grant(cr_name, "server-shutdown", "The server is shutting down.")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_SECONDS
        # Sessions unregister themselves as they finish; a short poll is enough at shutdown.
        while self.registry.count() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if self.watcher is not None:
            await self.watcher.stop()
        if self.central is not None:
            await self.central.aclose()
        self.store.engine.dispose()

    @property
    def limits(self) -> SessionLimits:
        return SessionLimits(
            idle_timeout_seconds=self.settings.idle_timeout_seconds,
            max_recording_bytes=self.settings.recording_max_bytes,
            record_input=self.settings.record_input,
        )

    @property
    def reporter(self) -> SessionReporter | None:
        """Reports terminal sessions as TerminalSessions for the ledger (docs/design.md §11)."""
        if self.central is None:
            return None
        return SessionReporter(self.central, self.settings.janus_namespace)

    @property
    def available(self) -> bool:
        return self.central is not None

    def _central(self) -> CentralApi:
        if self.central is None:
            raise TerminalUnavailable()
        return self.central

    async def grant(self, cr_name: str) -> AccessRequestView | None:
        return await self._central().get_access_request(self.settings.janus_namespace, cr_name)

    async def sibling_grants(self, grant: AccessRequestView) -> list[AccessRequestView]:
        """The user's usable grants from the same pull request (one tab per namespace)."""
        pull = pull_request_of(grant)
        if pull is None:
            return [grant]
        grants = await self._central().list_access_requests(self.settings.janus_namespace)
        siblings = [
            other
            for other in grants
            if pull_request_of(other) == pull
            and other.belongs_to(grant.requester)
            and (standing.usable(other) or other.name == grant.name)
        ]
        return sorted(siblings, key=lambda g: (g.cluster, g.namespace))

    async def credentials(self, grant: AccessRequestView) -> GrantCredentials | None:
        secret = await self._central().get_secret(
            self.settings.tokens_namespace, secret_name(grant.name)
        )
        if secret is None:
            return None
        credentials = GrantCredentials.from_secret(secret)
        # The Secret must describe this grant; anything else is a mix-up, never used.
        if credentials.namespace != grant.namespace or (
            credentials.cluster and credentials.cluster != grant.cluster
        ):
            event(log, "terminal.secret_mismatch", request=grant.name, level=logging.ERROR)
            return None
        return credentials
