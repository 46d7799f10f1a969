"""The REST plumbing: routing by GitHub's path templates, auth, pagination, rate-limit headers.

Handlers are plain functions ``handler(ctx) -> Reply`` registered with :func:`route` against
the same path templates GitHub's OpenAPI description uses. Each request runs under the world
lock (shared for reads, exclusive for writes); webhook deliveries it caused are pumped after
the lock is released (see ``app.py``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt

from .delivery import Deliverer
from .errors import ApiError, not_found
from .model import Repo
from .render import Renderer
from .world import World

RATE_LIMIT = 5000
# Parameters whose value may contain slashes (file paths, git refs, "base...head").
_GREEDY = {"path", "ref", "basehead", "branch"}


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Caller:
    login: str | None = None
    installation_id: int | None = None
    app_id: int | None = None  # set when authenticated with an App JWT
    token: str | None = None


@dataclass
class Ctx:
    world: World
    render: Renderer
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    caller: Caller
    # The server's delivery log and rate limits, for the routes that report them.
    deliverer: Deliverer
    rate_limits: RateLimits

    def json(self) -> dict[str, Any]:
        if not self.raw_body:
            return {}
        try:
            data = json.loads(self.raw_body)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Body should be a JSON object")
        return data

    @property
    def login(self) -> str:
        if self.caller.login is None:
            raise ApiError(401, "Requires authentication")
        return self.caller.login

    def repo(self, needed: str = "read") -> Repo:
        repo = self.world.repo(f"{self.params['owner']}/{self.params['repo']}")
        self.world.require(repo, self.caller.login, needed)
        return repo

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise not_found() from None

    def commit_param(self, repo: Repo, name: str) -> str:
        """The commit SHA the URL parameter *name* names (a SHA, branch or tag); GitHub's 422
        when it names none."""
        sha = repo.git.resolve(self.params[name])
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {self.params[name]}")
        return sha


Handler = Callable[[Ctx], Reply]


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    jwt: bool  # the endpoint wants an App JWT, not a token


ROUTES: list[Route] = []


def route(method: str, template: str, *, app_jwt: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m.group(1)}>.+)" if m.group(1) in _GREEDY
            else f"(?P<{m.group(1)}>[^/]+)",
            template,
        )
        ROUTES.append(Route(method, template, re.compile(f"^{pattern}$"), handler, app_jwt))
        return handler
    return register


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    # Most specific first: literal segments beat parameters (".../pulls/{n}/files" vs greedy).
    for r in sorted(ROUTES, key=lambda r: (r.template.count("{"), -len(r.template))):
        if r.method != method:
            continue
        m = r.regex.match(path)
        if m:
            return r, m.groupdict()
    return None


# -- authentication ------------------------------------------------------------------------------

def authenticate(world: World, header: str | None) -> Caller:
    if not header:
        return Caller()
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() not in ("token", "bearer") or not credential:
        raise ApiError(401, "Bad credentials")
    if credential.count(".") == 2 and credential.startswith("eyJ"):
        return Caller(app_id=_verify_app_jwt(world, credential))
    token = world.tokens.get(credential)
    if token is None or (token.expires_at is not None and token.expires_at < time.time()):
        raise ApiError(401, "Bad credentials")
    return Caller(login=token.login, installation_id=token.installation_id, token=credential)


def _verify_app_jwt(world: World, credential: str) -> int:
    try:
        claims = jwt.decode(credential, options={"verify_signature": False})
        app = world.apps.get(int(claims.get("iss", 0)))
        if app is None:
            raise ApiError(401, "Integration not found")
        claims = jwt.decode(credential, app.public_key_pem, algorithms=["RS256"],
                            options={"require": ["iat", "exp", "iss"]}, leeway=60)
    except (jwt.PyJWTError, ValueError):
        raise ApiError(401, "A JSON web token could not be decoded") from None
    if claims["exp"] - claims["iat"] > 660:  # GitHub: at most 10 minutes (+ clock drift)
        raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app.id


# -- pagination and headers ----------------------------------------------------------------------

def paginate(ctx: Ctx, items: list[Any], default: int = 30, most: int = 100) -> Reply:
    """One page of *items* with GitHub's ``Link`` header (``per_page`` ≤ *most*, default
    *default*: 100 and 30 for most lists)."""
    try:
        per_page = max(1, min(most, int(ctx.query.get("per_page", default))))
        page = max(1, int(ctx.query.get("page", 1)))
    except ValueError:
        per_page, page = default, 1
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]

    def link(n: int) -> str:
        query = dict(ctx.query) | {"per_page": str(per_page), "page": str(n)}
        return f"{ctx.render.api}{ctx.path}?{urlencode(query)}"

    rels = []
    if page < last:
        rels += [f'<{link(page + 1)}>; rel="next"', f'<{link(last)}>; rel="last"']
    if page > 1:
        rels += [f'<{link(page - 1)}>; rel="prev"', f'<{link(1)}>; rel="first"']
    headers = {"Link": ", ".join(rels)} if rels else {}
    return Reply(200, chunk, headers)


class RateLimits:
    """Per-credential hourly counters, reported like GitHub's ``X-RateLimit-*`` headers.

    A credential past its limit, or one a test exhausted, gets GitHub's primary rate-limit
    answer (:class:`RateLimitedError`) until the reset: 403 — or 429, GitHub answers either —
    with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds)."""

    def __init__(self) -> None:
        # Reads run together (rwlock.py): the counters have a lock of their own, so each
        # request is counted exactly once and its headers show its own count.
        self._lock = threading.Lock()
        self.used: dict[str, int] = {}
        self.window_start = time.time()
        self.exhausted: set[str] = set()  # logins forced to 0 remaining, for tests
        # login -> (reset epoch, status): exhausted until then, lifted at the reset.
        self.exhausted_until: dict[str, tuple[float, int]] = {}

    def _key(self, caller: Caller) -> str:
        return caller.login or (f"app:{caller.app_id}" if caller.app_id else "anonymous")

    def exhaust_until(self, login: str, reset: float, status: int = 403) -> None:
        if status not in (403, 429):
            raise ValueError("GitHub answers a primary rate limit with 403 or 429")
        with self._lock:
            self.exhausted_until[login] = (reset, status)

    def _forced(self, key: str, now: float) -> tuple[float, int] | None:
        if key in self.exhausted:
            return (self.window_start + 3600, 403)
        until = self.exhausted_until.get(key)
        if until is not None and now >= until[0]:
            del self.exhausted_until[key]
            return None
        return until

    def count(self, caller: Caller, counted: bool = True) -> dict[str, str]:
        """Count one request (unless *counted* is False) and return its ``X-RateLimit-*``
        headers; raise GitHub's primary rate-limit answer when none is left."""
        with self._lock:
            now = time.time()
            if now - self.window_start >= 3600:
                self.used.clear()
                self.window_start = now
            key = self._key(caller)
            limit = 60 if key == "anonymous" else RATE_LIMIT
            used = self.used.get(key, 0) + (1 if counted else 0)
            self.used[key] = used
            forced = self._forced(key, now)
            remaining = 0 if forced else max(0, limit - used)
            reset = forced[0] if forced else self.window_start + 3600
            headers = {
                "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(int(reset)),
                "X-RateLimit-Used": str(used), "X-RateLimit-Resource": "core",
            }
        if counted and (forced or used > limit):
            raise RateLimitedError(headers, caller.login, forced[1] if forced else 403)
        return headers

    def overview(self, caller: Caller) -> dict[str, Any]:
        with self._lock:
            key = self._key(caller)
            limit = 60 if key == "anonymous" else RATE_LIMIT
            used = self.used.get(key, 0)
            forced = self._forced(key, time.time())
            core = {"limit": limit, "used": used,
                    "remaining": 0 if forced else max(0, limit - used),
                    "reset": int(forced[0] if forced else self.window_start + 3600),
                    "resource": "core"}
        return core


class RateLimitedError(ApiError):
    """GitHub's primary rate-limit answer: 403 (or 429), the message PyGithub recognises,
    headers."""

    def __init__(self, headers: dict[str, str], login: str | None, status: int = 403) -> None:
        super().__init__(
            status, f"API rate limit exceeded for user ID {login or 0}.",
            doc="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
        self.headers = headers


def parse_query(raw: bytes | str) -> dict[str, str]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return dict(parse_qsl(text, keep_blank_values=True))
