"""Terminal sessions reported for the ledger, as TerminalSession resources (docs/design.md §11).

When a shell opens the web app creates a TerminalSession (which grant and ledger entry, who,
which pod and container, when); when it closes it writes the session's status once (when, why,
bytes in/out, size and SHA-256 of the stored recording). The receiver puts them into the grant's
ledger entry in git. The web identity may only create TerminalSessions and write their status:
reporting gives it no power over grants or git.

A report that cannot be written is logged (``terminal.report_failed``, ERROR); the
session itself is not refused for it — its recording is in the web app's database either way,
and the report is retried once at close.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from janus import names
from janus.logs import event
from janus.resource import AccessRequestView, sessions
from janus.web.terminal.central import CentralApi

log = logging.getLogger("janus.web.terminal")

# A report that fails must never take the session down with it: whatever it raised is logged.
_ERRORS = (Exception,)


@dataclass
class SessionReport:
    """One session's TerminalSession: its name once created (None when creating failed)."""

    reporter: SessionReporter
    planned: str
    body: dict[str, object]
    name: str | None = None

    async def closed(self, *, reason: str, bytes_in: int, bytes_out: int,
                     recording_size: int | None, recording_sha256: str | None) -> None:
        status = sessions.closed_status(
            closed_at=dt.datetime.now(dt.UTC), reason=reason, bytes_in=bytes_in,
            bytes_out=bytes_out, recording_size=recording_size,
            recording_sha256=recording_sha256)
        central, ns = self.reporter.central, self.reporter.namespace
        if self.name is None:  # the open report failed: try once more, now
            try:
                await central.create_terminal_session(ns, self.body)
                self.name = self.planned
            except _ERRORS as exc:
                self.reporter.failed("create", self.body, exc)
                return
        try:
            await central.close_terminal_session(ns, self.name, status)
        except _ERRORS as exc:
            self.reporter.failed("close", self.body, exc)


@dataclass
class SessionReporter:
    central: CentralApi
    namespace: str

    async def opened(self, grant: AccessRequestView, *, session_id: int, user: str, pod: str,
                     container: str) -> SessionReport:
        name = sessions.session_name(grant.name, str(session_id), secrets.token_hex(3))
        body = sessions.opened_body(
            name=name,
            namespace=self.namespace, access_request=grant.name,
            ledger_entry=grant.meta.annotations.get(names.ANNOTATION_LEDGER_ENTRY, ""),
            session_id=str(session_id), user=user, cluster=grant.cluster,
            target_namespace=grant.namespace, pod=pod, container=container,
            opened_at=dt.datetime.now(dt.UTC))
        try:
            await self.central.create_terminal_session(self.namespace, body)
        except _ERRORS as exc:
            self.failed("create", body, exc)
            return SessionReport(self, name, body)
        return SessionReport(self, name, body, name)

    def failed(self, step: str, body: dict[str, object], exc: BaseException) -> None:
        spec = body.get("spec") or {}
        event(log, "terminal.report_failed", level=logging.ERROR, step=step,
              request=spec.get("accessRequest") if isinstance(spec, dict) else None,
              session=spec.get("sessionId") if isinstance(spec, dict) else None,
              error=f"{exc.__class__.__name__}: {exc}"[:300])
