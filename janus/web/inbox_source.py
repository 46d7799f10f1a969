"""Reading open request PRs from GitHub for the inbox and the timeline (blocking; sync routes).

Each PR's request files are read at its head and judged against the policies and CODEOWNERS of
its base commit with the receiver's own functions (:func:`janus.gitops.verify.classify_files`,
:func:`~janus.gitops.verify.load_base_policies`, :func:`~janus.gitops.verify.judge_file`) —
what the check run says, the inbox says. Files and head/base commits are immutable, so that
judgement is cached by (repository, PR, head, base), for five minutes (membership). Reviews
are cached by the PR's head and ``updated_at`` (a review moves it, which is also what the live
pages' poll watches), check states by head commit for a few seconds. A count when nothing
changed costs the one listing call; the page reads the check state of the rows it shows only
(``bench/inbox.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Collection

from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus.gitops.verify import (
    StepFailed,
    classify_files,
    fetch_reviews,
    judge_file,
    load_base_policies,
)
from janus.logs import event
from janus.policy.approval import Review
from janus.policy.membership import Membership
from janus.web.inbox import OpenPull, RequestFile
from janus.web.pulls import CheckState, PullSummary

log = logging.getLogger("janus.web.inbox")

MAX_OPEN_PULLS = 100
_CACHE_SIZE = 512
CHECKS_TTL_SECONDS = 10.0
# A judgement also depends on team membership (who may request), which the web app re-reads
# every five minutes (janus.web.membership): a cached one is redone as often.
FILES_TTL_SECONDS = 300.0
_files_cache: OrderedDict[tuple[str, int, str, str],
                          tuple[float, tuple[RequestFile, ...]]] = OrderedDict()
_reviews_cache: OrderedDict[tuple[str, int, str, str], tuple[Review, ...]] = OrderedDict()
_checks_cache: OrderedDict[tuple[str, str], tuple[float, tuple[CheckRead, ...]]] = OrderedDict()
_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class CheckRead:
    """One check run or commit status of a commit, with when it last changed."""

    check: CheckState
    at: dt.datetime | None


def _remember(cache: OrderedDict, key: object, value: object) -> None:
    with _lock:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def read_checks(repo: Repository, sha: str) -> tuple[CheckRead, ...]:
    """The check runs and commit statuses of *sha* (cached for CHECKS_TTL_SECONDS)."""
    key = (repo.full_name.lower(), sha)
    with _lock:
        cached = _checks_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < CHECKS_TTL_SECONDS:
        return cached[1]
    out: list[CheckRead] = []
    commit = repo.get_commit(sha)
    try:
        for run in commit.get_check_runs():
            out.append(CheckRead(CheckState(run.name, run.status or "", run.conclusion or ""),
                                 run.completed_at or run.started_at))
    except GithubException:
        pass
    try:
        for status in commit.get_combined_status().statuses:
            done = status.state != "pending"
            out.append(CheckRead(CheckState(status.context, "completed" if done else "pending",
                                            status.state if done else ""),
                                 status.updated_at or status.created_at))
    except GithubException:
        pass
    _remember(_checks_cache, key, (time.monotonic(), tuple(out)))
    return tuple(out)


def check_words(checks: Collection[CheckRead]) -> str:
    """passed | failed | running | no checks yet — the words of the request's own page
    (:attr:`janus.web.pulls.PullSummary.check_state`)."""
    return PullSummary(0, "", "", "", "", "open", checks=[c.check for c in checks]).check_state


def reviews_of(repo: Repository, pull: PullRequest) -> tuple[Review, ...]:
    """The PR's reviews, cached while its head and ``updated_at`` stay the same."""
    stamp = pull.updated_at.isoformat() if pull.updated_at else ""
    key = (repo.full_name.lower(), pull.number, pull.head.sha, stamp)
    if stamp:
        with _lock:
            cached = _reviews_cache.get(key)
        if cached is not None:
            return cached
    reviews = tuple(fetch_reviews(pull))
    if stamp:
        _remember(_reviews_cache, key, reviews)
    return reviews


def request_files(repo: Repository, pull: PullRequest,
                  membership: Membership) -> tuple[RequestFile, ...]:
    """The PR's request files, judged (cached by head and base commit). A PR that changes no
    request file, or whose base policies do not load, has none that anyone can approve."""
    key = (repo.full_name.lower(), pull.number, pull.head.sha, pull.base.sha)
    with _lock:
        cached = _files_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < FILES_TTL_SECONDS:
            _files_cache.move_to_end(key)
            return cached[1]
    changes = classify_files(pull)
    files: tuple[RequestFile, ...] = ()
    if changes.changed:
        try:
            policy_set, codeowners = load_base_policies(repo, pull.base.sha)
        except StepFailed as failure:
            event(log, "inbox.policies_unusable", level=logging.WARNING, pull=pull.number,
                  step=failure.step)
        else:
            judged = [judge_file(repo, p, pull.head.sha, policy_set, membership)
                      for p in changes.changed]
            files = tuple(RequestFile(j.path, j.request, j.decision,
                                      codeowners.owners_for(j.path) if codeowners else None)
                          for j in judged)
    _remember(_files_cache, key, (time.monotonic(), files))
    return files


def read_pull(repo: Repository, pull: PullRequest, membership: Membership) -> OpenPull:
    """One PR as the inbox sees it (without its check state: :func:`with_check_states`)."""
    return OpenPull(
        number=pull.number, title=pull.title, url=pull.html_url,
        author=pull.user.login if pull.user else "", head_sha=pull.head.sha,
        opened_at=pull.created_at, files=request_files(repo, pull, membership),
        reviews=reviews_of(repo, pull),
    )


def with_check_states(repo: Repository, pulls: list[OpenPull],
                      numbers: Collection[int]) -> list[OpenPull]:
    """*pulls* with the check state of those numbered *numbers* (the rows a page shows)."""
    return [dataclasses.replace(p, check_state=check_words(read_checks(repo, p.head_sha)))
            if p.number in numbers else p for p in pulls]


def open_pulls(repo: Repository, membership: Membership) -> list[OpenPull]:
    """Every open PR of the access repository (at most MAX_OPEN_PULLS, oldest first)."""
    found: list[OpenPull] = []
    for pull in repo.get_pulls(state="open", sort="created", direction="asc"):
        try:
            found.append(read_pull(repo, pull, membership))
        except GithubException as exc:
            # One PR GitHub will not show (deleted meanwhile) does not empty the inbox.
            event(log, "inbox.pull_unreadable", level=logging.WARNING, pull=pull.number,
                  status=exc.status)
        if len(found) >= MAX_OPEN_PULLS:
            break
    return found
