"""§9 invariant 3: nothing a PR contains can change the policy or CODEOWNERS used to judge it.

The existing tests refuse a PR whose net diff touches CODEOWNERS or a policy. The hole this file
probes is a PR whose *net* diff is a clean request file, but whose history is not: commit 1 adds
the request and rewrites CODEOWNERS (or a policy) in the attacker's favour, commit 2 puts it
back. Merged as a merge commit or squash, the base is the branch tip before the merge and all is
well. Merged by *rebase* (GitHub's third merge method, allowed by default on a new repository),
`merge_commit_sha` is the last rebased commit and its first parent is the rebased commit 1, whose
CODEOWNERS is the attacker's: the PR would be judged by its own files.

The simulator does not perform rebase merges, so the test does what GitHub does by hand: it
replays the PR's commits onto main and marks the PR merged at the last one, exactly as the REST
API then reports it (`merged: true`, `merge_commit_sha` = the new tip of the base branch).
"""

from __future__ import annotations

import pytest

from janus.dev.github_sim.model import now_iso
from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, request_name, request_path

pytestmark = pytest.mark.k8s_real

CODEOWNERS = ".github/CODEOWNERS"
POLICY = "policies/payments-prod.yaml"


def _rebase_merge(bed, number: int, commits: list[dict[str, str]], author: str) -> None:
    """What GitHub's "Rebase and merge" leaves behind: each PR commit replayed on main, the PR
    closed as merged at the last one."""
    world = bed.sim.world
    repo = world.repo(bed.repo)
    base_tip = repo.git.ref("refs/heads/main")
    tip = base_tip
    for i, files in enumerate(commits):
        tip = bed.sim.push(bed.repo, "main", files, author=author, message=f"rebased {i}")
    with world.lock:
        pr = repo.pulls[number]
        pr.merged, pr.merged_by, pr.merged_at = True, "root", now_iso()
        pr.merge_commit_sha, pr.base_sha = tip, base_tip
        pr.state, pr.closed_at = "closed", pr.merged_at


def _two_commit_pr(bed, name: str, author: str, sneaky: dict[str, str],
                   restore: dict[str, str]) -> int:
    """A PR whose net diff is one request file: commit 1 also edits *sneaky*, commit 2 restores
    it. Merged by rebase (before any review, like a PR merged on a stale protection config;
    reviews are read from the API at verification time either way)."""
    branch = f"req/{name}"
    first = {request_path(name): harness.request_yaml(name, requester=author), **sneaky}
    bed.sim.push(bed.repo, branch, first, author=author, message="request", base="main")
    bed.sim.push(bed.repo, branch, restore, author=author, message="tidy up")
    number = bed.sim.create_pull(bed.repo, head=branch, title=f"Access request {name}",
                                 author=author)
    _rebase_merge(bed, number, [first, restore], author=author)
    return number


def test_owners_and_approvers_rewritten_then_restored_inside_the_pr_do_not_judge_it(
        bed, gitops, kube) -> None:
    """dave (write access, owns nothing, approves nothing on main) makes himself both code owner
    and policy approver in commit 1, restores both in commit 2, then approves."""
    files = harness.template_files()
    sneaky = {CODEOWNERS: "* @dave\n",
              POLICY: files[POLICY].replace("users: []", "users: [dave]")}
    assert sneaky[POLICY] != files[POLICY]
    name = request_name()
    number = _two_commit_pr(bed, name, "alice", sneaky,
                            {CODEOWNERS: files[CODEOWNERS], POLICY: files[POLICY]})
    bed.sim.review(bed.repo, number, "dave", "APPROVE")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None, "judged by the PR's own files"
    # Refused for its history, not for some incidental reason (before the fix it was granted).
    assert verdict.failure.step == "only-request-files", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None


def test_policy_loosened_then_restored_inside_the_pr_does_not_judge_it(bed, gitops, kube) -> None:
    """dave, eligible for nothing on main, makes himself a requester in commit 1 and restores
    the policy in commit 2; a real approver (bob) approves."""
    original = harness.template_files()[POLICY]
    loosened = original.replace("users: [alice]", "users: [alice, dave]")
    assert loosened != original
    name = request_name("dave")
    number = _two_commit_pr(bed, name, "dave", {POLICY: loosened}, {POLICY: original})
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None, "judged by the PR's own policy"
    # Refused for its history, not for some incidental reason (before the fix it was granted).
    assert verdict.failure.step == "only-request-files", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None


def test_control_a_clean_rebase_merged_request_is_granted(bed, gitops, kube) -> None:
    """The same path with an honest PR is granted, so the refusals above are about the sneaky
    commit and not about the hand-made rebase merge."""
    name = request_name()
    branch = f"req/{name}"
    files = {request_path(name): harness.request_yaml(name)}
    bed.sim.push(bed.repo, branch, files, author="alice", message="request", base="main")
    number = bed.sim.create_pull(bed.repo, head=branch, title=f"Access request {name}",
                                 author="alice")
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    _rebase_merge(bed, number, [files], author="alice")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is not None
