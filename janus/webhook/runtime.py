"""The receiver process assembled: HTTP front door, delivery store, workers, periodic reconcile
and the status watch, with one start/stop. ``janus webhook`` runs it; the end-to-end tests and
the benchmark run it in-process on a loopback port."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn

from janus.gitops.reconcile import Reconciler, run_forever
from janus.gitops.service import GitOps
from janus.gitops.status_watch import StatusReporter
from janus.logs import event, uvicorn_log_config
from janus.notify import NotifyConfig
from janus.resource import readiness
from janus.webhook.app import DEFAULT_MAX_BODY, create_app, metrics_app
from janus.webhook.dispatch import dispatch
from janus.webhook.store import KEEP_DAYS, KEEP_MAX, LEASE_SECONDS, DeliveryStore
from janus.webhook.worker import WorkerPool

log = logging.getLogger("janus.webhook")


@dataclass(frozen=True)
class ReceiverSettings:
    secret: bytes
    # A SQLite file (one replica), or a database URL (postgresql+psycopg://…) several share.
    db_path: Path | str
    host: str = "127.0.0.1"
    port: int = 8081
    workers: int = 2
    reconcile_interval: float = 60.0  # 0: reconcile only on a push to the default branch
    status_watch: bool = True
    status_watch_seconds: int = 30  # one watch request; bounds how long stop() waits
    max_body: int = DEFAULT_MAX_BODY
    # Prometheus /metrics on a port of its own (None: not served); never on the public port.
    metrics_port: int | None = None
    # Finished deliveries are kept this long, and at most this many (the store would grow forever).
    keep_deliveries_seconds: float = KEEP_DAYS * 86400
    keep_deliveries_max: int = KEEP_MAX
    prune_interval: float = 3600.0
    # How long a claimed delivery stays this replica's without renewal (renewed every third).
    lease_seconds: float = LEASE_SECONDS
    # Notifications (issue 14, docs/notifications.md): sent from an outbox in the same database.
    notifications: NotifyConfig | None = None


def _ready_checks(ops: GitOps) -> dict[str, readiness.Check]:
    """The receiver is ready when it can also write AccessRequests: the API server answers."""
    api_client = getattr(ops.crs, "api_client", None)
    return {"api_server": readiness.api_server(api_client)} if api_client is not None else {}


class Receiver:
    def __init__(self, ops: GitOps, settings: ReceiverSettings) -> None:
        self.ops = ops
        self.settings = settings
        self.store = DeliveryStore(settings.db_path, lease_seconds=settings.lease_seconds)
        self.pool = WorkerPool(self.store, partial(dispatch, ops), workers=settings.workers,
                               rate_limits=ops.rate_limits)
        self.app = create_app(settings.secret, self.store, on_stored=self.pool.wake,
                              max_body=settings.max_body, counters=ops.counters,
                              ready_checks=_ready_checks(ops),
                              ready_detail=ops.rate_limits.detail)
        self.reconciler = Reconciler(ops)
        if settings.notifications is not None:
            from janus.notify import build as build_notifier

            ops.notifier = build_notifier(settings.notifications, settings.db_path,
                                          crs=getattr(ops.crs, "client", None),
                                          lease_seconds=settings.lease_seconds,
                                          count=ops.counters.inc)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: uvicorn.Server | None = None
        self._metrics_server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{_bound_url(self._server)}/webhooks/github"

    @property
    def metrics_url(self) -> str | None:
        """``http://host:port`` of the metrics port, or None when metrics are not served."""
        return None if self._metrics_server is None else _bound_url(self._metrics_server)

    def start(self) -> Receiver:
        self.pool.start()
        self.ops.notifier.start()
        # Always running: with an interval of 0 it reconciles only when a push asks for it.
        self._spawn("janus-reconcile", run_forever, self.reconciler,
                    self.settings.reconcile_interval or None, self._stop)
        if self.settings.status_watch:
            reporter = StatusReporter(self.ops, self.settings.status_watch_seconds)
            self._spawn("janus-status", reporter.run_forever, self._stop)
        if self.ops.ledger is not None:  # issue 10: every grant's start and end in git
            from janus.gitops.ledger_keeper import run_watch

            self.ops.ledger.writer.rate_limits = self.ops.rate_limits
            self._spawn("janus-ledger", self.ops.ledger.writer.run_forever, self._stop)
            self._spawn("janus-ledger-watch", run_watch, self.ops.ledger, self._stop,
                        self.settings.status_watch_seconds)
            # The web app's terminal session reports (TerminalSessions) into the entries.
            from janus.gitops import session_recorder

            self._spawn("janus-ledger-sessions", session_recorder.run,
                        session_recorder.build(self.ops.ledger), self._stop,
                        self.settings.status_watch_seconds)
        self._spawn("janus-prune", self._prune_forever)
        self._spawn("janus-leases", self._renew_leases_forever)
        self._server = self._serve("janus-http", self.app, self.settings.port)
        if self.settings.metrics_port is not None:
            self._metrics_server = self._serve(
                "janus-metrics", metrics_app(self.ops.counters), self.settings.metrics_port)
        event(log, "webhook.started", url=self.url, repo=self.ops.repo_name,
              metrics=self.metrics_url)
        return self

    def _prune_forever(self) -> None:
        """Prune finished deliveries at start-up, then every ``prune_interval`` seconds."""
        while not self._stop.is_set():
            try:
                pruned = self.store.prune(keep_seconds=self.settings.keep_deliveries_seconds,
                                          max_finished=self.settings.keep_deliveries_max)
            except Exception as exc:  # a locked/closing database: try again next time
                event(log, "webhook.prune_failed", level=logging.WARNING, error=str(exc))
            else:
                if pruned:
                    event(log, "webhook.deliveries_pruned", count=pruned)
            self._stop.wait(self.settings.prune_interval)

    def _renew_leases_forever(self) -> None:
        """Keep the deliveries in hand this replica's: renew their leases every third of the
        lease, so only a replica that stopped renewing (dead, frozen) loses them."""
        while not self._stop.wait(self.settings.lease_seconds / 3):
            try:
                self.store.renew_leases()
            except Exception as exc:  # the database away for a moment: next round
                event(log, "webhook.lease_renewal_failed", level=logging.WARNING, error=str(exc))

    def _serve(self, name: str, app: Callable[..., Any], port: int) -> uvicorn.Server:
        config = uvicorn.Config(app, host=self.settings.host, port=port,
                                log_level="warning", access_log=False, lifespan="off",
                                log_config=uvicorn_log_config("WARNING"))
        server = uvicorn.Server(config)
        self._spawn(name, server.run)
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the webhook receiver's {name} server did not start listening")
            time.sleep(0.02)
        return server

    def _spawn(self, name: str, target: Callable[..., object], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def serve_forever(self) -> None:
        try:
            while all(t.is_alive() for t in self._threads if t.name == "janus-http"):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        self.ops.reconcile_requested.set()  # wake the reconcile loop so it sees the stop
        for server in (self._server, self._metrics_server):
            if server is not None:
                server.should_exit = True
        self.pool.stop()
        self.ops.notifier.stop()
        for thread in self._threads:
            # The reconcile and status loops only do idempotent work and are daemon threads: a
            # watch request in flight is not worth waiting for. The HTTP server drains quickly.
            thread.join(timeout=10 if thread.name in ("janus-http", "janus-metrics") else 2)
        try:  # what the workers did not finish is the other replicas' now, not after the lease
            self.store.release_held()
        except Exception as exc:  # the database away: the leases run out instead
            event(log, "webhook.release_failed", level=logging.WARNING, error=str(exc))
        self.store.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bound_url(server: uvicorn.Server) -> str:
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"
