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
from janus.gitops import verify
from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, request_name, request_path

pytestmark = pytest.mark.k8s_real

CODEOWNERS = ".github/CODEOWNERS"
POLICY = "policies/payments-prod.yaml"


def _rebase_merge(bed, number: int, commits: list[dict[str, str | None]]) -> None:
    """GitHub's "Rebase and merge": every commit replayed on main, the PR merged at the last."""
    world = bed.sim.world
    repo = world.repo(bed.repo)
    base_tip = repo.git.ref("refs/heads/main")
    tip = bed.sim.push_series(bed.repo, "main", commits, author="alice", message="rebased")
    with world.lock:
        pr = repo.pulls[number]
        pr.merged, pr.merged_by, pr.merged_at = True, "root", now_iso()
        pr.merge_commit_sha, pr.base_sha = tip, base_tip
        pr.state, pr.closed_at = "closed", pr.merged_at


def _sneaky_pr(bed, count: int) -> tuple[str, int, list[dict[str, str | None]]]:
    """A request PR of *count* commits whose last two rewrite CODEOWNERS and a policy (so that
    dave alone may approve) and restore them: the net diff is the request file alone."""
    files = harness.template_files()
    name = request_name()
    sneaky = {request_path(name): harness.request_yaml(name), CODEOWNERS: "* @dave\n",
              POLICY: files[POLICY].replace("users: []", "users: [dave]")}
    assert sneaky[POLICY] != files[POLICY]
    restore = {CODEOWNERS: files[CODEOWNERS], POLICY: files[POLICY]}
    commits: list[dict[str, str | None]] = [{} for _ in range(count - 2)] + [sneaky, restore]
    return name, _open_pr(bed, name, commits), commits


def _open_pr(bed, name: str, commits: list[dict[str, str | None]]) -> int:
    """Push *commits* on alice's request branch and open her request PR; its number."""
    branch = f"req/{name}"
    bed.sim.push_series(bed.repo, branch, commits, author="alice", message="work",
                        base="main")
    return bed.sim.create_pull(bed.repo, head=branch, title=f"Access request {name}",
                               author="alice")


def _assert_refused_at_list_limits(verdict, kube, name: str, why: str) -> None:
    """Refused at step within-list-limits, and no AccessRequest made."""
    assert verdict is not None and verdict.failure is not None, why
    assert verdict.failure.step == "within-list-limits", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None


def test_sneaky_commit_hidden_past_the_250_commit_cap_is_refused(bed, gitops, kube) -> None:
    # 258 empty commits, then the rewrite (commit 259) and the restore (commit 260).
    name, number, commits = _sneaky_pr(bed, 260)
    pull = bed.sim.pull(bed.repo, number)
    assert pull["commits"] == 260 and pull["changed_files"] == 1
    _rebase_merge(bed, number, commits)
    bed.sim.review(bed.repo, number, "dave", "APPROVE")
    _assert_refused_at_list_limits(
        gitops.process_merge(number), kube, name,
        "judged by CODEOWNERS and policy hidden past the commit cap")
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("**`within-list-limits`**" in b and "260 commits" in b for b in bodies), bodies


def test_commit_list_shorter_than_the_prs_count_is_never_judged(
    bed, gitops, kube, monkeypatch
) -> None:
    """The second check on its own: with the commit limit out of the way (raised above
    GitHub's cap), the 250 commits GitHub lists are not the PR's 260, and nothing is judged.
    Without this check the commit hidden past the cap decides who may approve."""
    monkeypatch.setattr(verify, "MAX_PR_COMMITS", 10_000)
    name, number, commits = _sneaky_pr(bed, 260)
    _rebase_merge(bed, number, commits)
    bed.sim.review(bed.repo, number, "dave", "APPROVE")
    verdict = gitops.process_merge(number)
    _assert_refused_at_list_limits(
        verdict, kube, name, "judged by CODEOWNERS and policy hidden past the commit cap")
    assert "GitHub listed 250 of the PR's 260 commits" in verdict.failure.summary


def test_request_pr_of_more_than_100_commits_is_refused(bed, gitops, kube) -> None:
    """The commit limit on its own: 101 commits, all listed by GitHub, touching nothing but
    the request file, approved by bob and merged, are still refused."""
    name = request_name()
    commits: list[dict[str, str | None]] = [{request_path(name): harness.request_yaml(name)}]
    commits += [{} for _ in range(verify.MAX_PR_COMMITS)]
    number = _open_pr(bed, name, commits)
    assert bed.sim.pull(bed.repo, number)["commits"] == 101
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    _assert_refused_at_list_limits(verdict, kube, name, "a 101-commit PR was granted")
    assert "101 commits" in verdict.failure.summary


def test_request_pr_of_more_than_300_files_is_refused(bed, gitops, kube) -> None:
    """The file limit on the PR's count: the request file and 300 README.md notes beside it
    under requests/ (not request files, nothing outside), in two commits of 151 and 150
    files (so no single commit is over the limit), approved by bob and merged, is refused."""
    name = request_name()
    half = verify.MAX_PR_FILES // 2
    first: dict[str, str | None] = {request_path(name): harness.request_yaml(name)}
    first |= {f"requests/notes/{i:03}/README.md": "note\n" for i in range(half)}
    second: dict[str, str | None] = {f"requests/notes/{i:03}/README.md": "note\n"
                                     for i in range(half, verify.MAX_PR_FILES)}
    number = _open_pr(bed, name, [first, second])
    pull = bed.sim.pull(bed.repo, number)
    assert pull["commits"] == 2 and pull["changed_files"] == 301
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    _assert_refused_at_list_limits(verdict, kube, name, "a 301-file PR was granted")
    assert "301 changed files" in verdict.failure.summary


def test_file_hidden_past_a_commits_3000_file_cap_is_refused(bed, gitops, kube) -> None:
    """GitHub lists at most 3,000 files of one commit. Commit 1 adds the request, 3,000 pads
    under requests/ and a file outside requests/ that sorts after them; commit 2 removes the
    pads and that file. The PR's own counts are small (2 commits, 1 file), and the outside
    file is past the cap in both commits' listings: step 2's "no commit touches anything
    outside requests/" must not be judged from such a listing."""
    name = request_name()
    pads = {f"requests/pad/{i:04}.txt": "x\n" for i in range(3000)}
    hidden = "zz-outside-requests.md"
    first: dict[str, str | None] = {request_path(name): harness.request_yaml(name),
                                    hidden: "outside requests/\n", **pads}
    second: dict[str, str | None] = {hidden: None, **dict.fromkeys(pads)}
    number = _open_pr(bed, name, [first, second])
    pull = bed.sim.pull(bed.repo, number)
    assert pull["commits"] == 2 and pull["changed_files"] == 1
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    _assert_refused_at_list_limits(
        verdict, kube, name, "judged from a commit's file list GitHub cut at 3,000")
    assert "changes more than 300 files" in verdict.failure.summary
