"""Who may log in, asked of GitHub (issue 11 item 6).

* Only members of the configured organizations or teams (``login_orgs``/``login_teams``;
  neither set: the access repository's organization) — at login and again every
  ``membership_recheck_seconds`` of a session (``janus.web.auth`` calls :meth:`LoginGate.recheck`).
* Users are known by GitHub's numeric id as well as by login. GitHub lets a login be renamed and
  the old name registered by someone else; the first id Janus sees for a login is pinned
  (``github_identities``), and a login that comes back with another id is refused: a reclaimed
  login inherits nothing — not the grants, not an admin seat. Admins configured by login are
  resolved to ids (and pinned) when the app starts.

The questions (REST, with the app's ``github_token``, else the user's own OAuth token):
``GET /users/{login}`` (the id), ``GET /orgs/{org}/members/{login}`` (204: member) and
``GET /orgs/{org}/teams/{slug}/memberships/{login}`` (``state: active``). Anything else — an
error, a timeout, a redirect (the asker cannot see the members) — is "cannot tell", and cannot
tell is no (fail closed). Blocking; a few short requests at login and one check every few
minutes per session.

The dev login (loopback only, trusts whatever is typed) is not gated: there is nothing to check.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from janus.logs import event
from janus.web.db import github_identities, now
from janus.web.settings import WebSettings

log = logging.getLogger("janus.web.login")

_TIMEOUT_SECONDS = 10.0


class LoginRefused(Exception):
    """Not allowed in; the message is for the user."""


class CannotTell(Exception):
    """GitHub did not answer the question (error, timeout, no permission to see)."""


@dataclass(frozen=True)
class GitHubUser:
    login: str
    id: int


class IdentityPins:
    """login → the GitHub id it had when first seen (the web database)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pinned(self, login: str) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(github_identities.c.github_id).where(
                    github_identities.c.login == login.lower()
                )
            ).scalar()
        return None if value is None else int(value)

    def pin(self, login: str, github_id: int) -> int:
        """Pin *login* to *github_id* unless it is pinned already; return the pinned id."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(github_identities).values(
                        login=login.lower(), github_id=github_id, first_seen_at=now()
                    )
                )
        except IntegrityError:
            pass  # pinned meanwhile (another replica): the first one stands
        pinned = self.pinned(login)
        return github_id if pinned is None else pinned


def allowed_groups(settings: WebSettings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(organizations, "org/team" slugs) whose members may log in."""
    if settings.login_orgs or settings.login_teams:
        return settings.login_orgs, settings.login_teams
    owner = settings.repo.split("/", 1)[0] if "/" in settings.repo else ""
    return ((owner,) if owner else ()), ()


def gate_applies(settings: WebSettings) -> bool:
    return settings.auth_mode != "dev" and not settings.login_open_to_any_github_user


