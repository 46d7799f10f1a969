"""The pages: my requests and grants, the request form, PR status, admin view, revocation.

Routes that call Kubernetes or GitHub are plain ``def``: FastAPI runs them in its thread pool,
so the blocking clients never stall the event loop (and the terminal's WebSockets with it).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from github import GithubException

from janus.gitops.request_pr import open_request_pr
from janus.logs import event
from janus.model import PolicySet, Problem
from janus.policy.roles import offers
from janus.resource import (
    AccessRequestView,
    AlreadyRevoked,
    GrantEnded,
    NotFound,
    readiness,
    standing,
)
from janus.web import admin_view, pulls
from janus.web import readiness as web_readiness
from janus.web.auth import AdminUser, CurrentUser, User, require_csrf
from janus.web.github_access import NoGitHubCredentials, repo_for_user
from janus.web.grants import GrantStore
from janus.web.ledger_source import (
    LedgerSource,
    LedgerUnreadable,
    PastGrant,
    ledger_source_for,
    past_grants,
)
from janus.web.policy_source import PolicySource, PolicyUnavailable
from janus.web.request_form import (
    RequestForm,
    duration_choices,
    field_errors,
    guidance_context,
    max_duration_for,
    pr_body,
    pr_title,
    prepare,
    split_namespaces,
)
from janus.web.templating import templates

log = logging.getLogger("janus.web.pages")
router = APIRouter()

MAX_REASON = 500
_LEDGER_LOCK = threading.Lock()
MIN_REASON = 10


def _grants(request: Request) -> GrantStore:
    return request.app.state.grants


def _policies(request: Request) -> PolicySource:
    return request.app.state.policies


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# -- my requests and grants ------------------------------------------------------------------


@router.get("/")
def home(request: Request, user: CurrentUser) -> Response:
    grants = _grants(request).list_for(user.login)
    live = [g for g in grants if standing.in_force(g)]
    policies = _policies(request).get_or_none() if live else None
    # What each grant's role lets the page offer (terminal, log viewer).
    offered = {g.name: offers(policies.config if policies else None, g.role) for g in live}
    past, ledger_error = _past(request, grants, user.login)
    open_pulls: list[pulls.PullSummary] = []
    pulls_error = None
    try:
        open_pulls = pulls.open_pulls_of(repo_for_user(request), user.login)
    except (NoGitHubCredentials, GithubException, OSError) as exc:
        pulls_error = "Open pull requests cannot be listed right now."
        event(log, "pulls.list_failed", level=logging.WARNING, user=user.login, error=str(exc))
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "user": user,
            "live": live,
            "offers": offered,
            # Active and not past expiresAt: an expired grant offers no terminal even before
            # the controller marks it Expired.
            "usable": {g.name: standing.usable(g) for g in live},
            "past": past[:50],
            "ledger_error": ledger_error,
            "open_pulls": open_pulls,
            "pulls_error": pulls_error,
        },
    )


@router.post("/grants/{name}/relinquish", dependencies=[Depends(require_csrf)])
def relinquish(name: str, request: Request, user: CurrentUser) -> Response:
    grant = _grant_or_404(request, name)
    # Only the requester gives up their own grant; admins use the admin revoke (with a reason).
    if not grant.belongs_to(user.login):
        event(log, "grant.relinquish_denied", request=name, user=user.login, level=logging.WARNING)
        raise HTTPException(status_code=403, detail="not your grant")
    _revoke(request, grant, user, "relinquished by the requester")
    return _after_revoke(request, "/")


# -- request form ------------------------------------------------------------------------------


def _form_context(
    request: Request, user: User, policies: PolicySet | None, **extra: Any
) -> dict[str, Any]:
    membership = request.app.state.membership
    context: dict[str, Any] = {
        "user": user,
        "clusters": list(policies.config.clusters) if policies else [],
        "roles": sorted(policies.config.roles) if policies else [],
        "durations": duration_choices(policies) if policies else [],
        "default_duration": _fmt_default(policies),
        "max_durations": max_duration_for(policies, user.login, membership) if policies else {},
        "global_max": _fmt_max(policies),
        "form": None,
        "problems": [],
        "errors": {},
        "error": None if policies else "The access policies cannot be read right now.",
    }
    context.update(extra)
    # Guidance for the chosen cluster (namespaces, durations, ticket, approvers) and each
    # problem worded for its field (janus.web.request_form).
    context.update(guidance_context(policies, user.login, membership, context["form"]))
    chosen = context["chosen"]
    context["errors"] = field_errors(context["problems"], context["form"], chosen) \
        if context["form"] is not None else {}
    return context


def _fmt_default(policies: PolicySet | None) -> str:
    from janus.model import format_duration

    return format_duration(policies.config.duration_default) if policies else "1h"


def _fmt_max(policies: PolicySet | None) -> str:
    from janus.model import format_duration

    return format_duration(policies.config.duration_max) if policies else ""


@router.get("/requests/new")
def request_form(request: Request, user: CurrentUser) -> Response:
    policies = _policies(request).get_or_none()
    return templates.TemplateResponse(
        request, "request_form.html", _form_context(request, user, policies)
    )


@router.post("/requests", dependencies=[Depends(require_csrf)])
def submit_request(
    request: Request,
    user: CurrentUser,
    cluster: str = Form(...),
    namespaces: str = Form(...),
    role: str = Form(...),
    duration: str = Form(...),
    reason: str = Form(...),
    ticket: str = Form(""),
    break_glass: str = Form(""),
) -> Response:
    form = RequestForm(
        cluster=cluster.strip(),
        namespaces=split_namespaces(namespaces),
        role=role.strip(),
        duration=duration.strip(),
        reason=" ".join(reason.split()),
        ticket=ticket.strip(),
        # The form's separate, warned "Break glass" button (janus.policy.break_glass).
        break_glass=break_glass == "1",
    )
    try:
        policies = _policies(request).get()
    except PolicyUnavailable as exc:
        event(log, "request.policies_unavailable", level=logging.ERROR, error=str(exc))
        return templates.TemplateResponse(
            request, "request_form.html",
            _form_context(request, user, None, form=form), status_code=503,
        )
    prepared = prepare(user.login, form, policies, request.app.state.membership, _now().date())
    if prepared.problems:
        event(log, "request.rejected", request=prepared.name, user=user.login,
              rules=[p.rule for p in prepared.problems])
        return templates.TemplateResponse(
            request, "request_form.html",
            _form_context(request, user, policies, form=form, problems=prepared.problems),
            status_code=400,
        )
    try:
        repo = repo_for_user(request)
        pull = open_request_pr(
            repo, user.login, prepared.files, pr_title(user.login, form),
            pr_body(user.login, form, prepared),
        )
    except (NoGitHubCredentials, GithubException, OSError) as exc:
        event(log, "request.pr_failed", level=logging.ERROR, request=prepared.name,
              user=user.login, error=str(exc))
        problem = Problem("github", None, None, "github.unavailable",
                          "GitHub refused or did not answer; nothing was lost, please retry")
        return templates.TemplateResponse(
            request, "request_form.html",
            _form_context(request, user, policies, form=form, problems=[problem]),
            status_code=502,
        )
    event(log, "request.pr_opened", request=prepared.name, user=user.login, pull=pull.number,
          namespaces=list(form.namespaces), cluster=form.cluster)
    # This replica's pages listing PRs hear of it now, not at the next poll (janus.web.pull_watch).
    watch = getattr(request.app.state, "pull_watch", None)
    if watch is not None:
        watch.poke()
    return RedirectResponse(f"/requests/pr/{pull.number}", status_code=303)


def _pull_for(request: Request, user: User, number: int) -> tuple[Any, Any]:
    try:
        repo = repo_for_user(request)
        pull = repo.get_pull(number)
    except NoGitHubCredentials as exc:
        raise HTTPException(status_code=503, detail="GitHub is not configured") from exc
    except GithubException as exc:
        raise HTTPException(status_code=404 if exc.status == 404 else 502) from exc
    if not (user.is_admin or pulls.belongs_to(pull, user.login)):
        raise HTTPException(status_code=404)
    return repo, pull


@router.get("/requests/pr/{number}")
def pull_page(number: int, request: Request, user: CurrentUser) -> Response:
    repo, pull = _pull_for(request, user, number)
    return templates.TemplateResponse(
        request, "pull.html", {"user": user, "pull": pulls.summarize(repo, pull)}
    )


@router.get("/requests/pr/{number}/status")
def pull_status(number: int, request: Request, user: CurrentUser) -> Response:
    repo, pull = _pull_for(request, user, number)
    return templates.TemplateResponse(
        request, "fragments/pull_status.html", {"pull": pulls.summarize(repo, pull)}
    )


# -- admin -----------------------------------------------------------------------------------


@router.get("/admin")
def admin_page(request: Request, user: AdminUser) -> Response:
    grants = _grants(request).list()
    recent, ledger_error = _past(request, grants, None)
    chosen = admin_view.AdminFilter.from_query(request.query_params)
    live = [g for g in grants if standing.in_force(g) and chosen.live(g)]
    github_url = request.app.state.settings.github_url
    return templates.TemplateResponse(
        request,
        "admin.html",
        {"user": user, "live": live,
         "recent": [p for p in recent if chosen.ended(p)][:50], "ledger_error": ledger_error,
         "filters": chosen, "phases": admin_view.PHASES,
         "pr_urls": {g.name: admin_view.pr_url(g, github_url) for g in live},
         "approvers": {g.name: admin_view.approvers(g) for g in live},
         "break_glass": {g.name: admin_view.break_glass(g) for g in live},
         # Choices for the filters, from every grant the view knows of.
         "known": {
             "user": sorted({g.requester for g in grants} | {p.requester for p in recent}),
             "cluster": sorted({g.cluster for g in grants} | {p.cluster for p in recent}),
         }},
    )


@router.post("/admin/grants/{name}/revoke", dependencies=[Depends(require_csrf)])
def admin_revoke(
    name: str,
    request: Request,
    user: AdminUser,
    reason: str = Form(...),
    filters: str = Form(""),
) -> Response:
    reason = " ".join(reason.split())
    if not reason:
        raise HTTPException(status_code=400, detail="a reason is required")
    grant = _grant_or_404(request, name)
    _revoke(request, grant, user, reason[:MAX_REASON])
    # Back to the same filtered view (rebuilt from the filters, never a URL taken as given).
    back = admin_view.AdminFilter.from_query(dict(parse_qsl(filters))).query()
    return _after_revoke(request, "/admin" + (f"?{back}" if back else ""))


# -- shared ----------------------------------------------------------------------------------


def _ledger(request: Request) -> LedgerSource:
    """The app's ledger reader, made at first use (one per app: its cache is shared)."""
    state = request.app.state
    with _LEDGER_LOCK:
        if getattr(state, "ledger", None) is None:
            state.ledger = ledger_source_for(state.settings)
        return state.ledger


