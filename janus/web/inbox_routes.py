"""Routes of "Waiting for my review": the page ``GET /inbox`` and the navigation bar's count
``GET /inbox/count`` (JSON, re-read by static/js/inbox_count.js on the live event stream's
``pulls`` and ``grant`` events and when it reconnects). Plain ``def``: GitHub is called from
FastAPI's thread pool."""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from github import GithubException

from janus.logs import event
from janus.web.auth import CurrentUser
from janus.web.github_access import NoGitHubCredentials, repo_for_user
from janus.web.inbox import Inbox, approver_of, build_inbox
from janus.web.inbox_source import open_pulls, with_check_states
from janus.web.templating import templates

log = logging.getLogger("janus.web.inbox")
router = APIRouter()


def _inbox(request: Request, login: str, *, with_checks: bool) -> Inbox:
    membership = request.app.state.membership
    repo = repo_for_user(request)
    pulls = open_pulls(repo, membership)
    now = dt.datetime.now(dt.UTC)
    inbox = build_inbox(login, pulls, membership, now)
    if not with_checks:
        return inbox
    # Check states of the rows shown only: reading them costs three calls per PR.
    shown = {r.number for r in inbox.rows + inbox.already_approved}
    return build_inbox(login, with_check_states(repo, pulls, shown), membership, now)


@router.get("/inbox")
def inbox_page(request: Request, user: CurrentUser) -> Response:
    inbox: Inbox | None = None
    error = None
    try:
        inbox = _inbox(request, user.login, with_checks=True)
    except (NoGitHubCredentials, GithubException, OSError) as exc:
        error = "Open pull requests cannot be read from GitHub right now."
        event(log, "inbox.list_failed", level=logging.WARNING, user=user.login,
              error=f"{type(exc).__name__}: {exc}"[:300])
    membership = request.app.state.membership
    policies = request.app.state.policies.get_or_none()
    return templates.TemplateResponse(
        request, "inbox.html",
        {"user": user, "inbox": inbox, "error": error,
         "approver_of": approver_of(policies, user.login, membership)},
    )


@router.get("/inbox/count")
def inbox_count(request: Request, user: CurrentUser) -> JSONResponse:
    """``{"count": n}`` (``null`` while GitHub cannot be read): the navigation bar's badge."""
    try:
        count: int | None = _inbox(request, user.login, with_checks=False).count
    except NoGitHubCredentials:
        count = None  # no GitHub configured (a cluster-only set-up): nothing to review here
    except (GithubException, OSError) as exc:
        count = None
        event(log, "inbox.count_failed", level=logging.WARNING, user=user.login,
              error=f"{type(exc).__name__}: {exc}"[:300])
    return JSONResponse({"count": count}, headers={"Cache-Control": "no-store"})
