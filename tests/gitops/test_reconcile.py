"""Reconcile: a lost webhook delays a grant but never loses one, and never grants what
verification refuses; files gone are revoked; stale request PRs are closed."""

from __future__ import annotations

import datetime as dt

import pytest

from janus.gitops.crs import AccessRequests
from janus.gitops.reconcile import Reconciler
from tests.gitops import harness
from tests.gitops.harness import (
    cr_name,
    granted_request,
    open_request_pr,
    request_name,
    request_path,
)

pytestmark = pytest.mark.k8s_real


def test_merge_whose_delivery_was_lost_is_granted_by_reconcile(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    merge_sha = bed.sim.merge(bed.repo, number, actor="root")
    # No delivery was processed. The reconcile finds the file without a CR:
    report = Reconciler(gitops).run()
    assert report.granted == [cr_name(name)]
    cr = harness.raw_cr(kube, cr_name(name))
    assert cr["spec"]["provenance"]["mergeCommit"] == merge_sha
    assert cr["spec"]["provenance"]["pullRequest"] == number
    assert Reconciler(gitops).run().granted == []  # nothing left to do


def test_reconcile_never_grants_what_verification_refuses(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.merge(bed.repo, number, actor="root")  # admin merge, no approval
    reconciler = Reconciler(gitops)
    assert reconciler.run().refused == [number]
    assert AccessRequests(kube).get(cr_name(name)) is None
    reconciler.run()  # not re-verified, not re-commented
    assert bed.counters.get("verification_failures_total", step="approvals") == 1
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert sum("nothing granted" in b for b in bodies) == 1


def test_request_whose_window_has_passed_is_not_granted_late(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    report = Reconciler(gitops).run(now=later)
    assert report.stale == [request_path(name)]
    assert AccessRequests(kube).get(cr_name(name)) is None


def test_grant_whose_file_is_gone_is_revoked(bed, gitops, kube) -> None:
    name, _ = granted_request(bed, gitops)
    # Removed on main without a PR whose delivery we saw (e.g. a direct push by an admin).
    bed.sim.push(bed.repo, "main", {request_path(name): None}, author="root", message="rm")
    report = Reconciler(gitops).run()
    assert report.revoked == [cr_name(name)]
    revocation = harness.raw_cr(kube, cr_name(name))["spec"]["revocation"]
    assert revocation["by"] == "janus-reconcile"


def test_push_triggered_reconcile_records_the_pr_author_as_revoker(bed, gitops, kube) -> None:
    """The PR that deletes the file is merged; its push reaches the reconcile before its own
    `pull_request.closed` reaches a merge worker (or that delivery is lost). The revocation is
    still the PR author's, not `janus-reconcile`'s, and the late delivery changes nothing."""
    name, _ = granted_request(bed, gitops)
    branch = f"rm/{name}"
    bed.sim.push(bed.repo, branch, {request_path(name): None}, author="alice",
                 message="done early", base="main")
    number = bed.sim.create_pull(bed.repo, head=branch, title="done", author="alice")
    bed.sim.merge(bed.repo, number, actor="root")
    report = Reconciler(gitops).run()  # the push-triggered pass, first
    assert report.revoked == [cr_name(name)]
    revocation = harness.raw_cr(kube, cr_name(name))["spec"]["revocation"]
    assert revocation["by"] == "alice", revocation
    assert f"PR #{number}" in revocation["reason"]
    gitops.process_merge(number)  # the merge worker, late
    assert harness.raw_cr(kube, cr_name(name))["spec"]["revocation"] == revocation
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert sum("revoked" in b for b in bodies) == 1, bodies


def test_truncated_tree_listing_revokes_nothing(bed, gitops, kube) -> None:
    """GitHub cuts a recursive tree listing past its limits (``truncated: true``). Read as the
    whole branch, it made every live grant whose file was cut off look deleted."""
    name, _ = granted_request(bed, gitops)
    bed.sim.set_limits(tree_entries=3)  # policies/ and .github/ come before requests/
    try:
        report = Reconciler(gitops).run()
    finally:
        bed.sim.set_limits(tree_entries=100_000)
    assert report.revoked == [], "a partial listing revoked a live grant"
    assert not harness.raw_cr(kube, cr_name(name))["spec"].get("revocation")
    assert bed.counters.get("reconcile_truncated_listings_total") == 1
    assert report.truncated


def test_request_file_github_sends_with_encoding_none_is_a_problem_not_a_crash(
        bed, gitops, kube) -> None:
    """A request file above the contents API's 1 MB comes back with ``encoding: "none"``;
    PyGithub's decoded_content then asserts, which crashed every reconcile pass."""
    big = f"alice-0{request_name()[-7:]}"
    padding = "# " + "x" * 2000 + "\n"
    number = open_request_pr(bed.sim, bed.repo, big, files={
        request_path(big): harness.request_yaml(big) + padding})
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    fine = f"alice-z{request_name()[-7:]}"
    other = open_request_pr(bed.sim, bed.repo, fine)
    bed.sim.review(bed.repo, other, "bob", "APPROVE")
    bed.sim.merge(bed.repo, other, actor="root")
    bed.sim.set_limits(contents_size=1024)  # GitHub: 1 MB; the padded file is above this
    try:
        report = Reconciler(gitops).run()  # neither merge was delivered
    finally:
        bed.sim.set_limits(contents_size=1024 * 1024)
    assert report.granted == [cr_name(fine)], report  # the pass went on past the big file
    assert request_path(big) in report.problems
    assert AccessRequests(kube).get(cr_name(big)) is None
    assert bed.counters.get("reconcile_unreadable_files_total") == 1


def test_request_pr_pending_too_long_is_closed_with_a_comment(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    fresh = Reconciler(gitops).run()
    assert fresh.closed == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)  # pendingTimeout is 24h
    assert Reconciler(gitops).run(now=later).closed == [number]
    assert bed.sim.pull(bed.repo, number)["state"] == "closed"
    assert any("pending timeout" in b for b in harness.comments_of(bed.sim, bed.repo, number))
