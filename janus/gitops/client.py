"""PyGithub clients: GitHub App installation auth or a plain token, GitHub Enterprise base URL.

Retries are chosen, not inherited (docs/gitops-setup.md, "GitHub's rate limits and errors"):

* **reads** (GET, and the idempotent PUT/DELETE) are re-sent after a 5xx or a connection error,
  up to four times with backoff (0.5 s doubling): PyGithub's ``GithubRetry``.
* **writes that create** (POST, and PATCH) are *not* re-sent by the transport: a POST that timed
  out may well have been carried out, and sent again it makes a second comment or check run.
  The error goes up to the handler, the delivery is retried later, and every write is
  look-before-create: comments are found by a hidden marker and edited in place, check runs by
  name on the head commit, CRs have deterministic names, ledger commits are compare-and-set.
* **rate limits** are never slept out in the request: ``GithubRetry`` would sleep until
  ``x-ratelimit-reset`` (up to an hour) or ``retry-after`` in every worker and in the reconcile.
  :class:`BoundedRetry` waits at most ``max_rate_limit_wait`` seconds and raises; the caller then
  defers its work until GitHub's reset (:mod:`janus.gitops.ratelimit`).

Writes are spaced (GitHub's secondary limits allow at most ~80 content-creating requests a
minute) unless *throttle* is off — the simulator's quick tests; the fault suite runs with it on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from github import Auth, Github, GithubIntegration, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from urllib3.util.retry import Retry

from janus.gitops.ratelimit import from_answer

DEFAULT_API_URL = "https://api.github.com"
# The longest a request waits in place for a rate limit (a short retry-after); longer: raise.
MAX_RATE_LIMIT_WAIT = 5.0
# Methods the transport re-sends after a 5xx or a broken connection: never POST or PATCH.
IDEMPOTENT_METHODS = Retry.DEFAULT_ALLOWED_METHODS - {"POST", "PATCH"}


class BoundedRetry(GithubRetry):
    """``GithubRetry`` that never sleeps long for a rate limit: a ``retry-after`` or
    ``x-ratelimit-reset`` further away than ``max_rate_limit_wait`` raises
    ``RateLimitExceededExceedsMaxWait`` (GitHub's answer and headers) at once. ``GithubRetry``'s
    own cap only covers 403 with a rate-limit message; urllib3 would still sleep a 429's (or a
    403's) ``retry-after`` to the end."""

    def increment(  # type: ignore[override]
        self, method: str | None = None, url: str | None = None, response: Any = None,
        error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None,
    ) -> Retry:
        if response is not None and response.status in (403, 429):
            headers = dict(response.headers)
            limited = from_answer(response.status, headers, None)
            if limited is not None and self.max_rate_limit_wait is not None \
                    and limited.wait > self.max_rate_limit_wait:
                try:
                    data = json.loads(self.get_content(response, url or ""))
                except ValueError:
                    data = {"message": "rate limited"}
                raise RateLimitExceededExceedsMaxWait(response.status, data, headers,
                                                      wait=limited.wait)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def retry_policy(max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT) -> BoundedRetry:
    """The production retry: reads retried on 5xx, writes never re-sent, rate limits bounded."""
    return BoundedRetry(total=4, backoff_factor=0.5, allowed_methods=IDEMPOTENT_METHODS,
                        max_rate_limit_wait=max_rate_limit_wait,
                        secondary_rate_wait=60.0)


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = DEFAULT_API_URL
    app_id: int | None = None
    app_key: str | None = None  # PEM text
    installation_id: int | None = None
    token: str | None = None
    throttle: bool = True
    timeout: int = 15
    max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT

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
        retry=retry_policy(settings.max_rate_limit_wait) if settings.throttle else None,
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
