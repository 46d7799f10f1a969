"""Login and logout routes for every mode (GitHub OAuth, OIDC, trusted proxy, dev)."""

from __future__ import annotations

import ipaddress
import logging
import secrets

import httpx
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from janus.logs import event
from janus.web import login_flow, login_github, login_oidc
from janus.web.auth import current_user, is_github_login, log_in, log_out, require_csrf
from janus.web.login_gate import LoginGate, LoginRefused
from janus.web.login_github import LoginFailed
from janus.web.settings import WebSettings
from janus.web.templating import templates

log = logging.getLogger("janus.web.login")
router = APIRouter()


def _settings(request: Request) -> WebSettings:
    return request.app.state.settings


def _http(request: Request) -> httpx.AsyncClient:
    return request.app.state.http


def peer_is_loopback(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        # Starlette's TestClient reports "testclient"; it is not an address, so not loopback.
        return False


@router.get("/auth/login")
async def login(request: Request, next: str | None = None) -> Response:
    settings = _settings(request)
    target = login_flow.safe_next(next)
    if current_user(request) is not None:
        return RedirectResponse(target, status_code=303)
    if settings.auth_mode == "github":
        state = login_flow.begin(request, target)
        return RedirectResponse(login_github.authorize_url(settings, state), status_code=303)
    if settings.auth_mode == "oidc":
        try:
            provider = await login_oidc.discover(settings, _http(request))
        except (LoginFailed, httpx.HTTPError) as exc:
            event(log, "login.failed", level=logging.WARNING, mode="oidc", error=str(exc))
            return _login_error(request, "The identity provider cannot be reached.", 502)
        state = login_flow.begin(request, target)
        nonce, verifier = secrets.token_urlsafe(24), login_oidc.new_pkce_verifier()
        login_flow.stash(request, "nonce", nonce)
        login_flow.stash(request, "verifier", verifier)
        url = login_oidc.authorize_url(settings, provider, state, nonce, verifier)
        return RedirectResponse(url, status_code=303)
    if settings.auth_mode == "dev":
        return RedirectResponse(f"/auth/dev?next={target}", status_code=303)
    # proxy mode: the proxy authenticates; reaching here means the header was absent or untrusted.
    return _login_error(request, "Sign-in is handled by the authenticating proxy.", 401)


@router.get("/auth/callback")
async def callback(
    request: Request, code: str | None = None, state: str | None = None
) -> Response:
    settings = _settings(request)
    if settings.auth_mode not in ("github", "oidc"):
        raise HTTPException(status_code=404)
    target = login_flow.finish(request, state)
    nonce = login_flow.unstash(request, "nonce")
    verifier = login_flow.unstash(request, "verifier")
    if target is None or not code:
        event(log, "login.failed", level=logging.WARNING, mode=settings.auth_mode,
              error="state mismatch or no code")
        return _login_error(request, "The login could not be verified. Please try again.", 400)
    try:
        github_id: int | None = None
        if settings.auth_mode == "github":
            identity = await login_github.exchange(settings, _http(request), code)
            login, name, token = identity.login, identity.name, identity.token
            github_id = identity.id
        else:
            provider = await login_oidc.discover(settings, _http(request))
            oidc = await login_oidc.exchange(
                settings, _http(request), provider, code, nonce or "", verifier or ""
            )
            login, name, token = oidc.login, oidc.name, None
    except (LoginFailed, httpx.HTTPError, ValueError) as exc:
        event(log, "login.failed", level=logging.WARNING, mode=settings.auth_mode, error=str(exc))
        return _login_error(request, "The login was refused by the provider.", 400)
    if not is_github_login(login):
        return _login_error(request, "The login name is not a GitHub login.", 400)
    # Only members of the allowed organizations/teams, and a login still held by the account
    # Janus first saw with it (janus.web.login_gate). Blocking calls: off the event loop.
    gate: LoginGate = request.app.state.login_gate
    try:
        member = await run_in_threadpool(gate.admit, login, github_id, token)
    except LoginRefused as exc:
        event(log, "login.refused", level=logging.WARNING, mode=settings.auth_mode, user=login,
              error=str(exc))
        return _login_error(request, str(exc), 403)
    if member is not None:
        login, github_id = member.login, member.id
    log_in(request, login, name, github_token=token, github_id=github_id)
    event(log, "login.succeeded", mode=settings.auth_mode, user=login)
    return RedirectResponse(target, status_code=303)


@router.get("/auth/dev")
async def dev_form(request: Request, next: str | None = None) -> Response:
    _require_dev_login(request)
    return templates.TemplateResponse(
        request, "login_dev.html",
        {"next": login_flow.safe_next(next), "error": None,
         "dev_users": _settings(request).dev_login_users},
    )


@router.post("/auth/dev", dependencies=[Depends(require_csrf)])
async def dev_login(
    request: Request,
    login: str = Form(...),
    name: str = Form(""),
    next: str = Form("/"),
) -> Response:
    _require_dev_login(request)
    login = login.strip()
    if not is_github_login(login):
        return templates.TemplateResponse(
            request,
            "login_dev.html",
            {"next": login_flow.safe_next(next), "error": "Not a GitHub login.",
             "dev_users": _settings(request).dev_login_users},
            status_code=400,
        )
    log_in(request, login, name.strip() or login)
    event(log, "login.succeeded", mode="dev", user=login)
    return RedirectResponse(login_flow.safe_next(next), status_code=303)


@router.post("/auth/logout", dependencies=[Depends(require_csrf)])
async def logout(request: Request) -> Response:
    user = current_user(request)
    log_out(request)
    if user is not None:
        event(log, "logout", user=user.login)
    return RedirectResponse("/auth/signed-out", status_code=303)


@router.get("/auth/signed-out")
async def signed_out(request: Request) -> Response:
    return templates.TemplateResponse(request, "signed_out.html", {})


def _require_dev_login(request: Request) -> None:
    # The dev login trusts whatever name is typed: it exists only for a developer's own machine.
    if _settings(request).auth_mode != "dev":
        raise HTTPException(status_code=404)
    if not peer_is_loopback(request):
        event(log, "login.refused", level=logging.WARNING, mode="dev",
              peer=request.client.host if request.client else None)
        raise HTTPException(status_code=403, detail="dev login is only for loopback clients")


def _login_error(request: Request, message: str, status: int) -> Response:
    return templates.TemplateResponse(
        request, "login_error.html", {"message": message}, status_code=status
    )
