"""The Markdown Janus posts: what each comment says, and that it is built from specs only."""

from __future__ import annotations

from janus.gitops import render
from janus.gitops.comments import marker, markers_in
from janus.resource import AccessRequestView


def _cr(phase: str, **status) -> AccessRequestView:
    return AccessRequestView.from_cr({
        "metadata": {"name": "prod-payments-alice-x-1234abcd"},
        "spec": {"requester": "alice", "cluster": "prod", "namespace": "payments",
                 "role": "pod-exec", "duration": "1h",
                 "revocation": {"by": "root", "reason": "done"}},
        "status": {"phase": phase, **status}})


def test_status_comments_name_the_transition() -> None:
    active = render.status_comment(_cr("Active", expiresAt="2026-11-27T06:00:00Z"))
    assert "Access granted" in active and "2026-11-27T06:00:00Z" in active
    assert "prod/payments" in active
    assert "Access expired" in render.status_comment(_cr("Expired"))
    revoked = render.status_comment(_cr("Revoked"))
    assert "Access revoked" in revoked and "root: done" in revoked
    failed = render.status_comment(_cr("Failed", message="cluster prod unreachable"))
    assert "Grant failed" in failed and "unreachable" in failed


def test_status_comment_never_shows_status_fields_beyond_the_known_ones() -> None:
    cr = _cr("Active", expiresAt="2026-11-27T06:00:00Z", token="eyJhbGciOi.secret.value")
    assert "eyJ" not in render.status_comment(cr)


def test_refusal_names_the_step_and_lists_details() -> None:
    body = render.merge_comment("a" * 40, [], ("approvals", "not enough valid approvals",
                                               ["`f.yaml`: 0 of 1 required approvals"]))
    assert "nothing granted for merge `aaaaaaaaaaaa`" in body
    assert "**`approvals`**" in body and "0 of 1" in body


def test_partial_outcome_lists_revocations_and_the_refused_grant() -> None:
    body = render.merge_comment("b" * 40, [("requests/prod/p/x.yaml", "cr-x", "revoked")],
                                ("approvals", "not enough valid approvals", []))
    assert "cr-x`: revoked" in body and "No grant from this PR" in body


def test_markers_round_trip() -> None:
    text = f"{marker('plan')}\nbody\n{marker('status:uid:Active')}"
    assert markers_in(text) == ["plan", "status:uid:Active"]
