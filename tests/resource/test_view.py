"""AccessRequestView.from_cr: every field typed, and tolerant of what a listing may contain."""

from __future__ import annotations

import datetime as dt

import pytest

from janus.resource import AccessRequestView, phase_of
from janus.resource.view import Condition

UTC = dt.UTC

FULL = {
    "apiVersion": "janus.dev/v1alpha1",
    "kind": "AccessRequest",
    "metadata": {
        "name": "prod-payments-fix-1a2b3c4d", "namespace": "janus", "uid": "u-1",
        "resourceVersion": "42", "generation": 3,
        "creationTimestamp": "2026-05-01T11:59:58Z",
        "deletionTimestamp": "2026-05-01T13:00:00Z",
        "finalizers": ["janus.dev/cleanup"],
        "labels": {"janus.dev/cluster": "prod"},
        "annotations": {"janus.dev/reported-phase": "Active:2026-05-01T14:00:00Z"},
    },
    "spec": {
        "requestName": "fix", "requester": "Alice", "cluster": "prod",
        "namespace": "payments", "role": "pod-exec", "duration": "2h",
        "reason": "incident", "ticket": "INC-1",
        "provenance": {
            "repo": "acme/access", "pullRequest": 7, "mergeCommit": "abc", "path": "r/fix.yaml",
            "blobSha": "def", "approvers": ["bob", "carol"], "mergedBy": "bob",
            "mergedAt": "2026-05-01T11:59:00Z",
        },
        "revocation": {"by": "bob", "reason": "done", "requestedAt": "2026-05-01T12:30:00Z"},
    },
    "status": {
        "phase": "Active", "grantedAt": "2026-05-01T12:00:00Z",
        "expiresAt": "2026-05-01T14:00:00Z", "revokedAt": "2026-05-01T12:31:00Z",
        "revokedBy": "bob", "revokedReason": "done", "message": "granted",
        "observedGeneration": 3,
        "objects": {"serviceAccount": "janus-alice-1", "roleBinding": "janus-alice-1",
                    "tokenSecret": "janus-token-x"},
        "conditions": [{"type": "Granted", "status": "True", "reason": "Active",
                        "message": "until", "lastTransitionTime": "2026-05-01T12:00:00Z"}],
    },
}


def test_every_field_is_read_and_typed() -> None:
    v = AccessRequestView.from_cr(FULL)
    assert (v.name, v.meta.namespace, v.meta.uid, v.resource_version) == (
        "prod-payments-fix-1a2b3c4d", "janus", "u-1", "42")
    assert v.meta.generation == 3
    assert v.meta.created_at == dt.datetime(2026, 5, 1, 11, 59, 58, tzinfo=UTC)
    assert v.meta.deleting and v.meta.finalizers == ("janus.dev/cleanup",)
    assert v.meta.labels["janus.dev/cluster"] == "prod"
    assert (v.request_name, v.requester, v.cluster, v.namespace, v.role) == (
        "fix", "Alice", "prod", "payments", "pod-exec")
    assert (v.duration, v.reason, v.ticket) == ("2h", "incident", "INC-1")
    assert v.provenance is not None
    assert v.provenance.repo == "acme/access" and v.pull_request == 7
    assert v.provenance.approvers == ("bob", "carol")
    assert v.provenance.merged_at == dt.datetime(2026, 5, 1, 11, 59, tzinfo=UTC)
    assert v.revocation is not None and v.revocation.by == "bob"
    assert v.revocation.requested_at == dt.datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    assert v.revocation_requested and v.ended and not v.terminal and v.live
    assert v.phase == "Active"
    assert v.granted_at == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert v.expires_at == dt.datetime(2026, 5, 1, 14, tzinfo=UTC)
    assert v.expires_at_text == "2026-05-01T14:00:00Z"
    assert (v.revoked_by, v.revoked_reason, v.message) == ("bob", "done", "granted")
    assert v.observed_generation == 3
    assert v.objects.service_account == "janus-alice-1"
    assert v.objects.token_secret == "janus-token-x"
    assert v.conditions == (Condition("Granted", "True", "Active", "until",
                                      "2026-05-01T12:00:00Z"),)
    assert v.condition("Granted") is not None and v.condition("Nope") is None
    assert v.belongs_to("alice") and not v.belongs_to("") and not v.belongs_to("bob")
    assert v.object_reference() == {
        "apiVersion": "janus.dev/v1alpha1", "kind": "AccessRequest",
        "metadata": {"name": "prod-payments-fix-1a2b3c4d", "namespace": "janus", "uid": "u-1"}}


