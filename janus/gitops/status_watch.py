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
from typing import TYPE_CHECKING, Any

from kubernetes import watch
from kubernetes.client.rest import ApiException

from janus import resource
from janus.gitops import comments, render
from janus.gitops.crs import REPORTED_PHASE
from janus.logs import event

if TYPE_CHECKING:
    from janus.gitops.service import GitOps

log = logging.getLogger("janus.gitops.status")

REPORTED = frozenset({"Active", "Expired", "Revoked", "Failed"})
WATCH_SECONDS = 30


def reported_value(cr: dict[str, Any]) -> str | None:
    phase = resource.phase_of(cr)
    if phase not in REPORTED:
        return None
    if phase == "Active":
        return f"Active:{(cr.get('status') or {}).get('expiresAt', '')}"
    return phase


class StatusReporter:
    def __init__(self, ops: GitOps, watch_seconds: int = WATCH_SECONDS) -> None:
        self.ops = ops
        # How long one watch request lasts; also bounds how long stop() takes.
        self.watch_seconds = watch_seconds

    def report(self, cr: dict[str, Any]) -> bool:
        """Post the comment for *cr*'s current phase if not done yet; True when posted."""
        value = reported_value(cr)
        meta = cr.get("metadata") or {}
        if value is None or (meta.get("annotations") or {}).get(REPORTED_PHASE) == value:
            return False
        provenance = (cr.get("spec") or {}).get("provenance") or {}
        number = provenance.get("pullRequest")
        if not number or str(provenance.get("repo", "")).lower() != self.ops.repo_name.lower():
            return False
        pull = self.ops.repo.get_pull(int(number))
        key = f"status:{meta['uid']}:{value}".replace(" ", "")
        outcome = comments.upsert(pull, key, render.status_comment(cr),
                                  author=self.ops.janus_login, edit=False)
        self.ops.crs.set_annotation(meta["name"], REPORTED_PHASE, value,
                                    meta["resourceVersion"])
        event(log, "status.reported", request=meta["name"], phase=resource.phase_of(cr),
              pull=number, comment=outcome)
        return outcome == "created"

    def report_safely(self, cr: dict[str, Any]) -> None:
        try:
            self.report(cr)
        except Exception:  # GitHub down: the next event or relist tries again
            log.exception("status.report_failed", extra={
                "event": "status.report_failed",
                "request": (cr.get("metadata") or {}).get("name"), "fields": {}})

    def run_forever(self, stop: threading.Event) -> None:
        api = self.ops.crs.api
        args = (resource.GROUP, resource.VERSION, self.ops.crs.namespace, resource.PLURAL)
        while not stop.is_set():
            try:
                listing = api.list_namespaced_custom_object(*args)
                for cr in listing.get("items", []):
                    self.report_safely(cr)
                version = listing["metadata"]["resourceVersion"]
                while not stop.is_set():
                    w = watch.Watch()
                    for change in w.stream(api.list_namespaced_custom_object, *args,
                                           resource_version=version,
                                           timeout_seconds=self.watch_seconds):
                        if stop.is_set():
                            w.stop()
                            break
                        obj = change["object"]
                        version = (obj.get("metadata") or {}).get("resourceVersion", version)
                        if change["type"] in ("ADDED", "MODIFIED"):
                            self.report_safely(obj)
            except ApiException as exc:
                if exc.status != 410:  # 410 Gone: our version is too old; relist
                    log.warning("status watch error %s", exc.status)
                    time.sleep(1)
            except Exception:
                log.exception("status.watch_failed", extra={
                    "event": "status.watch_failed", "request": None, "fields": {}})
                time.sleep(1)