def ledger_of(request: Request) -> LedgerSource:
    """The app's ledger reader (for the terminal's ended-grant page)."""
    return _ledger(request)


def _past(request: Request, grants: list[AccessRequestView], login: str | None
          ) -> tuple[list[PastGrant], str | None]:
    """Ended grants from the ledger (the record) plus ended AccessRequests it does not have
    yet; the ledger's absence is said on the page, never an error (docs/design.md §11)."""
    settings = request.app.state.settings
    source = _ledger(request)
    recorded = None
    error = None
    if source.enabled:
        try:
            recorded = source.ended()
        except LedgerUnreadable:
            error = "The ledger cannot be read right now; ended grants are shown from the cluster."
    return past_grants(recorded, grants, settings.github_url, login), error



def _grant_or_404(request: Request, name: str) -> AccessRequestView:
    try:
        return _grants(request).get(name)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail="no such grant") from exc


def _revoke(request: Request, grant: AccessRequestView, user: User, reason: str) -> None:
    try:
        _grants(request).request_revocation(grant.name, user.login, reason, _now())
    except (AlreadyRevoked, GrantEnded) as exc:
        raise HTTPException(status_code=409, detail="already revoked or ended") from exc
    event(log, "grant.revocation_requested", request=grant.name, by=user.login,
          requester=grant.requester, reason=reason)


def _after_revoke(request: Request, page: str) -> Response:
    if _is_htmx(request):
        # HTMX follows HX-Redirect with a full page load: the lists re-render with the new state.
        return Response(status_code=204, headers={"HX-Redirect": page})
    return RedirectResponse(page, status_code=303)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Readiness, unlike ``/healthz`` (liveness): the API server and the database answer."""
    status, body = readiness.answer(web_readiness.checks(request.app))
    return JSONResponse(body, status_code=status)
