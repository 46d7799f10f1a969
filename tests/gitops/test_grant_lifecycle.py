"""Extension (duration changed), revocation by deleting the file, and the refusal of identity
changes on a live grant — all through merged PRs on the simulator and the real API server."""

from __future__ import annotations

import pytest
from kubernetes import client

from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name, request_path

pytestmark = pytest.mark.k8s_real


def _grant(bed, gitops, name: str, **fields) -> int:
    number = open_request_pr(bed.sim, bed.repo, name, **fields)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    return number


def _second_pr(bed, name: str, files: dict, author: str = "alice") -> int:
    branch = f"change/{name}"
    bed.sim.push(bed.repo, branch, files, author=author, message="change", base="main")
    return bed.sim.create_pull(bed.repo, head=branch, title="change", author=author)


def test_longer_duration_is_an_extension_judged_like_a_new_request(bed, gitops, kube) -> None:
    name = request_name()
    first = _grant(bed, gitops, name)
    number = _second_pr(bed, name, {request_path(name): harness.request_yaml(name,
                                                                            duration="3h")})
    bed.sim.review(bed.repo, number, "carol", "APPROVE")
    merge_sha = bed.sim.merge(bed.repo, number, actor="root", method="squash")
    gitops.process_merge(number)
    cr = harness.raw_cr(kube, cr_name(name))
    assert cr is not None
    assert cr["spec"]["duration"] == "3h"
    assert cr["spec"]["provenance"]["pullRequest"] == number != first
    assert cr["spec"]["provenance"]["mergeCommit"] == merge_sha
    assert cr["spec"]["provenance"]["approvers"] == ["carol"]
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("extended to" in b for b in bodies)
    # Printed as written in the file, not as Python's timedelta ("3:00:00").
    assert any("extended to 3h (approved by carol)" in b for b in bodies), bodies


def test_unapproved_extension_leaves_the_grant_unchanged(bed, gitops, kube) -> None:
    name = request_name()
    _grant(bed, gitops, name)
    number = _second_pr(bed, name, {request_path(name): harness.request_yaml(name,
                                                                            duration="4h")})
    bed.sim.merge(bed.repo, number, actor="root")  # admin merge without approval
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == "approvals"
    assert harness.raw_cr(kube, cr_name(name))["spec"]["duration"] == "1h"


def test_deleting_the_file_revokes_without_approval(bed, gitops, kube) -> None:
    name = request_name()
    _grant(bed, gitops, name)
    number = _second_pr(bed, name, {request_path(name): None})
    bed.sim.merge(bed.repo, number, actor="root")
    gitops.process_merge(number)
    revocation = harness.raw_cr(kube, cr_name(name))["spec"]["revocation"]
    assert revocation["by"] == "alice"
    assert request_path(name) in revocation["reason"]
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("revoked" in b for b in bodies)
    # Replaying the merge neither fails nor rewrites the (write-once) revocation.
    gitops.process_merge(number)


def test_role_or_requester_change_on_a_live_grant_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    _grant(bed, gitops, name)
    number = _second_pr(bed, name, {
        request_path(name): harness.request_yaml(name, requester="sam")}, author="sam")
    bed.sim.review(bed.repo, number, "root", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None
    assert harness.raw_cr(kube, cr_name(name))["spec"]["requester"] == "alice"
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("existing-grant-compatible" in b for b in bodies), bodies


def test_replayed_old_merge_neither_regrants_a_revoked_request_nor_undoes_an_extension(
    bed, gitops, kube
) -> None:
    revoked = request_name()
    first = _grant(bed, gitops, revoked)
    deletion = _second_pr(bed, revoked, {request_path(revoked): None})
    bed.sim.merge(bed.repo, deletion, actor="root")
    gitops.process_merge(deletion)
    gitops.process_merge(first)  # the old grant's delivery, redelivered
    crs = AccessRequests(kube)
    assert harness.raw_cr(kube, cr_name(revoked))["spec"].get("revocation"), "must stay revoked"
    # Even once the ended CR is cleaned up, replaying the old merge grants nothing.
    client.CustomObjectsApi(kube).delete_namespaced_custom_object(
        "janus.dev", "v1alpha1", crs.namespace, "accessrequests", cr_name(revoked))
    verdict = gitops.process_merge(first)
    assert verdict is not None and verdict.failure is None
    assert crs.get(cr_name(revoked)) is None
    assert bed.counters.get("merged_requests_total", outcome="superseded") == 1

    extended = request_name()
    original = _grant(bed, gitops, extended)
    longer = _second_pr(bed, extended, {request_path(extended): harness.request_yaml(
        extended, duration="3h")})
    bed.sim.review(bed.repo, longer, "carol", "APPROVE")
    bed.sim.merge(bed.repo, longer, actor="root")
    gitops.process_merge(longer)
    gitops.process_merge(original)
    assert harness.raw_cr(kube, cr_name(extended))["spec"]["duration"] == "3h"
