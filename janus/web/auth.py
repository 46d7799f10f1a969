"""Who is calling: sessions, the trusted proxy header, admins, CSRF and the WebSocket check.

The contract other web modules use:

* ``User`` — a GitHub login (compared case-insensitively), a display name, admin or not.
* ``require_user`` / ``require_admin`` — FastAPI dependencies (redirect to login or 401/403).
* ``user_from_websocket(ws)`` — the session user of a WebSocket, or None when the session is
  missing or the ``Origin`` header is not our own public origin (cross-site WebSocket hijacking).
* ``require_csrf`` — dependency for every state-changing request; ``csrf_token(request)`` is what
  templates put into forms and the ``csrf-token`` meta tag (sent by HTMX as ``X-CSRF-Token``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from urllib.parse import quote

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Depends, HTTPException, Request, WebSocket
from starlette.requests import HTTPConnection

from janus.logs import event
from janus.web.login_gate import LoginGate
from janus.web.security import csp_nonce
from janus.web.sessions import LoginSession, WebSessionStore
from janus.web.settings import WebSettings

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "AdminResolver",
    "AdminUser",
    "CurrentUser",
    "User",
    "access_check",
    "csp_nonce",
    "csrf_token",
    "current_user",
    "is_github_login",
    "log_in",
    "log_out",
    "login_session",
    "page_user",
    "require_admin",
    "require_csrf",
    "require_user",
    "user_from_websocket",
    "user_github_token",
]

log = logging.getLogger("janus.web.auth")

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# The cookie (signed by SessionMiddleware) holds the server-side session id, the CSRF token and,
# before login, the OAuth state; who the user is lives in the web database (janus.web.sessions).
_SESSION_ID = "sid"
_SESSION_CSRF = "csrf"
_SCOPE_SESSION = "janus.login_session"

# GitHub's own rule for logins: alphanumerics and single inner hyphens, at most 39 characters.
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


def is_github_login(text: str) -> bool:
    return bool(_GITHUB_LOGIN.match(text))


@dataclass(frozen=True)
class User:
    login: str
    name: str
    is_admin: bool
    # GitHub's numeric id when the login gate knows it (janus.web.login_gate); None in dev mode.
    github_id: int | None = None

    def is_login(self, other: str | None) -> bool:
        return bool(other) and self.login.lower() == str(other).lower()


class Membership(Protocol):
    def teams_of(self, login: str) -> frozenset[str]: ...


class AdminIds(Protocol):
    """Resolves an admin configured by login to the GitHub id it stands for."""

    enabled: bool

    def resolve_admin(self, login: str) -> int | None: ...


class AdminResolver:
    """Admins are the JanusConfig admins (users, or members of teams), plus any the web settings
    add. ``config_admins`` returns the JanusConfig's current lists, so a policy change is seen
    without a restart."""

    def __init__(
        self,
        users: frozenset[str],
        teams: frozenset[str],
        membership: Membership | None = None,
        config_admins: Callable[[], tuple[frozenset[str], frozenset[str]]] | None = None,
        ids: AdminIds | None = None,
    ) -> None:
        self.users = frozenset(u.lower() for u in users)
        self.teams = frozenset(t.lower() for t in teams)
        self.membership = membership
        self.config_admins = config_admins
        self.ids = ids

    def _lists(self) -> tuple[frozenset[str], frozenset[str]]:
        if self.config_admins is None:
            return self.users, self.teams
        users, teams = self.config_admins()
        return (
            self.users | {u.lower() for u in users},
            self.teams | {t.lower() for t in teams},
        )

    def all_users(self) -> frozenset[str]:
        return self._lists()[0]

    def is_admin(self, login: str, github_id: int | None = None) -> bool:
        users, teams = self._lists()
        if login.lower() in users:
            if self.ids is None or not self.ids.enabled:
                return True  # dev login: logins are all there is
            # An admin configured by login is the account that held it when Janus resolved it:
            # whoever holds a renamed-and-reclaimed login is not.
            return github_id is not None and self.ids.resolve_admin(login) == github_id
        if not teams or self.membership is None:
            return False
        return bool({t.lower() for t in self.membership.teams_of(login)} & teams)


def _settings(conn: HTTPConnection) -> WebSettings:
    return conn.app.state.settings


def _make_user(
    conn: HTTPConnection, login: str, name: str | None, github_id: int | None = None
) -> User:
    admins: AdminResolver = conn.app.state.admins
    return User(login=login, name=name or login, is_admin=admins.is_admin(login, github_id),
                github_id=github_id)


def _gate(conn: HTTPConnection) -> LoginGate:
    return conn.app.state.login_gate


def _peer_is_trusted_proxy(conn: HTTPConnection, settings: WebSettings) -> bool:
    if conn.client is None:
        return False
    try:
        peer = ipaddress.ip_address(conn.client.host)
    except ValueError:
        return False
    return any(
        peer in ipaddress.ip_network(entry, strict=False) for entry in settings.proxy_addresses
    )


class IdentityRefused(HTTPException):
    """The caller's identity is refused outright (not merely absent)."""


