"""PyGithub clients: GitHub App installation auth or a plain token, GitHub Enterprise base URL.

Retries are chosen, not inherited. PyGithub's default ``GithubRetry`` re-sends POSTs after a 5xx,
so a comment or check run could be created twice; Janus keeps that retry (a lost write is worse
than a duplicate) and makes every write look-before-create instead: comments are found by a
hidden marker and edited in place, check runs are found by name on the head commit, CRs have
deterministic names. Throttling follows GitHub's secondary limits (at most ~80 content-creating
requests a minute) unless *throttle* is off (tests and the simulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from github import Auth, Github, GithubIntegration, GithubRetry

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = DEFAULT_API_URL
    app_id: int | None = None
    app_key: str | None = None  # PEM text
    installation_id: int | None = None
    token: str | None = None
    throttle: bool = True
    timeout: int = 15

    @classmethod
    def from_files(
        cls,
        api_url: str,
        *,
        app_id: int | None = None,
        app_key_file: str | None = None,
        installation_id: int | None = None,
        token_file: str | None = None,
        throttle: bool = True,
    ) -> GitHubSettings:
        key = Path(app_key_file).read_text() if app_key_file else None
        token = Path(token_file).read_text().strip() if token_file else None
        settings = cls(api_url.rstrip("/"), app_id, key, installation_id, token, throttle)
        settings.check()
        return settings

    def check(self) -> None:
        app = (self.app_id, self.app_key, self.installation_id)
        if self.token and any(v is not None for v in app):
            raise ValueError("use either a token or GitHub App credentials, not both")
        if not self.token and not all(v is not None for v in app):
            raise ValueError("GitHub App auth needs an app id, a private key and an "
                             "installation id (or use a token)")


def connect(settings: GitHubSettings) -> Github:
    """A client for the installation (App auth) or the token's user."""
    settings.check()
    if settings.token:
        auth: Auth.Auth = Auth.Token(settings.token)
    else:
        assert settings.app_id is not None and settings.app_key is not None
        assert settings.installation_id is not None
        auth = Auth.AppAuth(settings.app_id, settings.app_key).get_installation_auth(
            settings.installation_id
        )
    return Github(
        auth=auth,
        base_url=settings.api_url,
        timeout=settings.timeout,
        retry=GithubRetry(total=4, backoff_factor=0.5) if settings.throttle else None,
        seconds_between_requests=None,
        seconds_between_writes=0.8 if settings.throttle else None,
    )


def acting_login(gh: Github, settings: GitHubSettings) -> str:
    """The login Janus's own PRs and comments appear under: ``<app-slug>[bot]`` or the token's
    user. Used to recognise PRs opened by Janus and comments Janus wrote."""
    if settings.token:
        return gh.get_user().login
    assert settings.app_id is not None and settings.app_key is not None
    integration = GithubIntegration(
        auth=Auth.AppAuth(settings.app_id, settings.app_key), base_url=settings.api_url
    )
    return f"{integration.get_app().slug}[bot]"
