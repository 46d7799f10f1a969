"""The simulator's in-memory records: accounts, repositories, pull requests and their satellites.

Plain dataclasses with no behaviour; :mod:`.world` owns the rules that change them and
:mod:`.render` turns them into GitHub's JSON shapes. File contents, trees and commits are not
here: they live in each repository's real git store (:mod:`.gitstore`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .gitstore import GitRepo


def now_iso(ts: float | None = None) -> str:
    """GitHub's timestamp format (UTC, seconds, ``Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts if ts is not None else time.time()))


PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")


def perm_rank(permission: str) -> int:
    return PERMISSIONS.index(permission) if permission in PERMISSIONS else 0


@dataclass
class Account:
    """A user, a bot (an App's installation identity) or an organisation."""

    login: str
    id: int
    type: str  # User | Bot | Organization
    name: str | None = None
    email: str | None = None
    created_at: str = ""
    site_admin: bool = False
    # A deleted account ("ghost"): GitHub then sends `user: null` on its comments and reviews,
    # and its commits' e-mail maps to no account (the commit's `author` is `{}`).
    deleted: bool = False


@dataclass
class Team:
    id: int
    org: str
    slug: str
    name: str
    members: dict[str, str] = field(default_factory=dict)  # login -> member | maintainer
    # Invited, not yet accepted: a membership in state "pending", which grants nothing.
    pending: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    created_at: str = ""


@dataclass
class Org:
    account: Account
    members: dict[str, str] = field(default_factory=dict)  # login -> member | admin
    teams: dict[str, Team] = field(default_factory=dict)  # slug -> team


@dataclass
class Protection:
    """The subset of classic branch protection that decides whether a merge is allowed."""

    required_approvals: int = 0
    require_code_owner_reviews: bool = False
    dismiss_stale_reviews: bool = False
    enforce_admins: bool = False
    # Required checks: (context, app id or None). Pinned to an App, only that App's check run
    # counts; unpinned, a check run or a commit status of that name does.
    required_checks: list[tuple[str, int | None]] = field(default_factory=list)
    # required_pull_request_reviews.bypass_pull_request_allowances.apps: App ids whose bot may
    # merge without the required reviews (Janus merging a break-glass PR).
    bypass_apps: list[int] = field(default_factory=list)


@dataclass
class Review:
    id: int
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    body: str
    commit_id: str
    submitted_at: str


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: str
    updated_at: str


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Pull:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    created_at: str
    updated_at: str
    draft: bool = False
    state: str = "open"
    closed_at: str | None = None
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    maintainer_can_modify: bool = False
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)  # "org/slug"
    reviews: list[Review] = field(default_factory=list)
    # The mergeability test commit GitHub keeps at refs/pull/N/merge while the PR is open.
    test_merge_sha: str | None = None
    # A push to the base made the test merge stale; the background renewal (renewal.py) has
    # not redone it yet. Meanwhile GitHub answers ``mergeable: null``.
    test_merge_stale: bool = False
    # The fork the head branch lives in (full name); None: the base repository itself.
    head_repo: str | None = None


@dataclass
class Issue:
    """A plain issue (not a pull request): shares the repository's number sequence with pulls;
    comments and labels work on both, as on GitHub."""

    number: int
    id: int
    title: str
    body: str | None
    user: str
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)


@dataclass
class CheckRun:
    id: int
    suite_id: int
    name: str
    head_sha: str
    app_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckSuite:
    """One App's suite for one commit; GitHub creates it on push (``check_suite.requested``)."""

    id: int
    app_id: int
    head_sha: str
    head_branch: str | None
    before: str | None
    created_at: str
    updated_at: str


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


@dataclass
class Hook:
    id: int
    url: str
    secret: str | None
    events: list[str]
    active: bool = True
    created_at: str = ""
    last_status: int | None = None


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    git: GitRepo
    default_branch: str
    private: bool
    created_at: str
    description: str | None = None
    pushed_at: str = ""
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> permission
    team_permissions: dict[str, str] = field(default_factory=dict)  # "org/slug" -> permission
    protection: dict[str, Protection] = field(default_factory=dict)  # branch -> rules
    pulls: dict[int, Pull] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)  # plain issues; pulls are separate
    comments: dict[int, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> label
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    hooks: dict[int, Hook] = field(default_factory=dict)
    next_number: int = 1  # issues and pull requests share one sequence, as on GitHub
    parent: str | None = None  # full name of the repository this one is a fork of
    # Commits GitHub itself signed (sha -> signer login): those made through the API (the
    # contents endpoints) without a custom committer. Pushed commits are never in here.
    signed: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: str
    public_key_pem: bytes
    bot_login: str
    created_at: str
    events: list[str] = field(default_factory=list)
    # The App's own webhook: every event of every repository it is installed on, with
    # `installation` in the payload (how a GitHub App like Janus usually receives events).
    hook: Hook | None = None


@dataclass
class Installation:
    id: int
    app_id: int
    account: str
    repos: list[str]  # full names
    created_at: str


@dataclass
class Token:
    """An API credential: a user's personal token or an App installation token."""

    login: str
    installation_id: int | None = None
    expires_at: float | None = None  # epoch seconds; personal tokens never expire
