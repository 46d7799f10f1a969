"""Team membership through the GitHub API, for :class:`janus.policy.Membership`.

The policy code asks "which teams is this login in?"; GitHub can only answer "is this login in
that team?". So the object is built with the candidate teams (those the policies and CODEOWNERS
name) and checks each one on demand, caching answers for its own lifetime: build a fresh one per
verification so membership is evaluated *now*, at merge time, not remembered from earlier.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import quote

from github import Github, GithubException

from janus.logs import event

log = logging.getLogger("janus.gitops.membership")


class GitHubMembership:
    def __init__(self, gh: Github, candidate_teams: Iterable[str]) -> None:
        self._gh = gh
        self._teams = sorted({t.lower() for t in candidate_teams if "/" in t})
        self._cache: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()

    def teams_of(self, login: str) -> frozenset[str]:
        return frozenset(t for t in self._teams if self.is_member(login, t))

    def is_member(self, login: str, team: str) -> bool:
        key = (login.lower(), team.lower())
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        answer = self._ask(*key)
        with self._lock:
            self._cache[key] = answer
        return answer

    def _ask(self, login: str, team: str) -> bool:
        org, slug = team.split("/", 1)
        # One request per question (GET /orgs/{org}/teams/{slug}/memberships/{login}); going
        # through get_organization().get_team_by_slug() would cost two more, eagerly.
        path = f"/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(login)}"
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", path)
        except GithubException as exc:
            if exc.status == 404:  # no such team, or not a member: both mean "not in it"
                return False
            raise
        # "pending" (invited, not yet accepted) does not count.
        active = isinstance(data, dict) and data.get("state") == "active"
        event(log, "github.team_membership", login=login, team=team, active=active,
              level=logging.DEBUG)
        return active
