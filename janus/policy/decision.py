"""What evaluation returns: allowed or not, why, and which approvals the receiver must see."""

from __future__ import annotations

from dataclasses import dataclass, field

from janus.model import Problem
from janus.model.policy import ApproverGroup, BreakGlass


@dataclass(frozen=True)
class ApprovalRequirement:
    """Approvals the matching policy demands: ``required`` distinct reviewers, each one of
    ``users`` or a member of one of ``teams`` (lower-cased logins and ``org/slug``).

    With ``groups`` (separation of duties) every group needs its own ``required`` reviewers and
    one person fills a seat in one group only; ``users``/``teams``/``required`` are then the
    union and the total. ``exclude_teams``: an approver sharing one of these teams with the
    requester does not count (empty: no such rule).
    """

    policy: str
    users: frozenset[str]
    teams: frozenset[str]
    required: int
    groups: tuple[ApproverGroup, ...] = ()
    exclude_teams: frozenset[str] = frozenset()

    def effective_groups(self) -> tuple[ApproverGroup, ...]:
        """The groups to fill; without explicit groups, one group of all approvers."""
        if self.groups:
            return self.groups
        label = "+".join([*sorted(t.split("/", 1)[-1] for t in self.teams), *sorted(self.users)])
        return (ApproverGroup(label, self.users, self.teams, self.required),)

    def describe(self) -> str:
        exclusion = ("; approvers may not share a team of the policy with the requester"
                     if self.exclude_teams else "")
        if len(self.groups) > 1:
            parts = ", ".join(f"{g.label} ({_count(g.required)} from {g.who()})"
                              for g in self.groups)
            return (f"{_count(self.required)} from every group, one person counting once: "
                    f"{parts}{exclusion} (policy {self.policy})")
        who = sorted(f"@{t}" for t in self.teams) + sorted(f"@{u}" for u in self.users)
        return f"{_count(self.required)} from {', '.join(who)}{exclusion} (policy {self.policy})"


def _count(required: int) -> str:
    return f"{required} approval{'s' if required != 1 else ''}"


@dataclass(frozen=True)
class Decision:
    """The verdict. Consistent by construction, checked here rather than trusted to callers
    (or to ``assert``, which ``python -O`` strips): an allowed decision has no problems and
    names its policy and approval; a refusal has at least one problem and neither."""

    allowed: bool
    problems: list[Problem] = field(default_factory=list)
    policy: str | None = None
    approval: ApprovalRequirement | None = None
    # Set when the request asked for break-glass and ``policy`` allows it: granted without
    # ``approval`` (still named: extending the grant needs it), reviewed afterwards.
    break_glass: BreakGlass | None = None

    def __post_init__(self) -> None:
        if self.allowed is True:
            if self.problems or not self.policy or self.approval is None:
                raise ValueError("an allowed Decision needs a policy and an approval, no problems")
        elif self.allowed is False:
            if (not self.problems or self.policy is not None or self.approval is not None
                    or self.break_glass is not None):
                raise ValueError("a refused Decision needs a problem and no policy or approval")
        else:
            raise ValueError(f"Decision.allowed must be a bool, not {self.allowed!r}")