class AmbiguousIdentity(IdentityRefused):
    """The trusted proxy's identity header came more than once, or as a list: refused (400)."""

    def __init__(self) -> None:
        super().__init__(status_code=400, detail="ambiguous identity header")


class NotAllowedIn(IdentityRefused):
    """Proxy mode: the login is not a member of the organizations/teams allowed in (403)."""

    def __init__(self, login: str) -> None:
        super().__init__(status_code=403,
                         detail=f"{login} is not allowed to use Janus (organization/team "
                                "membership could not be confirmed)")


def _proxy_identity(conn: HTTPConnection, header: str) -> str:
    """The one login in the identity header. Sent twice (a client's own copy next to the
    proxy's) or as a comma list, it is ambiguous: whichever copy a framework picks, an attacker
    may have chosen it, so the request is refused rather than "first value wins"."""
    values = conn.headers.getlist(header)
    if len(values) > 1 or any("," in value for value in values):
        raise AmbiguousIdentity()
    return values[0].strip() if values else ""


def current_user(conn: HTTPConnection) -> User | None:
    """The caller, or None. Works for HTTP requests and WebSockets alike."""
    settings = _settings(conn)
    if settings.auth_mode == "proxy":
        # The header is believed only from the configured proxies: anyone else could send it.
        if not _peer_is_trusted_proxy(conn, settings):
            return None
        login = _proxy_identity(conn, settings.proxy_header)
        if not is_github_login(login):
            return None
        gate = _gate(conn)
        if not gate.enabled:
            return _make_user(conn, login, None)
        member = gate.proxy_user(login)
        if member is None:
            raise NotAllowedIn(login)
        return _make_user(conn, member.login, None, member.id)
    record = login_session(conn)
    if record is None:
        return None
    return _make_user(conn, record.login, record.name, record.github_id)


def _sessions(conn: HTTPConnection) -> WebSessionStore:
    return conn.app.state.web_sessions


def login_session(conn: HTTPConnection) -> LoginSession | None:
    """This browser's live server-side session, or None (none, logged out, expired).

    Looked up once per request: templates and dependencies ask several times."""
    if _SCOPE_SESSION in conn.scope:
        cached: LoginSession | None = conn.scope[_SCOPE_SESSION]
        return cached
    session_id = conn.session.get(_SESSION_ID)
    record = _sessions(conn).get(str(session_id)) if session_id else None
    if record is not None and not _still_allowed(conn.app, str(session_id), record):
        record = None
    conn.scope[_SCOPE_SESSION] = record
    return record


def _still_allowed(app: Any, session_id: str, record: LoginSession) -> bool:
    """Every ``membership_recheck_seconds`` of a session, ask GitHub again whether the user is
    still a member (and still the account the login belonged to); if not, the session ends."""
    settings: WebSettings = app.state.settings
    gate: LoginGate = app.state.login_gate
    sessions: WebSessionStore = app.state.web_sessions
    age = (dt.datetime.now(dt.UTC) - record.verified_at).total_seconds()
    if not gate.enabled or age < settings.membership_recheck_seconds:
        return True
    token = _unseal(settings, record.sealed_github_token)
    if gate.recheck(record.login, record.github_id, token):
        sessions.mark_verified(session_id)
        return True
    sessions.end(session_id)
    event(log, "session.ended", level=logging.WARNING, user=record.login,
          reason="membership no longer confirmed")
    return False


