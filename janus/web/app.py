"""``create_app(settings)``: the web app with its middleware, pages, login and the terminal.

Middleware order (outermost first): security headers on every response, then signed-cookie
sessions (HttpOnly, SameSite=Lax, Secure on https) whose cookie carries only a server-side
session id (``janus.web.sessions``: the login itself lives in the web database). The terminal
(``janus.web.terminal``) adds its own routes and background watchers through ``install(app)``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from janus.web import db, inbox_routes, login_routes, pages, timeline_routes
from janus.web.auth import AdminResolver
from janus.web.github_access import app_repo
from janus.web.grants import GrantStore, api_client_for
from janus.web.login_gate import IdentityPins, LoginGate
from janus.web.membership import membership_for
from janus.web.policy_source import PolicySource, from_directory, from_github
from janus.web.sessions import WebSessionStore
from janus.web.settings import WebSettings
from janus.web.templating import templates

log = logging.getLogger("janus.web")

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "janus_session"
_HTTP_TIMEOUT_SECONDS = 15.0


def _policy_source(settings: WebSettings) -> PolicySource:
    if settings.access_repo_dir is not None:
        return PolicySource(from_directory(settings.access_repo_dir))
    if settings.repo and settings.github_token:
        return PolicySource(from_github(lambda: app_repo(settings)))
    return PolicySource(None)


def _install_terminal(app: FastAPI) -> None:
    """Add the terminal's routes and background work.

    The terminal is part of the web app, not an option: if it cannot be imported (a missing
    dependency, a broken install) the app must not start and quietly serve pages whose terminal
    links lead nowhere. The error names the terminal and keeps the original one as its cause.
    """
    try:
        from janus.web.terminal import install
    except ImportError as exc:
        raise ImportError(
            f"the web terminal (janus.web.terminal) cannot be imported: {exc}; the installation "
            "is broken, so the web app refuses to start without it"
        ) from exc
    install(app)


def create_app(
    settings: WebSettings,
    *,
    grants: GrantStore | None = None,
    http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the app. ``grants`` and ``http`` may be passed in (tests use a second cluster or an
    HTTP transport standing in for an identity provider); otherwise they come from settings."""
    settings.validate()
    owns_http = http is None
    http_client = http or httpx.AsyncClient(timeout=_HTTP_TIMEOUT_SECONDS)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owns_http:
                await http_client.aclose()
            sessions_engine.dispose()

    app = FastAPI(
        title="Janus", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    app.state.http = http_client
    app.state.grants = grants or GrantStore(api_client_for(settings), settings.janus_namespace)
    app.state.policies = _policy_source(settings)
    app.state.membership = membership_for(settings, app.state.policies)
    app.state.templates = templates
    # Server-side login sessions live in the web database (created here, before any request).
    sessions_engine = db.make_engine(settings.database_url)
    db.create_tables(sessions_engine)
    app.state.web_sessions = WebSessionStore(sessions_engine)
    app.state.login_gate = LoginGate(settings, IdentityPins(sessions_engine))
    app.state.admins = AdminResolver(
        settings.admin_users,
        settings.admin_teams,
        app.state.membership,
        config_admins=lambda: _config_admins(app.state.policies),
        ids=app.state.login_gate,
    )
    _resolve_admins(app.state.login_gate, app.state.admins)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    # Added last = outermost: it also covers errors raised by the session layer.
    from janus.web.security import SecurityHeadersMiddleware

    app.add_middleware(SecurityHeadersMiddleware, public_url=settings.public_url)
    # Outermost of all: every answer is counted (janus web --metrics-port serves the counts).
    from janus.web.metrics import MetricsMiddleware

    app.add_middleware(MetricsMiddleware)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(login_routes.router)
    app.include_router(pages.router)
    app.include_router(inbox_routes.router)
    app.include_router(timeline_routes.router)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    _install_terminal(app)
    return app


def _resolve_admins(gate: LoginGate, admins: AdminResolver) -> None:
    """Pin the admins configured by login to the GitHub ids they have now, before anyone logs
    in: whoever later holds a renamed-and-reclaimed admin login is not the admin."""
    if not gate.enabled:
        return
    if not gate.settings.github_token:
        # Each admin is pinned at their own first login instead (with their OAuth token).
        log.warning("admins configured by login are pinned at first login (no github_token)")
        return
    for login in sorted(admins.all_users()):
        gate.resolve_admin(login)


def _config_admins(source: PolicySource) -> tuple[frozenset[str], frozenset[str]]:
    policies = source.get_or_none()
    if policies is None:
        return frozenset(), frozenset()
    return policies.config.admin_users, policies.config.admin_teams


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    wants_page = "text/html" in request.headers.get("accept", "") and exc.status_code >= 400
    if wants_page and "hx-request" not in request.headers:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
    return await http_exception_handler(request, exc)
