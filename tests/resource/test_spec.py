"""resource.spec: the spec the receiver writes reads back through the view unchanged."""

from __future__ import annotations

import datetime as dt

from janus.resource import AccessRequestView, Provenance
from janus.resource.spec import extension_changes, grant_spec, provenance_spec

PROVENANCE = Provenance(repo="acme/access", pull_request=7, merge_commit="a" * 40,
                        path="requests/prod/payments/fix.yaml", blob_sha="b" * 40,
                        approvers=("bob", "carol"), merged_by="root",
                        merged_at=dt.datetime(2026, 5, 1, 12, 0, 0, 900, tzinfo=dt.UTC))


def _spec(ticket: str | None = "INC-1") -> dict:
    return grant_spec(request_name="fix", requester="alice", cluster="prod",
                      namespace="payments", role="pod-exec", duration="2h",
                      reason="incident", ticket=ticket, provenance=PROVENANCE)


def test_provenance_spec_is_the_crd_shape() -> None:
    assert provenance_spec(PROVENANCE) == {
        "repo": "acme/access", "pullRequest": 7, "mergeCommit": "a" * 40,
        "path": "requests/prod/payments/fix.yaml", "blobSha": "b" * 40,
        "approvers": ["bob", "carol"], "mergedBy": "root", "mergedAt": "2026-05-01T12:00:00Z",
    }
    unknown = Provenance(repo="acme/access", pull_request=7, merge_commit="a" * 40)
    assert "mergedBy" not in provenance_spec(unknown)
    assert "mergedAt" not in provenance_spec(unknown)


def test_grant_spec_round_trips_through_the_view() -> None:
    view = AccessRequestView.from_cr({"metadata": {"name": "x"}, "spec": _spec()})
    assert (view.request_name, view.requester, view.cluster, view.namespace, view.role,
            view.duration, view.reason, view.ticket) == (
        "fix", "alice", "prod", "payments", "pod-exec", "2h", "incident", "INC-1")
    assert view.provenance == Provenance(**{**vars(PROVENANCE),
                                            "merged_at": dt.datetime(2026, 5, 1, 12, 0, 0,
                                                                     tzinfo=dt.UTC)})
    assert "ticket" not in _spec(ticket=None)


def test_an_extension_patches_only_what_may_change_and_drops_a_ticket_no_longer_given() -> None:
    changes = extension_changes(_spec(ticket=None))
    assert set(changes) == {"duration", "reason", "ticket", "provenance"}
    assert changes["ticket"] is None  # merge patch: removes the old ticket
    assert changes["duration"] == "2h"
