"""The admin view marks break-glass grants and shows their review's state (janus.web.admin_view
.break_glass), without a cluster; the page itself on a real grant: tests/gitops/test_break_glass.py
writes the annotation the view reads."""

from __future__ import annotations

from typing import Any

from janus import names
from janus.resource import AccessRequestView
from janus.web.admin_view import break_glass

PROVENANCE = {"repo": "acme/access", "pullRequest": 7, "mergeCommit": "a" * 40,
              "path": "requests/prod/payments/x.yaml"}


def _view(labels: dict[str, str], annotations: dict[str, str] | None = None,
          provenance: dict[str, Any] | None = None) -> AccessRequestView:
    spec: dict[str, Any] = {"requester": "alice", "cluster": "prod", "namespace": "payments"}
    if provenance:
        spec["provenance"] = provenance
    return AccessRequestView.from_cr({
        "metadata": {"name": "x", "labels": labels, "annotations": annotations or {}},
        "spec": spec, "status": {"phase": "Active"}})


def test_a_normal_grant_is_not_marked() -> None:
    assert break_glass(_view({}, provenance=PROVENANCE)) is None
    assert break_glass(_view({names.LABEL_BREAK_GLASS: "false"}, provenance=PROVENANCE)) is None


def test_break_glass_grants_show_their_review_state() -> None:
    glass = {names.LABEL_BREAK_GLASS: "true"}
    assert break_glass(_view(glass, provenance=PROVENANCE)) == "BREAK-GLASS, no approval"
    overdue = {names.ANNOTATION_BREAK_GLASS_REVIEW: "overdue: review #12, due 2026-01-01T00:00Z"}
    assert break_glass(_view(glass, overdue, PROVENANCE)) == \
        "BREAK-GLASS, no approval; overdue: review #12, due 2026-01-01T00:00Z"
    assert "cluster admin" in (break_glass(_view(glass)) or "")  # the outage path
