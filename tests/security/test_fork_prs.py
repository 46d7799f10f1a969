"""Issue 11, hole 1: a pull request from a fork never grants, and its check says so.

A fork is a repository the access repository's settings do not govern: no ruleset reserves its
branches, its owner may rewrite it at will, and GitHub leaves fork PRs out of a check run's
``pull_requests``. The request below is otherwise flawless (alice, the requester, opens it;
bob, a payments lead, approves; root merges); only its head lives in alice's fork.
"""

from __future__ import annotations

import pytest
from github import Auth, Github

from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, request_name, request_path

pytestmark = pytest.mark.k8s_real


def _fork_pr(bed, name: str) -> int:
    fork = bed.sim.fork(bed.repo, "alice", name=f"fork-{name}")
    bed.sim.push(fork, f"req/{name}", {request_path(name): harness.request_yaml(name)},
                 author="alice", message=f"Request {name}")
    return bed.sim.create_pull(bed.repo, head=f"alice:req/{name}", title=f"Access {name}",
                               author="alice")


def test_fork_pr_is_refused_at_merge(bed, gitops, kube) -> None:
    name = request_name()
    number = _fork_pr(bed, name)
    assert bed.sim.pull(bed.repo, number)["head"]["repo"]["fork"] is True
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None, "a fork PR was granted"
    assert verdict.failure.step == "same-repository", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("**`same-repository`**" in b for b in bodies), bodies


def test_fork_pr_check_fails_and_says_why(bed, gitops) -> None:
    name = request_name()
    number = _fork_pr(bed, name)
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    gh = Github(auth=Auth.Token(bed.sim.token("root")), base_url=bed.sim.base_url, retry=None,
                seconds_between_requests=None, seconds_between_writes=None)
    runs = list(gh.get_repo(bed.repo).get_commit(head).get_check_runs(check_name="janus/policy"))
    assert len(runs) == 1 and runs[0].conclusion == "failure", [r.conclusion for r in runs]
    plan = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:plan" in b]
    assert plan and "fork" in plan[0] and "same-repository" in plan[0], plan
