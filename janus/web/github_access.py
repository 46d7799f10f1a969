"""PyGithub clients for the access repo: as the logged-in user when they logged in with GitHub
(so the PR author is the requester), otherwise with the app's configured token."""

from __future__ import annotations

from github import Auth, Github
from github.Repository import Repository
from starlette.requests import HTTPConnection

from janus.web.auth import login_session, user_github_token
from janus.web.settings import WebSettings

_TIMEOUT_SECONDS = 15


class NoGitHubCredentials(RuntimeError):
    pass


def _client(settings: WebSettings, token: str) -> Github:
    return Github(
        base_url=settings.github_api_url.rstrip("/"),
        auth=Auth.Token(token),
        timeout=_TIMEOUT_SECONDS,
        retry=None,
    )


def app_client(settings: WebSettings) -> Github:
    """A client with the app's own token (reading the ledger)."""
    if not settings.github_token:
        raise NoGitHubCredentials("no github_token configured")
    return _client(settings, settings.github_token)


def app_repo(settings: WebSettings) -> Repository:
    """The access repo with the app's own token (reading policies, PR status)."""
    if not settings.github_token or not settings.repo:
        raise NoGitHubCredentials("no github_token / repo configured")
    return _client(settings, settings.github_token).get_repo(settings.repo)


def _dev_token(request: HTTPConnection, settings: WebSettings) -> str | None:
    if settings.auth_mode != "dev":
        return None
    record = login_session(request)
    login = record.login.lower() if record is not None else ""
    tokens = {k.lower(): v for k, v in settings.dev_user_tokens.items()}
    return tokens.get(login)


def repo_for_user(request: HTTPConnection) -> Repository:
    settings: WebSettings = request.app.state.settings
    token = user_github_token(request) or _dev_token(request, settings) or settings.github_token
    if not token or not settings.repo:
        raise NoGitHubCredentials("no GitHub token for this user and no github_token configured")
    return _client(settings, token).get_repo(settings.repo)
