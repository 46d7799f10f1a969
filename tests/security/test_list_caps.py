"""Issue 11, hole 2: verification never relies on a list GitHub may have cut short.

GitHub lists at most 250 commits of a pull request (and 3,000 files). The per-commit check of
step 2 (no commit of the PR touches anything outside ``requests/``) read that list, so a PR of
more than 250 commits could hide, past the cap, a commit that rewrites CODEOWNERS and a policy
and a last commit that restores them. Rebase-merged, the merge's first parent is that hidden
commit, and the PR was judged by the attacker's own CODEOWNERS and policy (see
test_inv3_pr_cannot_judge_itself.py for the short version, which step 2 already refuses).

Janus now refuses a request PR beyond a small documented size (``verify.MAX_PR_COMMITS``
commits, ``verify.MAX_PR_FILES`` files), comparing GitHub's own counts with the lists it read.
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


def test_sneaky_commit_hidden_past_the_250_commit_cap_is_refused(bed, gitops, kube) -> None:
    files = harness.template_files()
    name = request_name()
    sneaky = {request_path(name): harness.request_yaml(name), CODEOWNERS: "* @dave\n",
              POLICY: files[POLICY].replace("users: []", "users: [dave]")}
    assert sneaky[POLICY] != files[POLICY]
    restore = {CODEOWNERS: files[CODEOWNERS], POLICY: files[POLICY]}
    # 258 empty commits, then the rewrite (commit 259) and the restore (commit 260).
    commits: list[dict[str, str | None]] = [{} for _ in range(258)] + [sneaky, restore]
    branch = f"req/{name}"
    bed.sim.push_series(bed.repo, branch, commits, author="alice", message="work",
                        base="main")
    number = bed.sim.create_pull(bed.repo, head=branch, title=f"Access request {name}",
                                 author="alice")
    pull = bed.sim.pull(bed.repo, number)
    assert pull["commits"] == 260 and pull["changed_files"] == 1
    # GitHub's "Rebase and merge": every commit replayed on main, the PR merged at the last.
    world = bed.sim.world
    repo = world.repo(bed.repo)
    base_tip = repo.git.ref("refs/heads/main")
    tip = bed.sim.push_series(bed.repo, "main", commits, author="alice", message="rebased")
    with world.lock:
        pr = repo.pulls[number]
        pr.merged, pr.merged_by, pr.merged_at = True, "root", now_iso()
        pr.merge_commit_sha, pr.base_sha = tip, base_tip
        pr.state, pr.closed_at = "closed", pr.merged_at
    bed.sim.review(bed.repo, number, "dave", "APPROVE")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None, \
        "judged by CODEOWNERS and policy hidden past the commit cap"
    assert verdict.failure.step == "within-list-limits", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("**`within-list-limits`**" in b and "260 commits" in b for b in bodies), bodies
