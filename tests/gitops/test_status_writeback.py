"""Status write-back: one PR comment per AccessRequest transition, never two.

The phases are written here through the real API server's status subresource, as the
controller would; the whole-path test in tests/e2e runs the real controller.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from kubernetes import client

from janus import names, resource
from janus.gitops.crs import REPORTED_PHASE, AccessRequests
from janus.gitops.status_watch import StatusReporter
from tests.gitops import harness
from tests.gitops.harness import cr_name, granted_request

pytestmark = pytest.mark.k8s_real


def _set_status(kube, name: str, status: dict) -> None:
    client.CustomObjectsApi(kube).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, name,
        {"status": status}, _content_type="application/merge-patch+json")


def _status_comments(bed, number: int) -> list[str]:
    return [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:status:" in b]


def _wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_each_transition_is_reported_once(bed, gitops, kube) -> None:
    name, number = granted_request(bed, gitops)
    crs = AccessRequests(kube)
    reporter = StatusReporter(gitops)
    assert not reporter.report(crs.get(cr_name(name)))  # Approved: nothing to say yet
    _set_status(kube, cr_name(name), {"phase": "Active", "grantedAt": "2026-11-27T05:00:00Z",
                                      "expiresAt": "2026-11-27T06:00:00Z"})
    assert reporter.report(crs.get(cr_name(name)))
    assert not reporter.report(crs.get(cr_name(name)))  # annotation remembers
    cr = crs.get(cr_name(name))
    assert cr.meta.annotations[REPORTED_PHASE] == "Active:2026-11-27T06:00:00Z"
    # A crash between comment and annotation: the marker still prevents a second comment.
    unannotated = {k: v for k, v in cr.meta.annotations.items() if k != REPORTED_PHASE}
    assert not reporter.report(replace(cr, meta=replace(cr.meta, annotations=unannotated)))
    _set_status(kube, cr_name(name), {"phase": "Expired"})
    assert reporter.report(crs.get(cr_name(name)))
    bodies = _status_comments(bed, number)
    assert len(bodies) == 2
    assert "Access granted" in bodies[0] and "2026-11-27T06:00:00Z" in bodies[0]
    assert "Access expired" in bodies[1]


def test_the_watch_reports_revoked_and_failed(bed, gitops, kube) -> None:
    first, first_pr = granted_request(bed, gitops)
    second, second_pr = granted_request(bed, gitops)
    stop = threading.Event()
    reporter = StatusReporter(gitops, watch_seconds=2)
    thread = threading.Thread(target=reporter.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        _set_status(kube, cr_name(first), {"phase": "Revoked", "revokedBy": "alice",
                                           "revokedReason": "done"})
        _set_status(kube, cr_name(second), {"phase": "Failed", "message": "cluster down"})
        assert _wait_for(lambda: len(_status_comments(bed, first_pr)) == 1)
        assert _wait_for(lambda: len(_status_comments(bed, second_pr)) == 1)
    finally:
        stop.set()
        thread.join(WATCH_JOIN)
    assert "Access revoked" in _status_comments(bed, first_pr)[0]
    assert "alice: done" in _status_comments(bed, first_pr)[0]
    assert "cluster down" in _status_comments(bed, second_pr)[0]


WATCH_JOIN = 10