def test_the_view_is_frozen() -> None:
    v = AccessRequestView.from_cr(FULL)
    with pytest.raises(AttributeError):
        v.phase = "Expired"  # type: ignore[misc]


def test_an_empty_object_reads_as_a_fresh_approved_request() -> None:
    v = AccessRequestView.from_cr({})
    assert v.name == "" and v.requester == "" and v.ticket is None
    assert v.phase == "Approved" and v.live and not v.ended
    assert v.provenance is None and v.revocation is None and v.pull_request is None
    assert v.granted_at is None and v.expires_at is None and v.conditions == ()
    assert v.kind == "AccessRequest" and v.api_version == "janus.dev/v1alpha1"


@pytest.mark.parametrize("cr", [
    {"metadata": "x", "spec": ["a"], "status": "broken"},
    {"metadata": None, "spec": None, "status": None},
    {"spec": {"provenance": "nope", "revocation": {}}, "status": {"conditions": "nope"}},
    {"status": {"conditions": ["junk", None, {"type": "Granted"}], "objects": [1]}},
])
def test_malformed_containers_never_raise(cr: dict) -> None:
    v = AccessRequestView.from_cr(cr)
    assert v.phase == "Approved"
    assert v.revocation is None  # {} is "no revocation", as every reader treated it


def test_malformed_values_read_as_unknown() -> None:
    v = AccessRequestView.from_cr({
        "metadata": {"name": "n", "generation": "three", "creationTimestamp": "yesterday",
                     "finalizers": "one", "labels": ["x"]},
        "spec": {"requester": 12, "duration": 5, "ticket": "",
                 "provenance": {"pullRequest": "abc", "approvers": "bob", "mergedAt": 7}},
        "status": {"phase": "Active", "grantedAt": "not a time", "expiresAt": 1234,
                   "observedGeneration": None},
    })
    assert v.meta.generation is None and v.meta.created_at is None
    assert v.meta.finalizers == () and v.meta.labels == {}
    assert v.requester == "12" and v.duration == "5" and v.ticket is None
    assert v.provenance is not None and v.pull_request is None
    assert v.provenance.approvers == () and v.provenance.merged_at is None
    assert v.granted_at is None and v.expires_at is None and v.observed_generation is None


def test_a_non_mapping_revocation_still_revokes() -> None:
    """Any non-empty spec.revocation means revoke, as every reader (and the controller) did."""
    v = AccessRequestView.from_cr({"spec": {"revocation": "yes"}})
    assert v.revocation is not None and v.revocation.by == "" and v.ended


@pytest.mark.parametrize(("status", "phase"), [
    (None, "Approved"), ({}, "Approved"), ({"phase": ""}, "Approved"),
    ({"phase": "Expired"}, "Expired"), ("junk", "Approved"),
])
def test_phase_of(status: object, phase: str) -> None:
    assert phase_of({"status": status}) == phase
    assert AccessRequestView.from_cr({"status": status}).phase == phase


def test_terminal_phases() -> None:
    for phase in ("Expired", "Revoked", "Failed"):
        v = AccessRequestView.from_cr({"status": {"phase": phase}})
        assert v.terminal and v.ended and not v.live


def test_condition_round_trips() -> None:
    cond = AccessRequestView.from_cr(FULL).conditions[0]
    assert cond.as_status() == FULL["status"]["conditions"][0]
