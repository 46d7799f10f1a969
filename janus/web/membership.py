"""Team membership for the web app: a YAML file (demo, tests) or the GitHub API (production).

The GitHub-backed one (``janus.gitops.membership.GitHubMembership``) caches for its lifetime, so
the web app rebuilds it every few minutes: someone removed from an admin or requester team stops
counting as one soon after, without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from janus.logs import event
from janus.policy.membership import Membership, StaticMembership
from janus.web.policy_source import PolicySource
from janus.web.settings import WebSettings

log = logging.getLogger("janus.web.membership")
_REFRESH_SECONDS = 300.0


class RefreshingMembership:
    def __init__(self, build: Callable[[], Membership], ttl: float = _REFRESH_SECONDS) -> None:
        self._build = build
        self._ttl = ttl
        self._lock = threading.Lock()
        self._current: tuple[float, Membership] | None = None

    def teams_of(self, login: str) -> frozenset[str]:
        with self._lock:
            if self._current is None or time.monotonic() - self._current[0] > self._ttl:
                self._current = (time.monotonic(), self._build())
            membership = self._current[1]
        try:
            return membership.teams_of(login)
        except Exception as exc:
            # Fail closed: while GitHub cannot answer, nobody counts as a team member.
            event(log, "membership.lookup_failed", level=logging.WARNING, user=login,
                  error=str(exc))
            return frozenset()


def _candidate_teams(settings: WebSettings, policies: PolicySource) -> set[str]:
    teams = set(settings.admin_teams)
    policy_set = policies.get_or_none()
    if policy_set is not None:
        teams |= set(policy_set.config.admin_teams)
        for policy in policy_set.policies:
            teams |= set(policy.requester_teams) | set(policy.approver_teams)
    return teams


def membership_for(settings: WebSettings, policies: PolicySource) -> Membership:
    if settings.membership_file is not None:
        return StaticMembership.from_file(settings.membership_file)
    if settings.github_token:
        from github import Auth, Github

        from janus.gitops.membership import GitHubMembership

        def build() -> Membership:
            gh = Github(base_url=settings.github_api_url.rstrip("/"),
                        auth=Auth.Token(settings.github_token or ""), timeout=15, retry=None)
            return GitHubMembership(gh, _candidate_teams(settings, policies))

        return RefreshingMembership(build)
    return StaticMembership({})
