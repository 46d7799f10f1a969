"""What the pages show about request PRs: state, reviews and checks."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def open_pull_marks(repo: Repository) -> list[PullMark]:
    """The open PRs of the access repository, newest change first, as the live pages' poll
    sees them (janus.web.pull_watch): one list call, no per-PR reads."""
    marks: list[PullMark] = []
    for pull in repo.get_pulls(state="open", sort="updated", direction="desc"):
        marks.append(PullMark(pull.number, pull.head.sha, pull.updated_at))
        if len(marks) >= _MAX_WATCHED:
            break
    return marks
