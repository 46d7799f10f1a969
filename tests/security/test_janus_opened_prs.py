"""Issue 11, hole 3: a PR Janus opens for a requester passes its own check, and "every commit
is Janus's" rests on GitHub's evidence, not on a commit's name and e-mail.

One rule (``verify.requester_problems``) serves the PR check and merge verification: the
requester is the PR author, or the Janus App opened the PR and every commit on it carries
GitHub's verified signature with the App as committer — which GitHub gives the commits an App
makes through the API, and never a pushed commit, whatever author it claims.
"""

from __future__ import annotations

import pytest
from github import Auth, Github

from janus.gitops.crs import AccessRequests
from janus.gitops.request_pr import open_request_pr
from tests.gitops import harness
from tests.gitops.harness import cr_name, request_name, request_path

pytestmark = pytest.mark.k8s_real


def _janus_pr(gitops, name: str) -> int:
    files = {request_path(name): harness.request_yaml(name)}
    return open_request_pr(gitops.repo, "alice", files, f"Access request {name}",
                           "opened by Janus for alice").number


def _check_runs(bed, sha: str):
    gh = Github(auth=Auth.Token(bed.sim.token("root")), base_url=bed.sim.base_url, retry=None,
                seconds_between_requests=None, seconds_between_writes=None)
    return list(gh.get_repo(bed.repo).get_commit(sha).get_check_runs(check_name="janus/policy"))


def test_janus_opened_pr_passes_its_own_check(bed, gitops) -> None:
    name = request_name()
    number = _janus_pr(gitops, name)
    pull = bed.sim.pull(bed.repo, number)
    assert pull["user"]["login"] == bed.bot
    gitops.check_pull(number)
    runs = _check_runs(bed, pull["head"]["sha"])
    assert [r.conclusion for r in runs] == ["success"], runs[0].output.summary


def test_janus_opened_pr_is_granted_at_merge(bed, gitops, kube) -> None:
    name = request_name()
    number = _janus_pr(gitops, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is not None


def test_pushed_commit_forging_the_bot_is_refused(bed, gitops, kube) -> None:
    """dave (write access) pushes onto Janus's branch a commit whose author and committer are
    the App's name and e-mail (GitHub even maps it to the bot account), doubling the duration."""
    name = request_name()
    number = _janus_pr(gitops, name)
    branch = bed.sim.pull(bed.repo, number)["head"]["ref"]
    bed.sim.push(bed.repo, branch, {request_path(name): harness.request_yaml(name,
                                                                             duration="4h")},
                 author=bed.bot, message="Access request by alice (forged)")
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    assert [r.conclusion for r in _check_runs(bed, head)] == ["failure"]
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None, "a forged commit was trusted"
    assert verdict.failure.step == "requester-is-author", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None
