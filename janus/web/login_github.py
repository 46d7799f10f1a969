"""GitHub OAuth (web application flow): authorize, exchange the code, read ``GET /user``.

The user's OAuth token is kept (encrypted in the session) so that the PRs the form opens are
authored by the requester, which the approval rules require.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from janus.web.settings import WebSettings


class LoginFailed(Exception):
    """The provider refused the login, or answered something we cannot trust."""


@dataclass(frozen=True)
class GitHubIdentity:
    login: str
    name: str
    token: str
    id: int | None = None  # GitHub's numeric user id (a login can change hands; the id cannot)


def redirect_uri(settings: WebSettings) -> str:
    return settings.public_url.rstrip("/") + "/auth/callback"


def authorize_url(settings: WebSettings, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.github_client_id,
            "redirect_uri": redirect_uri(settings),
            "scope": settings.github_oauth_scopes,
            "state": state,
            "allow_signup": "false",
        }
    )
    return f"{settings.github_url.rstrip('/')}/login/oauth/authorize?{query}"


async def exchange(settings: WebSettings, http: httpx.AsyncClient, code: str) -> GitHubIdentity:
    response = await http.post(
        f"{settings.github_url.rstrip('/')}/login/oauth/access_token",
        data={
            "client_id": settings.github_client_id,
            "client_secret": settings.github_client_secret,
            "code": code,
            "redirect_uri": redirect_uri(settings),
        },
        headers={"Accept": "application/json"},
    )
    if response.status_code != 200:
        raise LoginFailed(f"token exchange answered HTTP {response.status_code}")
    body = response.json()
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        # GitHub answers 200 with {"error": "bad_verification_code", ...} on a bad code.
        raise LoginFailed(f"token exchange refused: {body.get('error', 'no access_token')}")
    user = await http.get(
        f"{settings.github_api_url.rstrip('/')}/user",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
        },
    )
    if user.status_code != 200:
        raise LoginFailed(f"GET /user answered HTTP {user.status_code}")
    data = user.json()
    login = data.get("login")
    if not isinstance(login, str) or not login:
        raise LoginFailed("GET /user returned no login")
    github_id = data.get("id")
    return GitHubIdentity(login=login, name=str(data.get("name") or login), token=token,
                          id=github_id if isinstance(github_id, int) else None)
