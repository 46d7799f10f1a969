"""Reading open request PRs from GitHub for the inbox and the timeline (blocking; sync routes).

Each PR's request files are read at its head and judged against the policies and CODEOWNERS of
its base commit with the receiver's own functions (:func:`janus.gitops.verify.classify_files`,
:func:`~janus.gitops.verify.load_base_policies`, :func:`~janus.gitops.verify.judge_file`) —
what the check run says, the inbox says. Files and head/base commits are immutable, so that
judgement is cached by (repository, PR, head, base): a page costs one listing call plus one
reviews call per open PR (and the check runs and statuses when the page shows them).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

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
from janus.policy.membership import Membership
from janus.web import pulls as pull_pages
from janus.web.inbox import OpenPull, RequestFile

log = logging.getLogger("janus.web.inbox")

MAX_OPEN_PULLS = 100
_CACHE_SIZE = 512
_files_cache: OrderedDict[tuple[str, int, str, str], tuple[RequestFile, ...]] = OrderedDict()
_lock = threading.Lock()


def request_files(repo: Repository, pull: PullRequest,
                  membership: Membership) -> tuple[RequestFile, ...]:
    """The PR's request files, judged (cached by head and base commit). A PR that changes no
    request file, or whose base policies do not load, has none that anyone can approve."""
    key = (repo.full_name.lower(), pull.number, pull.head.sha, pull.base.sha)
    with _lock:
        cached = _files_cache.get(key)
        if cached is not None:
            _files_cache.move_to_end(key)
            return cached
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
    with _lock:
        _files_cache[key] = files
        while len(_files_cache) > _CACHE_SIZE:
            _files_cache.popitem(last=False)
    return files


def read_pull(repo: Repository, pull: PullRequest, membership: Membership, *,
              with_checks: bool) -> OpenPull:
    """One PR as the inbox and the timeline see it."""
    check_state = ""
    if with_checks:
        # The same words as the request's own page (janus.web.pulls).
        check_state = pull_pages.summarize(repo, pull).check_state
    return OpenPull(
        number=pull.number, title=pull.title, url=pull.html_url,
        author=pull.user.login if pull.user else "", head_sha=pull.head.sha,
        opened_at=pull.created_at, files=request_files(repo, pull, membership),
        reviews=tuple(fetch_reviews(pull)), check_state=check_state,
    )


def open_pulls(repo: Repository, membership: Membership, *,
               with_checks: bool) -> list[OpenPull]:
    """Every open PR of the access repository (at most MAX_OPEN_PULLS, oldest first)."""
    found: list[OpenPull] = []
    for pull in repo.get_pulls(state="open", sort="created", direction="asc"):
        try:
            found.append(read_pull(repo, pull, membership, with_checks=with_checks))
        except GithubException as exc:
            # One PR GitHub will not show (deleted meanwhile) does not empty the inbox.
            event(log, "inbox.pull_unreadable", level=logging.WARNING, pull=pull.number,
                  status=exc.status)
        if len(found) >= MAX_OPEN_PULLS:
            break
    return found