class LoginGate:
    def __init__(self, settings: WebSettings, pins: IdentityPins) -> None:
        self.settings = settings
        self.pins = pins
        self.enabled = gate_applies(settings)
        self.orgs, self.teams = allowed_groups(settings)
        # Proxy mode has no login step: each login's answer is kept for the recheck interval.
        self._proxy_cache: dict[str, tuple[float, GitHubUser | None]] = {}
        self._lock = threading.Lock()

    # ---- GitHub's answers ---------------------------------------------------------------------

    def _get(self, path: str, token: str) -> httpx.Response:
        try:
            with httpx.Client(timeout=_TIMEOUT_SECONDS, follow_redirects=False) as http:
                return http.get(
                    self.settings.github_api_url.rstrip("/") + path,
                    headers={"Authorization": f"Bearer {token}",
                             "Accept": "application/vnd.github+json"},
                )
        except httpx.HTTPError as exc:
            raise CannotTell(f"GET {path}: {exc.__class__.__name__}") from exc

    def _token(self, user_token: str | None) -> str:
        token = self.settings.github_token or user_token
        if not token:
            raise CannotTell("no GitHub token to ask with")
        return token

    def lookup(self, login: str, user_token: str | None = None) -> GitHubUser:
        """The account that holds *login* now."""
        response = self._get(f"/users/{login}", self._token(user_token))
        if response.status_code == 404:
            raise LoginRefused(f"GitHub has no account {login}.")
        if response.status_code != 200:
            raise CannotTell(f"GET /users/{login} answered HTTP {response.status_code}")
        data = response.json()
        if not isinstance(data.get("id"), int) or data.get("type") not in ("User", None):
            raise LoginRefused(f"{login} is not a GitHub user account.")
        return GitHubUser(login=str(data.get("login") or login), id=int(data["id"]))

    def is_member(self, login: str, user_token: str | None = None) -> bool:
        token = self._token(user_token)
        for org in self.orgs:
            status = self._get(f"/orgs/{org}/members/{login}", token).status_code
            if status == 204:
                return True
            if status != 404:
                raise CannotTell(f"org membership of {org} answered HTTP {status}")
        for entry in self.teams:
            org, _, slug = entry.partition("/")
            response = self._get(f"/orgs/{org}/teams/{slug}/memberships/{login}", token)
            if response.status_code == 200 and response.json().get("state") == "active":
                return True
            if response.status_code not in (200, 404):
                raise CannotTell(f"team membership of {entry} answered HTTP "
                                 f"{response.status_code}")
        return False

    def _where(self) -> str:
        return ", ".join([*self.orgs, *self.teams]) or "(none configured)"

    # ---- decisions ----------------------------------------------------------------------------

    def admit(
        self, login: str, github_id: int | None = None, user_token: str | None = None
    ) -> GitHubUser | None:
        """At login: the user (login and id) if allowed in; LoginRefused otherwise. None when
        the gate does not apply (dev login, or explicitly open). *github_id* is what the login
        itself proved (GitHub OAuth's ``GET /user``); other modes look the login up."""
        if not self.enabled:
            return None
        try:
            user = (GitHubUser(login, github_id) if github_id is not None
                    else self.lookup(login, user_token))
            self._check_pin(user)
            if not self.is_member(user.login, user_token):
                raise LoginRefused(
                    f"{user.login} is not a member of {self._where()}, whose members may use "
                    "Janus.")
        except CannotTell as exc:
            event(log, "login.membership_unknown", level=logging.WARNING, user=login,
                  error=str(exc))
            raise LoginRefused("GitHub could not confirm your membership; try again later.")\
                from exc
        return user

    def _check_pin(self, user: GitHubUser) -> None:
        pinned = self.pins.pin(user.login, user.id)
        if pinned != user.id:
            event(log, "login.reclaimed_login", level=logging.WARNING, user=user.login,
                  github_id=user.id, pinned_id=pinned)
            raise LoginRefused(
                f"The login {user.login} belonged to another GitHub account when Janus first "
                "saw it; a renamed-and-reclaimed login inherits nothing. Ask an admin.")

    def recheck(self, login: str, github_id: int | None, user_token: str | None) -> bool:
        """Still allowed in? (the periodic check of a session; cannot tell is no)."""
        if not self.enabled:
            return True
        try:
            user = self.lookup(login, user_token)
            if github_id is not None and user.id != github_id:
                return False  # the login now belongs to someone else (or was renamed away)
            return self.is_member(user.login, user_token)
        except (CannotTell, LoginRefused) as exc:
            event(log, "login.recheck_failed", level=logging.WARNING, user=login,
                  error=str(exc))
            return False

    def proxy_user(self, login: str) -> GitHubUser | None:
        """Proxy mode: the header's login if allowed in (cached for the recheck interval)."""
        key = login.lower()
        ttl = self.settings.membership_recheck_seconds
        with self._lock:
            cached = self._proxy_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        try:
            user = self.admit(login)
        except LoginRefused as exc:
            event(log, "login.refused", level=logging.WARNING, mode="proxy", user=login,
                  error=str(exc))
            user = None
        with self._lock:
            self._proxy_cache[key] = (time.monotonic(), user)
        return user

    def resolve_admin(self, login: str) -> int | None:
        """The id an admin configured by *login* has (pinned at first resolution)."""
        pinned = self.pins.pinned(login)
        if pinned is not None:
            return pinned
        try:
            return self.pins.pin(login, self.lookup(login).id)
        except (CannotTell, LoginRefused) as exc:
            event(log, "admin.unresolved", level=logging.WARNING, user=login, error=str(exc))
            return None
