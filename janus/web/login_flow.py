"""Pieces shared by the login modes: safe ``next`` targets and the OAuth ``state`` value."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import HTTPConnection

_STATE_KEY = "oauth_state"
_NEXT_KEY = "oauth_next"


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login; anything else (open redirect) becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ch in target for ch in "\r\n\\"):
        return "/"
    return target


def begin(request: HTTPConnection, next_path: str | None) -> str:
    """Remember where to return to, and return a fresh ``state`` bound to this browser session."""
    state = secrets.token_urlsafe(32)
    request.session[_STATE_KEY] = state
    request.session[_NEXT_KEY] = safe_next(next_path)
    return state


def finish(request: HTTPConnection, state: str | None) -> str | None:
    """Check the ``state`` echoed by the provider; return the ``next`` path, or None (forged)."""
    expected = request.session.pop(_STATE_KEY, None)
    next_path = request.session.pop(_NEXT_KEY, "/")
    if not expected or not state or not hmac.compare_digest(expected, state):
        return None
    return safe_next(next_path)


def stash(request: HTTPConnection, key: str, value: str) -> None:
    request.session[f"oauth_{key}"] = value


def unstash(request: HTTPConnection, key: str) -> str | None:
    value = request.session.pop(f"oauth_{key}", None)
    return str(value) if value is not None else None
