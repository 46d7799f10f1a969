"""Status write-back: a PR comment for each AccessRequest transition (granted with its expiry,
expired, revoked, failed), from a Kubernetes watch in the receiver process.

Idempotent twice over: what was reported is remembered on the CR as the annotation
``janus.dev/reported-phase`` (``Active:<expiresAt>`` for a grant, so an extension is reported
too), and each comment carries a marker ``status:<cr uid>:<value>``, so a crash between the
comment and the annotation, a second receiver replica or a relist never posts twice.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from janus.gitops import comments, render
from janus.gitops.crs import REPORTED_PHASE
from janus.gitops.ratelimit import classify
from janus.logs import event
from janus.resource import AccessRequestError, AccessRequestView

if TYPE_CHECKING:
    from janus.gitops.service import GitOps

log = logging.getLogger("janus.gitops.status")

REPORTED = frozenset({"Active", "Expired", "Revoked", "Failed"})
WATCH_SECONDS = 30
# Events that carry the CR's current state (a DELETED CR has nothing left to report).
_CURRENT = frozenset({"LISTED", "ADDED", "MODIFIED"})


def reported_value(cr: AccessRequestView) -> str | None:
    if cr.phase not in REPORTED:
        return None
    if cr.phase == "Active":
        return f"Active:{cr.expires_at_text}"
    return cr.phase


class StatusReporter:
    def __init__(self, ops: GitOps, watch_seconds: int = WATCH_SECONDS) -> None:
        self.ops = ops
        # How long one watch request lasts; also bounds how long stop() takes.
        self.watch_seconds = watch_seconds

    def report(self, cr: AccessRequestView) -> bool:
        """Post the comment for *cr*'s current phase if not done yet; True when posted."""
        value = reported_value(cr)
        if value is None or cr.meta.annotations.get(REPORTED_PHASE) == value:
            return False
        provenance = cr.provenance
        if (provenance is None or not provenance.pull_request
                or provenance.repo.lower() != self.ops.repo_name.lower()):
            return False
        number = provenance.pull_request
        pull = self.ops.repo.get_pull(number)
        key = f"status:{cr.meta.uid}:{value}".replace(" ", "")
        outcome = comments.upsert(pull, key, render.status_comment(cr),
                                  author=self.ops.janus_login, edit=False)
        self.ops.crs.set_annotation(cr.name, REPORTED_PHASE, value, cr.resource_version)
        event(log, "status.reported", request=cr.name, phase=cr.phase, pull=number,
              comment=outcome)
        return outcome == "created"

    def report_safely(self, cr: AccessRequestView) -> None:
        limits = self.ops.rate_limits
        if limits.paused_for() > 0:
            return  # GitHub asked us to wait: the first relist after the limit reports it
        try:
            self.report(cr)
        except Exception as exc:  # GitHub down: the next event or relist tries again
            limited = classify(exc)
            if limited is not None:
                limits.record(limited, "status")
                return
            log.exception("status.report_failed", extra={
                "event": "status.report_failed", "request": cr.name, "fields": {}})

    def run_forever(self, stop: threading.Event) -> None:
        """Report every AccessRequest listed or changed until *stop* is set; the client's watch
        lists again by itself after a 410 Gone, and this loop resumes after any other error."""
        while not stop.is_set():
            try:
                for change in self.ops.crs.client.watch(stop=stop,
                                                        timeout_seconds=self.watch_seconds):
                    if change.type in _CURRENT:
                        self.report_safely(change.view)
            except AccessRequestError as exc:
                log.warning("status watch error %s", exc.status)
                time.sleep(1)
            except Exception:
                log.exception("status.watch_failed", extra={
                    "event": "status.watch_failed", "request": None, "fields": {}})
                time.sleep(1)
