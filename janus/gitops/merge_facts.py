"""The facts merge verification judges, and where they come from.

:mod:`janus.gitops.verify` runs the same steps with the same checks whatever the source; a
source only answers questions ("which files changed?", "what are the policies at this
commit?"). Two sources exist:

* :class:`RestSource` — the REST API through PyGithub, one request per question (about
  seventeen per merge, more with several commits, teams or reviewers). The PR check before
  merge uses it, and it is the baseline the merge benchmark compares with.
* :class:`janus.gitops.graphql_source.GraphQLSource` — GitHub's GraphQL API: the whole pull
  request in one query, the policy, CODEOWNERS and request blobs in a second, team membership
  in a third (the default at merge).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus.gitops import sources
from janus.model import PolicySet
from janus.policy import Membership
from janus.policy.approval import Review
from janus.policy.codeowners import CodeOwners

MembershipFor = Callable[[PolicySet, CodeOwners | None], Membership]


@dataclass(frozen=True)
class PullFacts:
    """The pull request as verification needs it (REST's names and spellings)."""

    number: int
    merged: bool
    merge_commit: str | None
    merged_at: dt.datetime | None
    merged_by: str | None
    author: str | None            # login; a bot as ``slug[bot]``; None for a deleted account
    base_repo: str                # full name of the repository the PR merges into
    base_repo_id: int
    base_ref: str
    head_sha: str
    head_repo: str | None         # None: the head repository no longer exists
    head_repo_id: int | None
    commits: int                  # GitHub's own counts (never capped)
    changed_files: int


@dataclass(frozen=True)
class ChangedFile:
    """One entry of the PR's net diff, with REST's status names (added, removed, renamed ...)."""

    filename: str
    status: str
    previous_filename: str | None = None


@dataclass(frozen=True)
class CommitFiles:
    """What one commit of the PR changes, as far as step 2 needs it: *outside* lists the paths
    outside ``requests/`` it touches. *over_limit* is set when it changes more files than a
    request PR may, so its list cannot be trusted to be whole."""

    sha: str
    outside: tuple[str, ...]
    over_limit: bool = False


@dataclass(frozen=True)
class CommitTrust:
    """Who committed a commit of the PR, and whether GitHub signed it (step 5)."""

    sha: str
    committer: str | None
    verified: bool


class MergeSource(Protocol):
    """What the verification steps ask. Every answer is read at merge time, never cached
    across merges except where content-addressed (git object ids)."""

    def pull(self) -> PullFacts: ...

    def files(self) -> list[ChangedFile]: ...

    def commit_files(self, max_files: int) -> list[CommitFiles]: ...

    def base_commit(self, merge_commit: str) -> str | None: ...

    def policies(self, ref: str) -> tuple[PolicySet, CodeOwners | None]: ...

    def read_file(self, path: str, ref: str) -> sources.FileAtCommit | None: ...

    def commit_trust(self) -> list[CommitTrust]: ...

    def reviews(self) -> list[Review]: ...

    def permissions(self, logins: set[str]) -> dict[str, str]: ...

    def membership(self, policy_set: PolicySet, codeowners: CodeOwners | None) -> Membership: ...


def pull_facts_of(pull: PullRequest) -> PullFacts:
    """:class:`PullFacts` from a PyGithub pull request (no request: all of it is in the PR)."""
    head_repo = pull.head.repo
    return PullFacts(
        number=pull.number, merged=bool(pull.merged), merge_commit=pull.merge_commit_sha,
        merged_at=pull.merged_at,
        merged_by=pull.merged_by.login if pull.merged_by is not None else None,
        author=pull.user.login if pull.user is not None else None,
        base_repo=pull.base.repo.full_name, base_repo_id=pull.base.repo.id,
        base_ref=pull.base.ref, head_sha=pull.head.sha,
        head_repo=head_repo.full_name if head_repo is not None else None,
        head_repo_id=head_repo.id if head_repo is not None else None,
        commits=pull.commits, changed_files=pull.changed_files,
    )


def rest_files(pull: PullRequest) -> list[ChangedFile]:
    return [ChangedFile(f.filename, f.status, f.previous_filename) for f in pull.get_files()]


def rest_reviews(pull: PullRequest) -> list[Review]:
    reviews = []
    for r in pull.get_reviews():
        if r.user is None or r.submitted_at is None:  # PENDING drafts have no submitted_at
            continue
        reviews.append(Review(r.user.login, r.state.upper(), r.commit_id or "", r.submitted_at))
    return reviews


def rest_permissions(repo: Repository, logins: set[str]) -> dict[str, str]:
    """login (lower case) -> REST's permission name (admin, maintain, write, ..., none)."""
    permission: dict[str, str] = {}
    for login in sorted(logins):
        try:
            permission[login] = repo.get_collaborator_permission(login)
        except GithubException as exc:
            if exc.status != 404:
                raise
            permission[login] = "none"
    return permission


def rest_commit_files(pull: PullRequest, max_files: int) -> list[CommitFiles]:
    """Each commit of the PR with the paths outside requests/ it touches: one request for
    the list, one per commit for its files (GitHub lists no files in a PR's commit list)."""
    out = []
    for commit in pull.get_commits():
        outside: set[str] = set()
        over = False
        for seen, f in enumerate(commit.files, start=1):
            if seen > max_files:
                over = True
                break
            for path in (f.filename, f.previous_filename):
                if path and not path.startswith(f"{sources.REQUESTS_DIR}/"):
                    outside.add(path)
        out.append(CommitFiles(commit.sha, tuple(sorted(outside)), over))
    return out


def rest_commit_trust(pull: PullRequest) -> list[CommitTrust]:
    out = []
    for c in pull.get_commits():
        # Read from the raw data: GitHub sends null, or {} for an e-mail that maps to no
        # account (PyGithub cannot read `.login` of such a user: it tries to fetch it).
        committer = (c.raw_data.get("committer") or {}).get("login")
        verification = c.commit.verification
        verified = verification is not None and verification.verified is True
        out.append(CommitTrust(c.sha, committer, verified))
    return out


class RestSource:
    """Every fact from the REST API (PyGithub), as Janus read them before GraphQL."""

    def __init__(self, repo: Repository, pull: PullRequest,
                 membership_for: MembershipFor) -> None:
        self.repo = repo
        self._pull = pull
        self._membership_for = membership_for
        self._files: list[ChangedFile] | None = None

    def pull(self) -> PullFacts:
        return pull_facts_of(self._pull)

    def files(self) -> list[ChangedFile]:
        if self._files is None:
            self._files = rest_files(self._pull)
        return self._files

    def commit_files(self, max_files: int) -> list[CommitFiles]:
        return rest_commit_files(self._pull, max_files)

    def base_commit(self, merge_commit: str) -> str | None:
        parents = self.repo.get_commit(merge_commit).parents
        return parents[0].sha if parents else None

    def policies(self, ref: str) -> tuple[PolicySet, CodeOwners | None]:
        return sources.load_policies_and_codeowners(self.repo, ref)

    def read_file(self, path: str, ref: str) -> sources.FileAtCommit | None:
        return sources.read_file(self.repo, path, ref)

    def commit_trust(self) -> list[CommitTrust]:
        return rest_commit_trust(self._pull)

    def reviews(self) -> list[Review]:
        return rest_reviews(self._pull)

    def permissions(self, logins: set[str]) -> dict[str, str]:
        return rest_permissions(self.repo, logins)

    def membership(self, policy_set: PolicySet, codeowners: CodeOwners | None) -> Membership:
        return self._membership_for(policy_set, codeowners)
