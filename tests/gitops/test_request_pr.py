"""open_request_pr against the GitHub simulator (PyGithub over HTTP, real git underneath)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import Auth, Github
from github.Repository import Repository

from janus.dev.github_sim import GitHubSimulator
from janus.gitops.request_pr import open_request_pr, request_branch

FILES = {
    "requests/prod/payments/alice-inc-1-20261127-abc123.yaml": "spec: {namespace: payments}\n",
    "requests/prod/payments-worker/alice-inc-1-20261127-abc123.yaml": "spec: {x: 1}\n",
}


@pytest.fixture
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        simulator.add_user("root")
        simulator.add_user("alice")
        simulator.add_org("acme", admins=["root"])
        simulator.create_repo("acme", "access", files={"README.md": "access repo\n"},
                              collaborators={"alice": "write", "root": "admin"})
        yield simulator


def _repo_as(sim: GitHubSimulator, login: str) -> Repository:
    gh = Github(base_url=sim.base_url, auth=Auth.Token(sim.token(login)), retry=None)
    return gh.get_repo("acme/access")


def test_opens_one_pr_authored_by_the_requester(sim: GitHubSimulator) -> None:
    repo = _repo_as(sim, "alice")
    pull = open_request_pr(repo, "alice", FILES, "Access request", "Requester: @alice")
    assert pull.user.login == "alice"
    assert pull.head.ref == request_branch("alice", FILES)
    assert pull.head.ref.startswith("janus/request/alice/")
    assert pull.base.ref == "main"
    assert sorted(f.filename for f in pull.get_files()) == sorted(FILES)
    for path, text in FILES.items():
        assert sim.read_file("acme/access", path, ref=pull.head.sha).decode() == text
    assert all(c.commit.author.name for c in pull.get_commits())
    assert {c.author.login for c in pull.get_commits()} == {"alice"}


def test_retry_finds_the_same_branch_and_pr(sim: GitHubSimulator) -> None:
    repo = _repo_as(sim, "alice")
    first = open_request_pr(repo, "alice", FILES, "Access request", "body")
    head = first.head.sha
    second = open_request_pr(_repo_as(sim, "alice"), "alice", dict(reversed(FILES.items())),
                             "Access request", "body")
    assert second.number == first.number
    assert repo.get_pull(first.number).head.sha == head  # no new commits either
    assert len(list(repo.get_pulls(state="all"))) == 1
    branches = [b.name for b in repo.get_branches() if b.name.startswith("janus/request/")]
    assert branches == [first.head.ref]


def test_retry_after_a_partial_attempt_completes_it(sim: GitHubSimulator) -> None:
    """A first attempt died after the branch and one file: the retry adds the rest, one PR."""
    branch = request_branch("alice", FILES)
    first_path = sorted(FILES)[0]
    sim.push("acme/access", branch, {first_path: FILES[first_path]}, author="alice",
             message="partial")
    repo = _repo_as(sim, "alice")
    pull = open_request_pr(repo, "alice", FILES, "Access request", "body")
    assert sorted(f.filename for f in pull.get_files()) == sorted(FILES)
    assert len(list(repo.get_pulls(state="all"))) == 1


def test_different_requests_get_different_branches(sim: GitHubSimulator) -> None:
    repo = _repo_as(sim, "alice")
    one = open_request_pr(repo, "alice", FILES, "one", "body")
    other_files = {"requests/prod/payments/alice-other.yaml": "spec: {}\n"}
    two = open_request_pr(repo, "alice", other_files, "two", "body")
    assert one.number != two.number
    assert one.head.ref != two.head.ref


def test_branch_name_is_deterministic_and_git_safe() -> None:
    assert request_branch("Alice", FILES) == request_branch("alice", dict(reversed(FILES.items())))
    assert request_branch("alice", FILES) != request_branch("bob", FILES)
    branch = request_branch("we.ird_Login", {"a": "b"})
    assert branch.startswith("janus/request/we-ird-login/")
    assert " " not in branch and ".." not in branch


def test_no_files_is_an_error(sim: GitHubSimulator) -> None:
    with pytest.raises(ValueError):
        open_request_pr(_repo_as(sim, "alice"), "alice", {}, "t", "b")
