"""What the pages show about request PRs: state, reviews and checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import httpx
from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus.gitops.request_pr import BRANCH_PREFIX
from janus.web.pull_watch import PullMark

_MAX_LISTED = 50
# One page of GitHub's list: a change beyond the 100 most recently updated open PRs is seen
# when it moves its PR to the top.
_MAX_WATCHED = 100


@dataclass(frozen=True)
class CheckState:
    name: str
    status: str        # queued | in_progress | completed | (commit status) pending
    conclusion: str    # success | failure | neutral | ... | "" while running


@dataclass(frozen=True)
class PullSummary:
    number: int
    title: str
    url: str
    author: str
    branch: str
    state: str                                  # open | closed | merged
    reviews: dict[str, str] = field(default_factory=dict)   # reviewer -> latest state
    checks: list[CheckState] = field(default_factory=list)

    @property
    def review_state(self) -> str:
        states = set(self.reviews.values())
        if "CHANGES_REQUESTED" in states:
            return "changes requested"
        if "APPROVED" in states:
            approvers = sorted(r for r, s in self.reviews.items() if s == "APPROVED")
            return "approved by " + ", ".join(approvers)
        return "awaiting review"

    @property
    def check_state(self) -> str:
        if not self.checks:
            return "no checks yet"
        if any(c.status != "completed" for c in self.checks):
            return "running"
        if all(c.conclusion in ("success", "neutral", "skipped") for c in self.checks):
            return "passed"
        return "failed"


def belongs_to(pull: PullRequest, login: str) -> bool:
    """The requester's PR: authored by them, or on their request branch."""
    author = (pull.user.login if pull.user else "") or ""
    return author.lower() == login.lower() or pull.head.ref.startswith(
        f"{BRANCH_PREFIX}/{login.lower()}/"
    )


def _latest_reviews(pull: PullRequest) -> dict[str, str]:
    latest: dict[str, str] = {}
    for review in pull.get_reviews():
        if review.user is None or review.state in ("COMMENTED", "PENDING"):
            continue
        latest[review.user.login] = review.state
    return latest


def _checks(repo: Repository, sha: str) -> list[CheckState]:
    out: list[CheckState] = []
    commit = repo.get_commit(sha)
    try:
        for run in commit.get_check_runs():
            out.append(CheckState(run.name, run.status or "", run.conclusion or ""))
    except GithubException:
        pass
    try:
        for status in commit.get_combined_status().statuses:
            done = status.state != "pending"
            out.append(CheckState(status.context, "completed" if done else "pending",
                                  status.state if done else ""))
    except GithubException:
        pass
    return out


def summarize(repo: Repository, pull: PullRequest, with_details: bool = True) -> PullSummary:
    state = "merged" if pull.merged else pull.state
    reviews: dict[str, str] = {}
    checks: list[CheckState] = []
    if with_details:
        try:
            reviews = _latest_reviews(pull)
        except GithubException:
            reviews = {}
        checks = _checks(repo, pull.head.sha)
    return PullSummary(
        number=pull.number,
        title=pull.title,
        url=pull.html_url,
        author=pull.user.login if pull.user else "",
        branch=pull.head.ref,
        state=state,
        reviews=reviews,
        checks=checks,
    )


def open_pulls_of(repo: Repository, login: str) -> list[PullSummary]:
    found: list[PullSummary] = []
    for pull in repo.get_pulls(state="open"):
        if belongs_to(pull, login):
            found.append(summarize(repo, pull))
        if len(found) >= _MAX_LISTED:
            break
    return found



class OpenPullLister:
    """The open PRs of the access repository as the live pages' poll sees them
    (janus.web.pull_watch): one list call (the 100 most recently updated), no per-PR reads.

    The call is a conditional request: GitHub answers ``304 Not Modified`` to the list's last
    ``ETag`` while nothing changed, and a 304 does not count against the token's rate limit, so
    polling every few seconds costs the web app's token (which also reads policies and the
    ledger) next to nothing. A server that ignores ``If-None-Match`` just answers 200.
    """

    def __init__(self, api_url: str, repo: str, token: str, *, timeout: float = 15.0) -> None:
        self._url = f"{api_url.rstrip('/')}/repos/{repo}/pulls"
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        self._timeout = timeout
        self._etag: str | None = None
        self._marks: list[PullMark] = []
        self.not_modified = 0   # answers that were 304 (tests, logs)

    def __call__(self) -> list[PullMark]:
        headers = dict(self._headers)
        if self._etag:
            headers["If-None-Match"] = self._etag
        response = httpx.get(
            self._url, headers=headers, timeout=self._timeout,
            params={"state": "open", "sort": "updated", "direction": "desc",
                    "per_page": _MAX_WATCHED},
        )
        if response.status_code == 304:
            self.not_modified += 1
            return list(self._marks)
        response.raise_for_status()
        self._marks = [
            PullMark(int(p["number"]), str(p["head"]["sha"]), _when(p.get("updated_at")))
            for p in response.json()
        ]
        self._etag = response.headers.get("etag")
        return list(self._marks)


def _when(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