def page_user(conn: HTTPConnection) -> User | None:
    """``current_user`` for templates: an error page about an ambiguous identity header must
    render (as nobody) instead of failing on the same header again."""
    try:
        return current_user(conn)
    except IdentityRefused:
        return None


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is not None:
        return user
    wants_page = (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "hx-request" not in request.headers
    )
    if wants_page:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status_code=303, headers={"Location": f"/auth/login?next={quote(target, safe='')}"}
        )
    raise HTTPException(status_code=401, detail="login required")


def require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="admins only")
    return user


# Dependency aliases for route signatures: ``def page(user: CurrentUser)``.
CurrentUser = Annotated[User, Depends(require_user)]
AdminUser = Annotated[User, Depends(require_admin)]


def access_check(conn: HTTPConnection, user: User) -> Callable[[], bool]:
    """For a long-lived connection opened by *user* (the terminal): a blocking check that they
    are still signed in — the login session that opened it neither logged out nor expired, and
    membership still confirmed (rechecked as for requests); in proxy mode, the gate's answer."""
    app = conn.app
    if _settings(conn).auth_mode == "proxy":
        gate = _gate(conn)
        return lambda: not gate.enabled or gate.proxy_user(user.login) is not None
    session_id = str(conn.session.get(_SESSION_ID) or "")

    def check() -> bool:
        sessions: WebSessionStore = app.state.web_sessions
        record = sessions.get(session_id) if session_id else None
        return record is not None and _still_allowed(app, session_id, record)

    return check


def user_from_websocket(ws: WebSocket) -> User | None:
    """The session user of a WebSocket whose Origin is our public origin; otherwise None.

    Browsers always send Origin on WebSocket handshakes, and cookies ride along on cross-site
    handshakes too, so without this check any web page could open a terminal as the victim.
    """
    origin = ws.headers.get("origin", "").lower().rstrip("/")
    if not origin or origin != _settings(ws).public_origin:
        return None
    try:
        return current_user(ws)
    except IdentityRefused:
        return None


def csrf_token(request: HTTPConnection) -> str:
    """This session's CSRF token (created on first use)."""
    token = request.session.get(_SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_CSRF] = token
    return str(token)


async def require_csrf(request: Request) -> None:
    """Reject a state-changing request without this session's CSRF token (header or form)."""
    expected = request.session.get(_SESSION_CSRF)
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not hmac.compare_digest(str(expected), supplied):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    # Belt and braces: a browser's cross-site POST carries a foreign Origin.
    origin = request.headers.get("origin")
    if origin and origin.lower().rstrip("/") != _settings(request).public_origin:
        raise HTTPException(status_code=403, detail="cross-origin request")


def _fernet(settings: WebSettings) -> Fernet:
    key = hashlib.sha256(f"janus-github-token:{settings.session_secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def log_in(
    request: Request,
    login: str,
    name: str | None,
    github_token: str | None = None,
    github_id: int | None = None,
) -> None:
    """Start a fresh server-side session for *login*: a new session id (the old one, if any,
    is ended: a login rotates the id) and a new CSRF token — nothing from before survives."""
    _end_session(request)
    settings = _settings(request)
    sealed = (
        _fernet(settings).encrypt(github_token.encode()).decode() if github_token else None
    )
    session_id = _sessions(request).create(
        login=login,
        name=name or login,
        github_id=github_id,
        sealed_github_token=sealed,
        max_age_seconds=settings.session_max_age_seconds,
    )
    request.session[_SESSION_ID] = session_id
    request.session[_SESSION_CSRF] = secrets.token_urlsafe(32)
    request.scope.pop(_SCOPE_SESSION, None)


def _end_session(request: HTTPConnection) -> None:
    session_id = request.session.get(_SESSION_ID)
    if session_id:
        _sessions(request).end(str(session_id))
    request.session.clear()
    request.scope.pop(_SCOPE_SESSION, None)


def log_out(request: Request) -> None:
    """End the session on the server (a copy of the cookie is worthless from now on)."""
    _end_session(request)


def user_github_token(request: HTTPConnection) -> str | None:
    """The logged-in user's own GitHub OAuth token, when they logged in with GitHub."""
    record = login_session(request)
    return _unseal(_settings(request), record.sealed_github_token if record else None)


def _unseal(settings: WebSettings, sealed: str | None) -> str | None:
    if not sealed:
        return None
    try:
        return _fernet(settings).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
