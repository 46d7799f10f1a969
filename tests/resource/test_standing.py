"""resource.standing: where a grant stands, as the web pages, the terminal and PR comments say."""

from __future__ import annotations

import datetime as dt
from typing import Any

from janus.resource import AccessRequestView
from janus.resource.standing import in_force, usable, who_revoked, why_revoked

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _view(status: dict[str, Any] | None = None, **spec: Any) -> AccessRequestView:
    return AccessRequestView.from_cr({"metadata": {"name": "x"},
                                      "spec": {"requester": "alice", **spec},
                                      "status": status or {}})


def test_who_and_why_read_the_record_first_then_the_request() -> None:
    assert who_revoked(_view()) is None and why_revoked(_view()) is None
    requested = _view(revocation={"by": "bob", "reason": "done"})
    assert (who_revoked(requested), why_revoked(requested)) == ("bob", "done")
    recorded = _view({"phase": "Revoked", "revokedBy": "carol", "revokedReason": "left"},
                     revocation={"by": "bob", "reason": "done"})
    assert (who_revoked(recorded), why_revoked(recorded)) == ("carol", "left")


def test_in_force_is_live_without_a_pending_revocation() -> None:
    assert in_force(_view()) and in_force(_view({"phase": "Active"}))
    assert not in_force(_view({"phase": "Active"}, revocation={"by": "bob"}))
    for phase in ("Expired", "Revoked", "Failed"):
        assert not in_force(_view({"phase": phase}))


def test_usable_is_active_unrevoked_and_not_past_expiry() -> None:
    later, earlier = "2026-05-01T13:00:00Z", "2026-05-01T11:00:00Z"
    assert usable(_view({"phase": "Active", "expiresAt": later}), NOW)
    assert usable(_view({"phase": "Active"}), NOW)  # no expiry known yet
    assert not usable(_view({"phase": "Active", "expiresAt": earlier}), NOW)
    assert not usable(_view({"phase": "Approved", "expiresAt": later}), NOW)
    assert not usable(_view({"phase": "Active", "expiresAt": later}, revocation={"by": "b"}),
                      NOW)
