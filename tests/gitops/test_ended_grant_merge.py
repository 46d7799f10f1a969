"""A merge of a request whose grant has already ended, with the ledger finalizer holding the
ended AccessRequest (docs/design.md §3, §9; janus/gitops/crs.py).

The soak found it: an extension merged while its grant was live but handled after the grant
ended made the receiver delete the ended CR and wait 10 s for it to go; the ledger finalizer held
it longer, the delivery failed, was retried past the window and refused — the extension never
granted, the delivery worker parked for half a minute per attempt. The semantics now:

* merged while the grant was still live, applied after it ended → refused, the ended CR left
  alone (an extension only extends a live grant; a fresh grant from it would give access for a
  period nobody approved), with a PR comment saying so;
* merged after the end → a new grant of the same request; the ended CR is deleted and, while a
  finalizer still holds it, the apply says "not yet" at once (a retryable error) instead of
  waiting; once it is gone the next attempt (retry or reconcile) creates the new grant.

Real kube-apiserver; the finalizer is the receiver's own (``janus.dev/ledger``), held by the test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pytest
import yaml
from kubernetes import client

from janus import names, resource
from janus.gitops.crs import AccessRequests, GrantEndedBeforeMerge, GrantPending
from janus.gitops.ledger_keeper import FINALIZER
from janus.model import Request, load_request
from janus.resource import Provenance
from tests.gitops import harness
from tests.unit.model.helpers import request_doc

pytestmark = pytest.mark.k8s_real


def _request(name: str, duration: str = "1h") -> Request:
    doc = request_doc(duration=duration)
    doc["metadata"]["name"] = name
    path = f"requests/prod/payments/{name}.yaml"
    request, problems = load_request(path, yaml.safe_dump(doc, sort_keys=False).encode())
    assert request is not None, problems
    return request


def _provenance(request: Request, commit: str, merged_at: dt.datetime) -> Provenance:
    return Provenance(repo="acme/access", pull_request=int(commit, 16),
                      merge_commit=commit * 40, blob_sha=commit * 40,
                      path=f"requests/prod/payments/{request.name}.yaml",
                      approvers=("bob",), merged_by="root", merged_at=merged_at)


def _set_status(kube: Any, name: str, status: dict[str, Any]) -> None:
    client.CustomObjectsApi(kube).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, name,
        {"status": status}, _content_type="application/merge-patch+json")


def _t(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ended_and_held(kube: Any, crs: AccessRequests, request: Request, granted: dt.datetime,
                    expired: dt.datetime) -> str:
    """A grant created at *granted*, Expired at *expired*, its end not yet in the ledger (the
    receiver's finalizer on it). Returns the CR name."""
    assert crs.apply_grant(request, _provenance(request, "a", granted)) == "created"
    name = names.access_request_name(request.cluster, request.namespace, request.name)
    crs.client.set_finalizer(name, FINALIZER, True)
    _set_status(kube, name, {"phase": "Expired", "grantedAt": _t(granted),
                             "expiresAt": _t(expired)})
    view = crs.get(name)
    assert view is not None and view.ended and FINALIZER in view.meta.finalizers
    return name


def _wait_gone(crs: AccessRequests, name: str, uid: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = crs.get(name)
        if current is None or current.meta.uid != uid:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} still there after {timeout} s")


def test_extension_merged_while_live_but_applied_after_the_end_is_refused(kube) -> None:
    crs = AccessRequests(kube)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    request = _request(harness.request_name())
    name = _ended_and_held(kube, crs, request, now - dt.timedelta(minutes=60),
                           expired=now - dt.timedelta(seconds=5))
    before = crs.get(name)
    assert before is not None
    longer = dataclasses.replace(request, duration=dt.timedelta(hours=3))
    extension = _provenance(request, "b", now - dt.timedelta(seconds=30))  # merged while live
    try:
        with pytest.raises(GrantEndedBeforeMerge) as refused:
            crs.apply_grant(longer, extension)
        message = str(refused.value)
        assert "ended" in message and "before this merge" in message, message
        assert "Expired" in message and _t(now - dt.timedelta(seconds=5)) in message, message
        after = crs.get(name)
        # Left alone: not deleted, not extended, the old grant's end still to be recorded.
        assert after is not None and after.meta.uid == before.meta.uid
        assert not after.meta.deleting and after.duration == "1h"
        assert after.provenance is not None and after.provenance.merge_commit == "a" * 40
        # A replay of the refused merge is refused again, the same way.
        with pytest.raises(GrantEndedBeforeMerge):
            crs.apply_grant(longer, extension)
    finally:
        crs.client.set_finalizer(name, FINALIZER, False)
        crs.client.delete(name)


def test_new_merge_after_the_end_never_waits_on_the_finalizer_and_grants_once_it_is_gone(
    kube,
) -> None:
    crs = AccessRequests(kube)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    request = _request(harness.request_name())
    name = _ended_and_held(kube, crs, request, now - dt.timedelta(minutes=60),
                           expired=now - dt.timedelta(minutes=1))
    old = crs.get(name)
    assert old is not None
    again = _provenance(request, "c", now)  # merged after the grant ended: a new grant
    started = time.monotonic()
    with pytest.raises(GrantPending) as pending:
        crs.apply_grant(request, again)
    took = time.monotonic() - started
    assert name in str(pending.value) and "finaliz" in str(pending.value)
    held = crs.get(name)
    assert held is not None and held.meta.uid == old.meta.uid and held.meta.deleting
    # Still held: every attempt answers "not yet" again, none recreates or waits it out.
    with pytest.raises(GrantPending):
        crs.apply_grant(request, again)
    print(f"first attempt answered in {took:.2f} s")  # the old code waited 3 × 10 s
    crs.client.set_finalizer(name, FINALIZER, False)  # the ledger wrote the old end
    _wait_gone(crs, name, old.meta.uid)
    assert crs.apply_grant(request, again) == "created"
    new = crs.get(name)
    assert new is not None and new.meta.uid != old.meta.uid and not new.ended
    assert new.provenance is not None and new.provenance.merge_commit == "c" * 40
    assert crs.apply_grant(request, again) == "unchanged"  # a replay does nothing twice
    crs.client.delete(name)


def test_new_merge_after_a_recorded_end_is_granted_again_in_one_call(kube) -> None:
    """The usual case: the ledger wrote the end (finalizer released) and the file was added
    again in a new PR — deleted and created again in the same call."""
    crs = AccessRequests(kube)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    request = _request(harness.request_name())
    name = _ended_and_held(kube, crs, request, now - dt.timedelta(minutes=60),
                           expired=now - dt.timedelta(minutes=1))
    old = crs.get(name)
    assert old is not None
    crs.client.set_finalizer(name, FINALIZER, False)
    assert crs.apply_grant(request, _provenance(request, "d", now)) == "recreated"
    new = crs.get(name)
    assert new is not None and new.meta.uid != old.meta.uid and not new.ended
    crs.client.delete(name)


def test_late_extension_through_the_merge_path_is_refused_with_a_pr_comment(
    bed, gitops, kube,
) -> None:
    name = harness.request_name()
    number = harness.open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    gitops.process_merge(number)
    cr = harness.cr_name(name)
    crs = AccessRequests(kube)
    old = crs.get(cr)
    assert old is not None and not old.ended
    crs.client.set_finalizer(cr, FINALIZER, True)
    path = harness.request_path(name)
    bed.sim.push(bed.repo, f"extend/{name}", {path: harness.request_yaml(name, duration="3h")},
                 author="alice", message=f"Extend {name}", base="main")
    longer = bed.sim.create_pull(bed.repo, head=f"extend/{name}", title=f"Extend {name}",
                                 author="alice")
    bed.sim.review(bed.repo, longer, "carol", "APPROVE")
    bed.sim.merge(bed.repo, longer, actor="root")
    # The grant expires after the extension merged but before the receiver handles it.
    ended = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    _set_status(kube, cr, {"phase": "Expired", "grantedAt": _t(ended - dt.timedelta(hours=1)),
                           "expiresAt": _t(ended)})
    try:
        gitops.process_merge(longer)
        bodies = harness.comments_of(bed.sim, bed.repo, longer)
        assert any("not extended" in b and "ended" in b for b in bodies), bodies
        assert bed.counters.get("merged_requests_total", outcome="grant-ended") == 1
        for done in ("created", "recreated", "extended"):
            assert bed.counters.get("merged_requests_total", outcome=done) == (
                1 if done == "created" else 0), done
        after = crs.get(cr)
        assert after is not None and after.meta.uid == old.meta.uid and not after.meta.deleting
        assert after.duration == "1h"
    finally:
        crs.client.set_finalizer(cr, FINALIZER, False)
        crs.client.delete(cr)


def test_every_grant_carries_its_ledger_entry_from_creation_so_extensions_join_it(kube) -> None:
    """The soak under load: the ledger keeper's own optimistic write of the entry annotation
    lost a race with the controller's status writes, and the extension that came 5 s later
    started a second ledger entry while the first never got its end. The receiver now writes
    the annotation in the create itself."""
    from janus.gitops import ledger_keeper
    from janus.model import ledger

    assert ledger_keeper.ENTRY_ANNOTATION == names.ANNOTATION_LEDGER_ENTRY  # the key crs writes
    crs = AccessRequests(kube)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    request = _request(harness.request_name())
    first = _provenance(request, "a", now - dt.timedelta(minutes=5))
    assert crs.apply_grant(request, first) == "created"
    name = names.access_request_name(request.cluster, request.namespace, request.name)
    created = crs.get(name)
    assert created is not None
    entry = ledger.entry_path(first.merged_at or now, first.pull_request or 0, name)
    assert created.meta.annotations.get(ledger_keeper.ENTRY_ANNOTATION) == entry
    base = ledger_keeper.entry_of(created)
    assert base is not None and base.path == entry  # what the keeper would have written
    longer = dataclasses.replace(request, duration=dt.timedelta(hours=3))
    extension = _provenance(request, "b", now)
    assert crs.apply_grant(longer, extension) == "extended"
    extended = crs.get(name)
    assert extended is not None
    own = ledger_keeper.entry_of(extended)
    assert own is not None and own.path != entry
    assert extended.meta.annotations.get(ledger_keeper.ENTRY_ANNOTATION) == entry
    # Ended and its end recorded: a merge after the end starts a new entry of its own.
    _set_status(kube, name, {"phase": "Expired", "expiresAt": _t(now - dt.timedelta(seconds=1))})
    again = _provenance(request, "c", now + dt.timedelta(seconds=5))
    assert crs.apply_grant(request, again) == "recreated"
    regranted = crs.get(name)
    assert regranted is not None
    assert regranted.meta.annotations.get(ledger_keeper.ENTRY_ANNOTATION) == ledger.entry_path(
        now + dt.timedelta(seconds=5), again.pull_request or 0, name)
    crs.client.delete(name)
