"""Approval verification at merge (docs/design.md §5 rule 5), as a pure function.

GitHub's own CODEOWNERS enforcement can be bypassed by admins, so the receiver re-derives the
approval from the reviews. Per reviewer only the latest review that is not a comment counts
(COMMENTED and PENDING never change a verdict; a later DISMISSED or CHANGES_REQUESTED cancels an
earlier approval). That review counts when all hold:

* its state is APPROVED and it was given on the PR's final head commit;
* the reviewer is neither the PR author nor the requester (nobody approves their own access);
* the reviewer is an approver of the deciding policy, as a user or through a team;
* when the policy sets ``excludeRequesterTeams``, the reviewer shares none of the policy's
  listed teams with the requester (separation of duties);
* the reviewer owns the file per CODEOWNERS, as a user or through a team.

With approval groups (``approvers.allOf``) every group needs its own count, and one person
counts once across groups: the valid reviewers are assigned to group seats by a maximum
bipartite matching (:mod:`janus.model.matching`), so a reviewer in two groups fills one seat,
and the verdict holds exactly when every seat of every group is filled. The result reports each
group's tally ("sre: 1/1 ✓, payments-leads: 0/1").

E-mail owners in CODEOWNERS cannot be tied to a login without the API and never count.
Logins and teams compare case-insensitively.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from janus.model.matching import max_assignment
from janus.policy.decision import ApprovalRequirement
from janus.policy.membership import Membership

APPROVED = "APPROVED"
_IGNORED_STATES = frozenset({"COMMENTED", "PENDING"})


@dataclass(frozen=True)
class Review:
    """One PR review as the REST API reports it (states in upper case). ``submitted_at`` may be
    naive (read as UTC), in any time zone, or missing (a PENDING draft): see :func:`_when`."""

    user: str
    state: str
    commit_id: str
    submitted_at: dt.datetime | None


@dataclass(frozen=True)
class GroupTally:
    """One approval group's count: who filled its seats, out of how many."""

    label: str
    approvers: tuple[str, ...]
    required: int

    @property
    def ok(self) -> bool:
        return len(self.approvers) >= self.required

    def format(self) -> str:
        return f"{self.label}: {len(self.approvers)}/{self.required}{' ✓' if self.ok else ''}"


@dataclass(frozen=True)
class ApprovalResult:
    ok: bool
    approvers: tuple[str, ...]  # the logins that counted, as GitHub spells them
    reasons: list[str] = field(default_factory=list)
    groups: tuple[GroupTally, ...] = ()

    def tally(self) -> str:
        """Per group, e.g. ``sre: 1/1 ✓, payments-leads: 0/1``."""
        return ", ".join(g.format() for g in self.groups)


def latest_reviews(reviews: Iterable[Review]) -> list[Review]:
    """Per reviewer (case-insensitively), the latest review that is not a comment."""
    latest: dict[str, Review] = {}
    counted = [r for r in reviews if r.state.upper() not in _IGNORED_STATES]
    # Stable sort: reviews with equal timestamps keep the API's order, the later one wins.
    for review in sorted(counted, key=_when):
        latest[review.user.lower()] = review
    return list(latest.values())


def _when(review: Review) -> dt.datetime:
    """Sort key: naive times are UTC (the API's); a missing time sorts last (newest)."""
    when = review.submitted_at
    if when is None:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def verify_approvals(
    reviews: Sequence[Review],
    head_sha: str,
    author: str,
    requester: str,
    requirement: ApprovalRequirement,
    owners: tuple[str, ...] | None,
    membership: Membership,
) -> ApprovalResult:
    """Count the valid approvals of one request file and explain every review that did not."""
    reasons: list[str] = []
    if not owners:
        reasons.append(
            "the file has no owner in CODEOWNERS (base commit), so no approval can count; "
            "run `janus codeowners` and merge the result first"
        )
    owner_users = {o[1:].lower() for o in owners or () if o.startswith("@") and "/" not in o}
    owner_teams = {o[1:].lower() for o in owners or () if o.startswith("@") and "/" in o}
    groups = requirement.effective_groups()
    excluded = (membership.teams_of(requester) & requirement.exclude_teams
                if requirement.exclude_teams else frozenset())
    counted: list[str] = []
    fits: dict[str, list[int]] = {}
    for review in latest_reviews(reviews):
        login = review.user.lower()
        why = _rejection(review, login, head_sha, author, requester)
        if why is None:
            teams = membership.teams_of(login)
            fits[review.user] = [i for i, g in enumerate(groups)
                                 if login in g.users or teams & g.teams]
            shared = teams & excluded
            if not fits[review.user]:
                why = (f"is not an approver of policy {requirement.policy} "
                       f"({_who(requirement.users, requirement.teams)})")
            elif shared:
                why = (f"shares {', '.join(f'@{t}' for t in sorted(shared))} with the requester "
                       f"{requester}; policy {requirement.policy} excludes the requester's "
                       "teams (separation of duties)")
            elif login not in owner_users and not teams & owner_teams:
                why = f"is not a code owner of the file ({', '.join(owners or ()) or 'none'})"
        if why is None:
            counted.append(review.user)
        else:
            reasons.append(f"{review.user}: {why}")
    counted.sort(key=str.lower)
    seats = {i: g.required for i, g in enumerate(groups)}
    placed = max_assignment(counted, fits, seats)
    tallies = tuple(
        GroupTally(g.label, tuple(u for u in counted if placed.get(u) == i), g.required)
        for i, g in enumerate(groups))
    ok = bool(owners) and all(t.ok for t in tallies)
    if not ok and len(groups) == 1:
        reasons.append(
            f"{len(counted)} of {requirement.required} required approvals "
            f"({requirement.describe()})"
        )
    elif not ok:
        filled = sum(len(t.approvers) for t in tallies)
        reasons.append(
            f"{filled} of {requirement.required} required approvals: "
            f"{', '.join(t.format() for t in tallies)} (one person counts once across groups; "
            f"{requirement.describe()})"
        )
    return ApprovalResult(ok=ok, approvers=tuple(counted), reasons=reasons, groups=tallies)


def _rejection(
    review: Review, login: str, head_sha: str, author: str, requester: str
) -> str | None:
    state = review.state.upper()
    if state != APPROVED:
        return f"latest review is {state}, not APPROVED"
    if login == author.lower():
        return "is the PR author and cannot approve their own PR"
    if login == requester.lower():
        return "is the requester and cannot approve their own access"
    if review.commit_id.lower() != head_sha.lower():
        return (f"approved commit {review.commit_id[:12]}, not the final head commit "
                f"{head_sha[:12]}; approve again after the last push")
    return None


def _who(users: Iterable[str], teams: Iterable[str]) -> str:
    names = [f"@{t}" for t in sorted(teams)] + [f"@{u}" for u in sorted(users)]
    return ", ".join(names) or "nobody"
