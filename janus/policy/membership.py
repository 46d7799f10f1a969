"""Who is in which GitHub team: the one fact evaluation needs from outside the repository.

The :class:`Membership` protocol is all the policy code sees. Offline (the CLI, tests, the demo)
a YAML file answers; in production the GitHub API does (``janus.gitops``). Logins and team names
are compared case-insensitively, as GitHub does, so everything is lower-cased here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Membership(Protocol):
    def teams_of(self, login: str) -> frozenset[str]:
        """The teams of *login* as lower-case ``"org/slug"`` strings."""
        ...


class StaticMembership:
    """Membership from a mapping ``{"acme/sre": ["alice", "bob"]}``."""

    def __init__(self, teams: Mapping[str, Iterable[str]] | None = None) -> None:
        by_login: dict[str, set[str]] = {}
        for team, members in (teams or {}).items():
            for login in members:
                by_login.setdefault(login.lower(), set()).add(team.lower())
        self._by_login = {login: frozenset(ts) for login, ts in by_login.items()}

    def teams_of(self, login: str) -> frozenset[str]:
        return self._by_login.get(login.lower(), frozenset())

    @classmethod
    def from_file(cls, path: Path | str) -> StaticMembership:
        """Read ``teams: {"org/slug": [login, ...]}`` with the same safe loader as requests.

        Raises ValueError naming the file and what would be accepted.
        """
        from janus.model.safe_yaml import YamlError, load

        shown = str(path)
        try:
            document, _ = load(shown, Path(path).read_bytes())
        except YamlError as exc:
            raise ValueError(exc.problem.format()) from None
        teams = document.get("teams") if isinstance(document, dict) else None
        valid = isinstance(teams, dict) and all(
            isinstance(members, list) and all(isinstance(m, str) for m in members)
            for members in teams.values()
        )
        if not valid or set(document) != {"teams"}:
            raise ValueError(
                f"{shown}: a mapping 'teams: {{\"org/slug\": [login, ...]}}' is accepted, "
                "and nothing else"
            )
        return cls(teams)


NO_MEMBERSHIP = StaticMembership()
