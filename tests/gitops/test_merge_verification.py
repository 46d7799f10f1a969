"""docs/design.md §5 on the simulator and the real API server: the happy path, every hostile path.

Each hostile case ends with no AccessRequest and a PR comment naming the failed step.
"""

from __future__ import annotations

import pytest

from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name, request_path

pytestmark = pytest.mark.k8s_real


def _merge(bed, gitops, number: int, actor: str = "root", method: str = "merge"):
    bed.sim.merge(bed.repo, number, actor=actor, method=method)
    return gitops.process_merge(number)


def _refused(bed, gitops, kube, number: int, name: str, step: str) -> str:
    verdict = _merge(bed, gitops, number)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == step, verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    refusal = [b for b in bodies if "nothing granted" in b]
    assert len(refusal) == 1 and f"**`{step}`**" in refusal[0], bodies
    assert bed.counters.get("verification_failures_total", step=step) == 1
    return refusal[0]


def test_approved_merge_creates_the_access_request_with_provenance(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    merge_sha = bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is None
    cr = harness.raw_cr(kube, cr_name(name))
    assert cr is not None
    spec = cr["spec"]
    assert (spec["requester"], spec["cluster"], spec["namespace"], spec["duration"]) == \
        ("alice", "prod", "payments", "1h")
    prov = spec["provenance"]
    assert prov["repo"] == bed.repo and prov["pullRequest"] == number
    assert prov["mergeCommit"] == merge_sha and prov["approvers"] == ["bob"]
    assert prov["path"] == request_path(name) and len(prov["blobSha"]) == 40
    assert prov["mergedBy"] == "root"
    # A replay changes nothing and says nothing new.
    gitops.process_merge(number)
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert sum("verified" in b for b in bodies) == 1


def _app_pr(bed, gitops, name: str, *, requester: str = "alice") -> int:
    """A PR opened by the Janus App on behalf of *requester* (the web form's path): branch,
    file and PR made through the API with the App's installation token, by Janus's own
    ``open_request_pr``, so GitHub signs the commit as the App's."""
    from janus.gitops.request_pr import open_request_pr

    files = {request_path(name): harness.request_yaml(name, requester=requester)}
    return open_request_pr(gitops.repo, requester, files, f"Access request {name}",
                           "opened by Janus").number


def _head_branch(bed, number: int) -> str:
    return bed.sim.pull(bed.repo, number)["head"]["ref"]


def test_app_opened_pr_with_independent_approval_is_granted(bed, gitops, kube) -> None:
    name = request_name()
    number = _app_pr(bed, gitops, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    verdict = _merge(bed, gitops, number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is not None


def test_self_approval_does_not_count(bed, gitops, kube) -> None:
    # The App opened the PR, so GitHub's own "cannot approve your own PR" does not stop the
    # requester: Janus must. alice approves her own request; she is not even an approver, but
    # the reason given must be that she is the requester.
    name = request_name()
    number = _app_pr(bed, gitops, name)
    bed.sim.review(bed.repo, number, "alice", "APPROVE")
    body = _refused(bed, gitops, kube, number, name, "approvals")
    assert "alice: is the requester" in body


def test_app_opened_pr_with_a_human_commit_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = _app_pr(bed, gitops, name)
    bed.sim.push(bed.repo, _head_branch(bed, number),
                 {request_path(name): harness.request_yaml(name, duration="4h")},
                 author="dave", message="sneaky")
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    body = _refused(bed, gitops, kube, number, name, "requester-is-author")
    assert "dave" in body


def test_approval_on_an_older_commit_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.push(bed.repo, f"req/{name}",
                 {request_path(name): harness.request_yaml(name, duration="4h")},
                 author="alice", message="longer")
    body = _refused(bed, gitops, kube, number, name, "approvals")
    assert "final head commit" in body


def test_changes_requested_after_approval_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.review(bed.repo, number, "bob", "REQUEST_CHANGES", body="wrong ticket")
    _refused(bed, gitops, kube, number, name, "approvals")


def test_dismissed_approval_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    review_id = bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.dismiss_review(bed.repo, number, review_id, actor="root")
    _refused(bed, gitops, kube, number, name, "approvals")


def test_approval_by_a_non_owner_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "dave", "APPROVE")  # write access, in no team
    body = _refused(bed, gitops, kube, number, name, "approvals")
    assert "dave" in body


def test_approval_by_an_owner_without_write_access_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "rita", "APPROVE")  # payments lead with read access only
    body = _refused(bed, gitops, kube, number, name, "approvals")
    assert "rita" in body and "not write" in body


def test_pr_that_also_edits_policies_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name, files={
        request_path(name): harness.request_yaml(name),
        "policies/payments-prod.yaml": harness.template_files()["policies/payments-prod.yaml"]
        .replace("required: 1", "required: 0"),
    })
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    body = _refused(bed, gitops, kube, number, name, "only-request-files")
    assert "policies/payments-prod.yaml" in body


def test_pr_that_also_edits_codeowners_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name, files={
        request_path(name): harness.request_yaml(name),
        ".github/CODEOWNERS": "* @dave\n",
    })
    bed.sim.review(bed.repo, number, "dave", "APPROVE")
    _refused(bed, gitops, kube, number, name, "only-request-files")


def test_requester_other_than_author_is_refused(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name, author="dave", requester="alice")
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    _refused(bed, gitops, kube, number, name, "requester-is-author")


def test_merge_into_another_branch_grants_nothing(bed, gitops, kube) -> None:
    name = request_name()
    bed.sim.push(bed.repo, "release", {"README.md": "release branch\n"}, author="root",
                 message="release", base="main")
    bed.sim.push(bed.repo, f"req/{name}", {request_path(name): harness.request_yaml(name)},
                 author="alice", message="req", base="main")
    number = bed.sim.create_pull(bed.repo, head=f"req/{name}", title="x", author="alice",
                                 base="release")
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    _refused(bed, gitops, kube, number, name, "merged-into-default-branch")


def test_policies_are_those_of_the_base_commit_at_merge_time(bed, gitops, kube) -> None:
    # The first merge warms the policy cache; then main's policy is tightened (as an admin's
    # own PR would) before the second request merges with a single approval.
    first = request_name()
    number = open_request_pr(bed.sim, bed.repo, first)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    assert _merge(bed, gitops, number).failure is None
    second = request_name()
    number = open_request_pr(bed.sim, bed.repo, second)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    stricter = harness.template_files()["policies/payments-prod.yaml"].replace(
        "required: 1", "required: 2")
    bed.sim.push(bed.repo, "main", {"policies/payments-prod.yaml": stricter}, author="root",
                 message="two approvals for prod payments")
    body = _refused(bed, gitops, kube, number, second, "approvals")
    assert "1 of 2 required approvals" in body
