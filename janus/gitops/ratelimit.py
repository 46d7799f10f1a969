"""GitHub's rate limits, made visible and waited out without parking the receiver.

GitHub answers a primary rate limit (an installation's hourly budget spent) with 403 or 429,
``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds), and a secondary limit
(too many requests at once, too many writes a minute) with 403 or 429, "You have exceeded a
secondary rate limit…" and, when it says how long, ``retry-after`` (docs.github.com, "Rate
limits for the REST API": wait for ``retry-after``, else until ``x-ratelimit-reset`` when
nothing remains, else at least a minute — and do not keep calling meanwhile).

PyGithub's ``GithubRetry`` would *sleep* that long inside the request: up to an hour in every
worker and in the reconcile, so nothing — file-deletion revocations included — moved until the
reset. Janus's client (:mod:`janus.gitops.client`) waits at most a few seconds and raises
instead; :func:`classify` turns that error into a :class:`Limited` (kind, how long), and
:class:`RateLimitWatch` — one per process — remembers until when GitHub must not be called,
counts it, logs it once as one JSON line and shows it in ``/metrics`` and ``/readyz``. The
workers put the delivery back until then (``janus.webhook.worker``); the reconcile skips its pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from github import Github, GithubException
from github.Requester import Requester

from janus.gitops.metrics import COUNTERS, Counters
from janus.logs import event

log = logging.getLogger("janus.gitops.ratelimit")

# GitHub: a secondary limit without retry-after and with requests remaining: "wait at least one
# minute before retrying".
SECONDARY_DEFAULT_WAIT = 60.0
# Never defer longer than this on one answer (a reset is at most an hour away; a clock far off
# must not park a delivery for days).
MAX_DEFER = 3900.0


@dataclass(frozen=True)
class Limited:
    """One rate-limited answer: which limit, and how many seconds GitHub asks to wait."""

    kind: str  # "primary" | "secondary"
    wait: float
    reset: float | None = None  # x-ratelimit-reset (epoch seconds), when sent
    remaining: int | None = None
    limit: int | None = None


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def from_answer(status: int, headers: Mapping[str, Any] | None, message: str | None,
                now: float | None = None) -> Limited | None:
    """The rate limit a GitHub answer reports, or None (a 403 for want of permission is not
    one). Reads the headers first, as GitHub documents, then the message."""
    if status not in (403, 429):
        return None
    now = time.time() if now is None else now
    retry_after = _number(_header(headers, "retry-after"))
    remaining = _number(_header(headers, "x-ratelimit-remaining"))
    limit = _number(_header(headers, "x-ratelimit-limit"))
    reset = _number(_header(headers, "x-ratelimit-reset"))
    kind = "primary" if remaining == 0 else "secondary"
    if retry_after is not None:
        wait = retry_after
    elif remaining == 0 and reset is not None:
        wait = reset - now + 1  # plus one: the reset happens somewhere in that second
    elif status == 429 or Requester.isRateLimitError(message or ""):
        if Requester.isPrimaryRateLimitError(message or ""):
            kind = "primary"
        wait = SECONDARY_DEFAULT_WAIT
    else:
        return None
    return Limited(kind, min(MAX_DEFER, max(1.0, wait)), reset,
                   None if remaining is None else int(remaining),
                   None if limit is None else int(limit))


def classify(exc: BaseException) -> Limited | None:
    """The rate limit behind a PyGithub error (``RateLimitExceededException``, its
    ``…ExceedsMaxWait``, or a plain 429), or None for any other failure."""
    if not isinstance(exc, GithubException):
        return None
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    return from_answer(exc.status, exc.headers, message)


class RateLimitWatch:
    """What this process knows of its GitHub budget: the last ``x-ratelimit-*`` seen and until
    when GitHub must not be called. Thread-safe; one per process (on :class:`GitOps`)."""

    def __init__(self, counters: Counters = COUNTERS,
                 clock: Callable[[], float] = time.time) -> None:
        self.counters = counters
        self.clock = clock
        self._lock = threading.Lock()
        self._requester: Requester | None = None
        self._paused_until = 0.0
        self._last: Limited | None = None

    def attach(self, gh: Github) -> RateLimitWatch:
        """Read the budget PyGithub records from every answer's headers (no API call)."""
        self._requester = getattr(gh, "requester", None)  # a test double may have none
        return self

    def _budget(self) -> tuple[int, int, float]:
        """(remaining, limit, reset) as last reported: the limited answer's while a pause lasts
        (PyGithub never sees an answer the retry policy raised on), else PyGithub's record."""
        remaining, limit, reset = -1, -1, 0.0
        if self._requester is not None:
            (remaining, limit), reset = (self._requester.rate_limiting,
                                         float(self._requester.rate_limiting_resettime))
        with self._lock:
            last = self._last if self._paused_until > self.clock() else None
        if last is not None:
            remaining = last.remaining if last.remaining is not None else remaining
            limit = last.limit if last.limit is not None else limit
            reset = last.reset if last.reset is not None else reset
        return remaining, limit, reset

    def refresh(self) -> None:
        """Copy the last ``x-ratelimit-*`` headers seen into the gauges."""
        remaining, limit, reset = self._budget()
        if remaining >= 0:
            self.counters.set("github_rate_limit_remaining", remaining)
        if limit >= 0:
            self.counters.set("github_rate_limit_limit", limit)
        if reset:
            self.counters.set("github_rate_limit_reset_timestamp_seconds", int(reset))
        self.counters.set("github_rate_limit_wait_seconds", int(self.paused_for()))

    def record(self, limited: Limited, source: str) -> float:
        """A rate-limited answer met by *source* (webhook, reconcile, ledger): GitHub is not
        called before it lifts. Counted every time, logged once per pause. Returns the wait."""
        now = self.clock()
        with self._lock:
            new_pause = now >= self._paused_until
            self._paused_until = max(self._paused_until, now + limited.wait)
            self._last = limited
        self.counters.inc("github_rate_limited_total", kind=limited.kind, source=source)
        if limited.remaining is not None:
            self.counters.set("github_rate_limit_remaining", limited.remaining)
        if limited.reset is not None:
            self.counters.set("github_rate_limit_reset_timestamp_seconds", int(limited.reset))
        self.counters.set("github_rate_limit_wait_seconds", int(limited.wait))
        if new_pause:
            event(log, "github.rate_limited", level=logging.WARNING, kind=limited.kind,
                  source=source, wait_seconds=round(limited.wait, 1), reset=limited.reset,
                  remaining=limited.remaining)
        return limited.wait

    def paused_for(self) -> float:
        """Seconds until GitHub may be called again (0: now)."""
        with self._lock:
            return max(0.0, self._paused_until - self.clock())

    def detail(self) -> dict[str, Any]:
        """For ``/readyz``: whether GitHub calls wait for a rate limit, and how long. Only
        numbers: the probe is anonymous."""
        self.refresh()
        pause = self.paused_for()
        with self._lock:
            last = self._last
        remaining = self._budget()[0]
        return {
            "rate_limited": pause > 0,
            "kind": last.kind if pause > 0 and last is not None else None,
            "retry_in_seconds": int(pause + 0.999),
            "remaining": remaining if remaining >= 0 else None,
        }
