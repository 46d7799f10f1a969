"""The keeper's pure part: an AccessRequest as ledger facts (entry, end, path of the end)."""

from __future__ import annotations

from typing import Any

import pytest

from janus import names
from janus.gitops.ledger_keeper import end_of, entry_of
from janus.resource import AccessRequestView

CR = names.access_request_name("prod", "payments", "fix")


def _cr(status: dict[str, Any] | None = None, *, revocation: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None, deleting: bool = False) -> AccessRequestView:
    meta: dict[str, Any] = {"name": CR, "namespace": "janus", "uid": "u1",
                            "resourceVersion": "1", "annotations": annotations or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-30T03:00:00Z"
    spec: dict[str, Any] = {
        "requestName": "fix", "requester": "alice", "cluster": "prod", "namespace": "payments",
        "role": "pod-exec", "duration": "1h", "reason": "INC-1",
        "provenance": {"repo": "acme/access", "pullRequest": 12, "mergeCommit": "a" * 40,
                       "path": "requests/prod/payments/fix.yaml", "blobSha": "b" * 40,
                       "approvers": ["bob"], "mergedBy": "root",
                       "mergedAt": "2026-11-30T01:43:10Z"}}
    if revocation:
        spec["revocation"] = revocation
    return AccessRequestView.from_cr({"apiVersion": "janus.dev/v1alpha1",
                                      "kind": "AccessRequest", "metadata": meta, "spec": spec,
                                      "status": status or {}})


def test_entry_of_a_cr_is_its_merge() -> None:
    e = entry_of(_cr({"phase": "Active", "grantedAt": "2026-11-30T01:43:12Z",
                      "expiresAt": "2026-11-30T02:43:12Z"}))
    assert e is not None
    assert e.path == f"ledger/2026/11/30/20261130T014310Z-pr12-{CR}.yaml"
    assert (e.merge.commit, e.merge.approvers, e.request.blob_sha) == ("a" * 40, ("bob",),
                                                                      "b" * 40)
    assert (e.granted_at, e.expires_at) == ("2026-11-30T01:43:12Z", "2026-11-30T02:43:12Z")


REV = {"by": "root", "reason": "done", "requestedAt": "2026-11-30T02:00:00Z"}


@pytest.mark.parametrize("view, want", [
    (_cr({"phase": "Active"}), None),
    (_cr({"phase": "Approved"}), None),
    (_cr({"phase": "Expired", "expiresAt": "2026-11-30T02:43:12Z"}),
     ("expired", "2026-11-30T02:43:12Z", None, "controller")),
    (_cr({"phase": "Revoked", "revokedAt": "2026-11-30T02:00:01Z", "revokedBy": "root",
          "revokedReason": "done"}, revocation=REV,
         annotations={"janus.dev/revoked-via": "cli"}),
     ("revoked", "2026-11-30T02:00:01Z", "root", "cli")),
    (_cr({"phase": "Revoked", "revokedBy": "janus-reconcile"},
         revocation={**REV, "by": "janus-reconcile"}), ("revoked", "2026-11-30T02:00:00Z",
                                                        "janus-reconcile", "reconcile")),
    (_cr({"phase": "Active"}, deleting=True),
     ("deleted", "2026-11-30T03:00:00Z", None, "kubernetes")),
    (_cr({"phase": "Active"}, revocation=REV, deleting=True,
         annotations={"janus.dev/revoked-via": "web"}),
     ("revoked", "2026-11-30T02:00:00Z", "root", "web")),
])
def test_end_of_each_way_a_grant_ends(view: AccessRequestView, want: Any) -> None:
    end = end_of(view)
    if want is None:
        assert end is None
    else:
        assert end is not None
        assert (end.how, end.at, end.by, end.via) == want


def test_failed_keeps_the_controller_message() -> None:
    end = end_of(_cr({"phase": "Failed", "message": "cluster down"}))
    assert end is not None and (end.how, end.message) == ("failed", "cluster down")
