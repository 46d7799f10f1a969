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
    """The verdict. Consistent by construction, checked here rather than trusted to callers
    (or to ``assert``, which ``python -O`` strips): an allowed decision has no problems and
    names its policy and approval; a refusal has at least one problem and neither."""

    allowed: bool
    problems: list[Problem] = field(default_factory=list)
    policy: str | None = None
    approval: ApprovalRequirement | None = None

    def __post_init__(self) -> None:
        if self.allowed is True:
            if self.problems or not self.policy or self.approval is None:
                raise ValueError("an allowed Decision needs a policy and an approval, no problems")
        elif self.allowed is False:
            if not self.problems or self.policy is not None or self.approval is not None:
                raise ValueError("a refused Decision needs a problem and no policy or approval")
        else:
            raise ValueError(f"Decision.allowed must be a bool, not {self.allowed!r}")
