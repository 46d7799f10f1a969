"""Break-glass judged (docs/policies.md#break-glass): may this requester have this request
merged by Janus and granted at once, without approval, to be reviewed afterwards?

A request asks with ``spec.breakGlass: true``. Among the policies covering its cluster,
namespace and role, one allows it when its ``breakGlass`` lists the requester (as a user or
through a team), the duration is at most ``breakGlass.maxDuration`` and the policy's ticket rule
holds. The normal requesters and approvers play no part: break-glass is its own, named list.
When several allow it, the one with the shortest ``reviewWithin`` decides (the review the
organization wants soonest wins), then the shortest ``maxDuration``, then the policy name.
Refusals say what would be accepted, including "remove breakGlass to ask for approval".
"""

from __future__ import annotations

from collections.abc import Callable

from janus.model import AccessPolicy, BreakGlass, Problem, Request, format_duration
from janus.policy.membership import Membership

_NORMAL = "remove breakGlass: true to ask for approval the normal way"

ProblemAt = Callable[[Request, str, str, str], Problem]


def allowing_policies(
    request: Request, candidates: list[AccessPolicy], membership: Membership, problem: ProblemAt
) -> list[AccessPolicy] | list[Problem]:
    """The covering *candidates* that allow *request* as break-glass, best first; or the
    problems (non-empty) saying why none does."""
    with_glass = [(p, p.break_glass) for p in candidates if p.break_glass is not None]
    if not with_glass:
        return [problem(request, "breakGlass", "break-glass.not-allowed", (
            f"no policy for {request.role} in {request.cluster}/{request.namespace} allows "
            f"break-glass; {_NORMAL}"
        ))]
    teams = membership.teams_of(request.requester)
    listing = [(p, g) for p, g in with_glass if g.lists_requester(request.requester, teams)]
    if not listing:
        who = sorted({w for _, g in with_glass for w in g.requesters_text().split(", ")})
        return [problem(request, "requester", "break-glass.requester", (
            f"{request.requester} may not break the glass for {request.role} in "
            f"{request.cluster}/{request.namespace}; accepted break-glass requesters are "
            f"{', '.join(who)} (membership of a team counts); otherwise {_NORMAL}"
        ))]
    allowing: list[tuple[AccessPolicy, BreakGlass]] = []
    problems: list[Problem] = []
    for policy, glass in listing:
        found = _limits(request, policy, glass, problem)
        if found:
            problems += found
        else:
            allowing.append((policy, glass))
    if not allowing:
        return problems
    return [p for p, _ in sorted(allowing, key=_preference)]


def _limits(
    request: Request, policy: AccessPolicy, glass: BreakGlass, problem: ProblemAt
) -> list[Problem]:
    out: list[Problem] = []
    if request.duration > glass.max_duration:
        out.append(problem(request, "duration", "break-glass.max-duration", (
            f"policy {policy.name}: a break-glass duration of "
            f"{format_duration(request.duration)} is longer than its breakGlass.maxDuration; "
            f"at most {format_duration(glass.max_duration)} is accepted"
        )))
    if policy.ticket_pattern is not None and (
            request.ticket is None or policy.ticket_pattern.fullmatch(request.ticket) is None):
        out.append(problem(request, "ticket" if request.ticket else "spec", "ticket.pattern", (
            f"policy {policy.name}: a ticket matching {policy.ticket_pattern.pattern!r} is "
            "required, for break-glass too"
        )))
    return out


def _preference(pair: tuple[AccessPolicy, BreakGlass]) -> tuple[float, float, str]:
    policy, glass = pair
    return (glass.review_within.total_seconds(), glass.max_duration.total_seconds(), policy.name)


def describe(policy: str, glass: BreakGlass) -> str:
    """One line for ``janus plan``/``janus validate`` and the plan comment."""
    return (f"BREAK-GLASS (policy {policy}): merged by Janus and granted at once without "
            f"approval, at most {format_duration(glass.max_duration)}; reviewed afterwards by "
            f"{glass.reviewers_text()} within {format_duration(glass.review_within)}")
