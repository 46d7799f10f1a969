"""What evaluation returns: allowed or not, why, and which approvals the receiver must see."""

from __future__ import annotations

from dataclasses import dataclass, field

from janus.model import Problem


@dataclass(frozen=True)
class ApprovalRequirement:
    """Approvals the matching policy demands: ``required`` distinct reviewers, each one of
    ``users`` or a member of one of ``teams`` (lower-cased logins and ``org/slug``)."""

    policy: str
    users: frozenset[str]
    teams: frozenset[str]
    required: int

    def describe(self) -> str:
        who = sorted(f"@{t}" for t in self.teams) + sorted(f"@{u}" for u in self.users)
        plural = "s" if self.required != 1 else ""
        return f"{self.required} approval{plural} from {', '.join(who)} (policy {self.policy})"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    problems: list[Problem] = field(default_factory=list)
    policy: str | None = None
    approval: ApprovalRequirement | None = None
