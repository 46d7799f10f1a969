"""Request faults a test switches on: server errors, slow answers, secondary rate limits.

GitHub's documented answers (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api,
…/troubleshooting-the-rest-api):

* **server errors**: 500/502/503/504 with a JSON ``message`` (a 502 from GitHub's edge may even
  carry HTML; PyGithub treats both alike);
* **timeouts**: the answer comes later than the client waits. The request is *carried out*, then
  its answer held back (on GitHub a write that timed out may well have happened), so a client
  that retries must not create a second comment or check run;
* **secondary rate limit**: 403 or 429, ``message`` "You have exceeded a secondary rate limit…",
  ``retry-after: <seconds>`` when GitHub says how long to wait (not always), and the usual
  ``x-ratelimit-*`` headers with requests still *remaining* — that is how a client tells it from
  the primary limit. The primary limit lives in :class:`~.rest.RateLimits` (403/429 with
  ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``, lifted at the reset).

A rule matches by method, a regular expression searched in the path, and the caller's login
(an installation token's login is the App's ``<slug>[bot]``); it applies to the next *count*
matching requests, or to every one for *seconds*, or until cleared.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from .errors import ApiError

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
SECONDARY_DOC = ("https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
                 "#about-secondary-rate-limits")
_SERVER_MESSAGES = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                    504: "Gateway Timeout"}


@dataclass
class Rule:
    kind: str  # "error" | "slow" | "secondary"
    status: int = 502
    method: str | None = None
    path: re.Pattern[str] | None = None
    login: str | None = None
    count: int | None = None  # None: no count limit
    until: float | None = None  # time.monotonic() deadline; None: until cleared
    retry_after: int | None = None  # secondary: the retry-after header, if any
    delay: float = 0.0  # slow: seconds before the request is carried out
    hits: int = 0

    def matches(self, method: str, path: str, login: str | None, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.count is not None and self.hits >= self.count:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is not None and not self.path.search(path):
            return False
        return self.login is None or (login or "").lower() == self.login.lower()


class FaultError(ApiError):
    """An injected error answer, with the headers GitHub sends beside it."""

    def __init__(self, status: int, message: str, headers: dict[str, str],
                 doc: str = "https://docs.github.com/rest") -> None:
        super().__init__(status, message, doc=doc)
        self.headers = headers


class Faults:
    """The active rules, first match wins; thread-safe (the simulator serves concurrently)."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str, login: str | None) -> Rule | None:
        """The rule this request runs into (its hit counted), or None."""
        now = time.monotonic()
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, login, now):
                    rule.hits += 1
                    return rule
        return None

    def apply(self, rule: Rule, rate_headers: dict[str, str], request_id: str) -> float:
        """Carry out *rule* for one request: raise its error answer, or return how long to hold
        the answer back once the request is carried out (slow)."""
        if rule.kind == "slow":
            return rule.delay
        if rule.kind == "secondary":
            headers = dict(rate_headers)
            if rule.retry_after is not None:
                headers["Retry-After"] = str(rule.retry_after)
            raise FaultError(rule.status, SECONDARY_MESSAGE.format(request_id=request_id),
                             headers, doc=SECONDARY_DOC)
        raise FaultError(rule.status, _SERVER_MESSAGES.get(rule.status, "Server Error"),
                         dict(rate_headers))


def rule(kind: str, *, status: int = 502, method: str | None = None, path: str | None = None,
         login: str | None = None, count: int | None = None, seconds: float | None = None,
         retry_after: int | None = None, delay: float = 0.0) -> Rule:
    """A :class:`Rule`; *seconds* is how long it lasts from now."""
    if kind == "secondary" and status not in (403, 429):
        raise ValueError("GitHub answers a secondary rate limit with 403 or 429")
    return Rule(kind, status, method, re.compile(path) if path else None, login, count,
                None if seconds is None else time.monotonic() + seconds, retry_after, delay)
