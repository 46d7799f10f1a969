"""Routes of the request timeline: ``GET /requests/pr/{number}/timeline`` (a request PR and
every grant it made) and ``GET /grants/{name}/timeline`` (one grant, with its PR).

Only the requester, an approver (eligible under the deciding policy, or one who approved the
merge) and admins may see a timeline; anyone else gets 404, the same answer as for a request
that does not exist, so the page does not tell strangers which requests exist. Plain ``def``:
GitHub, Kubernetes and the database are called from FastAPI's thread pool.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus.logs import event
from janus.resource import AccessRequestView, NotFound
from janus.web.auth import CurrentUser, User
from janus.web.github_access import NoGitHubCredentials, repo_for_user
from janus.web.inbox import OpenPull, eligible
from janus.web.inbox_source import request_files
from janus.web.ledger_source import LedgerUnreadable, PastGrant
from janus.web.pages import ledger_of
from janus.web.templating import templates
from janus.web.timeline import GrantFacts, build_timeline, may_see
from janus.web.timeline_source import (
    LEDGER_ENTRY_ANNOTATION,
    ledger_entry,
    pull_facts,
    sessions_of,
)

log = logging.getLogger("janus.web.timeline")
router = APIRouter()


def _not_found(user: User, what: str) -> HTTPException:
    event(log, "timeline.denied_or_missing", level=logging.WARNING, user=user.login, what=what)
    return HTTPException(status_code=404, detail="no such request")


def _repo(request: Request) -> Repository:
    try:
        return repo_for_user(request)
    except NoGitHubCredentials as exc:
        raise HTTPException(status_code=503, detail="GitHub is not configured") from exc


def _pull(repo: Repository, number: int) -> PullRequest | None:
    try:
        return repo.get_pull(number)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise HTTPException(status_code=502, detail="GitHub did not answer") from exc


def _eligible(request: Request, user: User, repo: Repository, pull: PullRequest) -> bool:
    """An eligible approver of the PR (the inbox's rule: would their approval count)."""
    membership = request.app.state.membership
    files = request_files(repo, pull, membership)
    probe = OpenPull(pull.number, pull.title, pull.html_url,
                     pull.user.login if pull.user else "", pull.head.sha, pull.created_at,
                     files, ())
    return eligible(user.login, probe, membership)


def _requesters(request: Request, repo: Repository, pull: PullRequest) -> list[str]:
    files = request_files(repo, pull, request.app.state.membership)
    return [pull.user.login if pull.user else "",
            *(f.request.requester for f in files if f.request is not None)]


def _ended(request: Request) -> tuple[PastGrant, ...]:
    source = ledger_of(request)
    if not source.enabled:
        return ()
    try:
        return source.ended()
    except LedgerUnreadable:
        return ()


def _of_pull(view: AccessRequestView, repo_name: str, number: int) -> bool:
    p = view.provenance
    return p is not None and p.pull_request == number and p.repo.lower() == repo_name.lower()


def _facts(request: Request, name: str, view: AccessRequestView | None,
           past: PastGrant | None) -> GrantFacts:
    path = (past.entry_path if past is not None and past.entry_path else
            view.meta.annotations.get(LEDGER_ENTRY_ANNOTATION) if view is not None else None)
    runtime = getattr(request.app.state, "terminal", None)
    return GrantFacts(name=name, view=view, past=past,
                      entry=ledger_entry(request.app.state.settings, path),
                      sessions=sessions_of(getattr(runtime, "store", None), name))


def _render(request: Request, user: User, repo: Repository | None, pull: PullRequest | None,
            grants: list[GrantFacts]) -> Response:
    facts = pull_facts(repo, pull) if repo is not None and pull is not None else None
    timeline = build_timeline(facts, grants, is_admin=user.is_admin)
    context: dict[str, Any] = {"user": user, "timeline": timeline}
    return templates.TemplateResponse(request, "timeline.html", context)


@router.get("/requests/pr/{number}/timeline")
def pull_timeline(number: int, request: Request, user: CurrentUser) -> Response:
    repo = _repo(request)
    pull = _pull(repo, number)
    if pull is None:
        raise _not_found(user, f"pr {number}")
    repo_name = request.app.state.settings.repo
    views = [v for v in request.app.state.grants.list() if _of_pull(v, repo_name, number)]
    known = {v.name for v in views}
    pasts = [p for p in _ended(request) if p.pull_request == number and p.name not in known]
    approved_by = [a for v in views if v.provenance for a in v.provenance.approvers]
    approved_by += [a for p in pasts for a in p.approvers]
    allowed = may_see(user.login, is_admin=user.is_admin,
                      requesters=_requesters(request, repo, pull), eligible_approver=False,
                      approved_by=approved_by) or _eligible(request, user, repo, pull)
    if not allowed:
        raise _not_found(user, f"pr {number}")
    grants = [_facts(request, v.name, v, None) for v in views]
    grants += [_facts(request, p.name, None, p) for p in pasts]
    return _render(request, user, repo, pull, grants)


@router.get("/grants/{name}/timeline")
def grant_timeline(name: str, request: Request, user: CurrentUser) -> Response:
    view: AccessRequestView | None
    try:
        view = request.app.state.grants.get(name)
    except NotFound:
        view = None
    past = next((p for p in _ended(request) if p.name == name), None)
    if view is None and past is None:
        raise _not_found(user, f"grant {name}")
    requester = view.requester if view is not None else past.requester if past else ""
    number = (view.pull_request if view is not None else None) or (
        past.pull_request if past is not None else None)
    approved_by = (view.provenance.approvers if view is not None and view.provenance else
                   past.approvers if past is not None else ())
    repo: Repository | None = None
    pull: PullRequest | None = None
    if number is not None:
        try:
            repo = repo_for_user(request)
            pull = _pull(repo, number)
        except (NoGitHubCredentials, HTTPException) as exc:
            event(log, "timeline.pull_unreadable", level=logging.WARNING, grant=name,
                  pull=number, error=str(exc)[:200])
            repo = pull = None
    allowed = may_see(user.login, is_admin=user.is_admin, requesters=[requester],
                      eligible_approver=False, approved_by=approved_by) or (
        repo is not None and pull is not None and _eligible(request, user, repo, pull))
    if not allowed:
        raise _not_found(user, f"grant {name}")
    return _render(request, user, repo, pull, [_facts(request, name, view, past)])
