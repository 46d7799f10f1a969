"""Open the pull request of an access request, idempotently.

The branch name is derived from the requester and the files (``janus/request/<login>/<hash>``),
and every step looks before it creates: the branch, each file, the PR. A POST retried after a 5xx
(or a double click) therefore finds what the first attempt made and never opens a second branch
or PR. Files are written through the contents API, one commit per file, each authored by
whoever's token ``repo`` was built with — the requester's own OAuth token in the web app, so the
PR author is the requester, as the approval rules require.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re

from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus.logs import event

log = logging.getLogger("janus.gitops.request_pr")

BRANCH_PREFIX = "janus/request"
_HASH_LEN = 12
_LOGIN_SAFE = re.compile(r"[^a-z0-9-]+")


def request_branch(requester: str, files: dict[str, str]) -> str:
    """``janus/request/<login>/<hash of the files>``: same request, same branch."""
    digest = hashlib.sha256(
        json.dumps(sorted(files.items()), ensure_ascii=False).encode()
    ).hexdigest()[:_HASH_LEN]
    login = _LOGIN_SAFE.sub("-", requester.lower()).strip("-") or "unknown"
    return f"{BRANCH_PREFIX}/{login}/{digest}"


def _is_missing(exc: GithubException) -> bool:
    return exc.status == 404


def _ensure_branch(repo: Repository, branch: str, base: str) -> None:
    try:
        repo.get_git_ref(f"heads/{branch}")
        return
    except GithubException as exc:
        if not _is_missing(exc):
            raise
    base_sha = repo.get_branch(base).commit.sha
    try:
        repo.create_git_ref(ref=f"refs/heads/{branch}", sha=base_sha)
    except GithubException as exc:
        # 422 "Reference already exists": a concurrent attempt made it between look and create.
        if exc.status != 422:
            raise


def _ensure_file(repo: Repository, branch: str, path: str, text: str, message: str) -> None:
    try:
        current = repo.get_contents(path, ref=branch)
    except GithubException as exc:
        if not _is_missing(exc):
            raise
        repo.create_file(path, message, text, branch=branch)
        return
    if isinstance(current, list):
        raise ValueError(f"{path} is a directory in {repo.full_name}")
    if current.decoded_content.decode("utf-8") != text:
        # The path exists on the base branch already (e.g. an earlier request with this name):
        # the PR then modifies it, which the judge treats as a new request or an extension.
        repo.update_file(path, message, text, current.sha, branch=branch)


def _find_pull(repo: Repository, branch: str, base: str) -> PullRequest | None:
    owner = repo.owner.login
    for pull in repo.get_pulls(state="all", head=f"{owner}:{branch}", base=base):
        if pull.head.ref == branch:
            return pull
    return None


def open_request_pr(
    repo: Repository,
    requester: str,
    files: dict[str, str],
    title: str,
    body: str,
    base: str | None = None,
) -> PullRequest:
    """Open (or find) the PR adding *files* (path -> text) for *requester*."""
    if not files:
        raise ValueError("a request PR needs at least one file")
    base = base or repo.default_branch
    branch = request_branch(requester, files)
    existing = _find_pull(repo, branch, base)
    if existing is not None:
        event(log, "request_pr.found", request=branch, pull=existing.number)
        return existing
    _ensure_branch(repo, branch, base)
    for path, text in sorted(files.items()):
        _ensure_file(repo, branch, path, text, f"Access request by {requester}: {path}")
    try:
        pull = repo.create_pull(base=base, head=branch, title=title, body=body)
    except GithubException as exc:
        # 422 "A pull request already exists": a concurrent attempt won the race.
        if exc.status != 422:
            raise
        found = _find_pull(repo, branch, base)
        if found is None:
            raise
        pull = found
    event(log, "request_pr.opened", request=branch, pull=pull.number, files=len(files))
    return pull
