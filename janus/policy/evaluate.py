"""Judge one loaded request against the policy set (docs/design.md §4).

Order of checks, each refusal naming the field's line and what would be accepted:

1. the cluster is known, the namespace is not excluded (never, whatever a policy says), the role
   is in the JanusConfig catalogue, the duration is inside the global bounds;
2. some policy covers the cluster, the namespace (exact or glob) and the role;
3. among those, a policy *allows* the request when it lists the requester (as a user, or through
   a team from the membership source), its ``maxDuration`` holds and, when it has a
   ``ticketPattern``, the ticket matches it as a whole. When none allows, the refusal names the
   accepted requesters if no policy lists the requester, else the limits broken by the policies
   that do (a catch-all SRE policy does not clutter a developer's errors).

When several policies allow the request, the one with the **strictest approval** decides which
approvals the receiver demands: the highest total ``required`` (over all approval groups); on a
tie the most approval groups (more independent parties must agree); on a tie the one with
``excludeRequesterTeams``; on a tie the fewest approver entries (users plus teams listed — fewer
people can approve); on a tie the policy name, alphabetically.
Picking the strictest means adding a permissive policy can never weaken what an existing one
demands for the same request.

A request with ``breakGlass: true`` is judged at step 3 by the policies' ``breakGlass`` lists
instead (:mod:`janus.policy.break_glass`); the decision then carries the chosen ``break_glass``.
"""

from __future__ import annotations

from dataclasses import replace

from janus.model import (
    AccessPolicy,
    JanusConfig,
    PolicySet,
    Problem,
    Request,
    format_duration,
)
from janus.policy import break_glass
from janus.policy.decision import ApprovalRequirement, Decision
from janus.policy.membership import Membership


def evaluate(request: Request, policies: PolicySet, membership: Membership) -> Decision:
    """Decide whether *request* is allowed and which approvals it needs. Pure; no I/O."""
    problems = _global_problems(request, policies.config)
    # Out-of-bounds duration alone does not stop here: the policy checks still run, so the
    # requester learns everything else that is wrong in one go.
    if any(p.rule != "duration.bounds" for p in problems):
        return Decision(allowed=False, problems=problems)
    candidates = _candidates(request, policies)
    if isinstance(candidates, Problem):
        return Decision(allowed=False, problems=[*problems, candidates])
    if request.break_glass:
        return _break_glass(request, candidates, membership, problems)
    eligible = _eligible(request, candidates, membership)
    if isinstance(eligible, Problem):
        return Decision(allowed=False, problems=[*problems, eligible])
    allowing, refusals = _split_by_limits(request, eligible)
    if not allowing:
        problems.extend(_limit_problems(request, refusals))
    if problems:
        return Decision(allowed=False, problems=problems)
    return _allow(min(allowing, key=_strictness))


def _break_glass(
    request: Request, candidates: list[AccessPolicy], membership: Membership,
    problems: list[Problem],
) -> Decision:
    """Step 3 for ``breakGlass: true``: the policies' ``breakGlass`` lists decide instead of
    their requesters and approvers (:mod:`janus.policy.break_glass`)."""
    found = break_glass.allowing_policies(request, candidates, membership, _problem)
    if problems or not found or isinstance(found[0], Problem):
        return Decision(allowed=False, problems=[
            *problems, *(p for p in found if isinstance(p, Problem))])
    chosen = next(p for p in found if isinstance(p, AccessPolicy))
    return replace(_allow(chosen), break_glass=chosen.break_glass)


def _problem(request: Request, field: str, rule: str, message: str) -> Problem:
    """A refusal pointing at *field*'s line in the request file."""
    return Problem(request.path, request.line_of.get(field), None, rule, message)


def _global_problems(request: Request, config: JanusConfig) -> list[Problem]:
    """Step 1: the cluster, the namespace, the role and the duration against the JanusConfig,
    whatever the policies say."""
    problems: list[Problem] = []
    if request.cluster not in config.clusters:
        problems.append(_problem(request, "cluster", "cluster.unknown", (
            f"cluster {request.cluster!r} is not configured; accepted: "
            f"{', '.join(config.clusters)}"
        )))
    if request.namespace in config.excluded_namespaces:
        problems.append(_problem(request, "namespace", "namespace.excluded", (
            f"namespace {request.namespace!r} is excluded and can never be granted; "
            "ask for the namespace where the workload runs"
        )))
    if request.role not in config.roles:
        problems.append(_problem(request, "role", "role.unknown", (
            f"role {request.role!r} is not in the catalogue; accepted: "
            f"{', '.join(sorted(config.roles))}"
        )))
    if not config.duration_min <= request.duration <= config.duration_max:
        problems.append(_problem(request, "duration", "duration.bounds", (
            f"duration {format_duration(request.duration)} is outside the global bounds; "
            f"between {format_duration(config.duration_min)} and "
            f"{format_duration(config.duration_max)} is accepted"
        )))
    return problems


def _candidates(request: Request, policies: PolicySet) -> list[AccessPolicy] | Problem:
    """Step 2: the policies covering the cluster, the namespace and the role, or the refusal
    naming what is covered there."""
    covering = policies.covering(request.cluster, request.namespace)
    if not covering:
        patterns = sorted({ns for p in policies.policies if request.cluster in p.clusters
                           for ns in p.namespaces})
        accepted = ", ".join(patterns) if patterns else "none"
        return _problem(request, "namespace", "policy.no-match", (
            f"no policy covers namespace {request.namespace!r} on cluster "
            f"{request.cluster!r}; namespaces with a policy there: {accepted}"
        ))
    candidates = [p for p in covering if request.role in p.roles]
    if not candidates:
        roles = sorted({r for p in covering for r in p.roles})
        return _problem(request, "role", "policy.role", (
            f"no policy allows role {request.role!r} in {request.cluster}/{request.namespace}; "
            f"accepted: {', '.join(roles)}"
        ))
    return candidates


def _eligible(
    request: Request, candidates: list[AccessPolicy], membership: Membership
) -> list[AccessPolicy] | Problem:
    """Step 3a: the candidates listing the requester (as a user or through a team), or the
    refusal naming the accepted requesters."""
    teams = membership.teams_of(request.requester)
    eligible = [p for p in candidates if _lists_requester(p, request.requester, teams)]
    if eligible:
        return eligible
    who = sorted({f"@{t}" for p in candidates for t in p.requester_teams}) + sorted(
        {f"@{u}" for p in candidates for u in p.requester_users})
    return _problem(request, "requester", "requester.not-eligible", (
        f"{request.requester} may not request {request.role} in "
        f"{request.cluster}/{request.namespace}; accepted requesters are "
        f"{', '.join(who)} (membership of a team counts)"
    ))


_Refusal = tuple[AccessPolicy, list[tuple[str, str, str]]]


def _split_by_limits(
    request: Request, eligible: list[AccessPolicy]
) -> tuple[list[AccessPolicy], list[_Refusal]]:
    """Step 3b: the eligible policies whose limits the request keeps, and the others with the
    limits broken. Only the limits of policies that list the requester are worth reporting."""
    allowing: list[AccessPolicy] = []
    refusals: list[_Refusal] = []
    for policy in eligible:
        reasons = _refusals(policy, request)
        if reasons:
            refusals.append((policy, reasons))
        else:
            allowing.append(policy)
    return allowing, refusals


def _limit_problems(request: Request, refusals: list[_Refusal]) -> list[Problem]:
    """The broken limits as problems, each prefixed with its policy's name when several
    policies refused."""
    prefix = len(refusals) > 1
    problems: list[Problem] = []
    for policy, reasons in refusals:
        for field, rule, message in reasons:
            text = f"policy {policy.name}: {message}" if prefix else message
            problems.append(_problem(request, field, rule, text))
    return problems


def _allow(chosen: AccessPolicy) -> Decision:
    """The allowed decision demanding the approvals of *chosen*, the strictest policy."""
    return Decision(
        allowed=True,
        problems=[],
        policy=chosen.name,
        approval=ApprovalRequirement(
            policy=chosen.name,
            users=chosen.approver_users,
            teams=chosen.approver_teams,
            required=chosen.required,
            groups=chosen.approver_groups,
            exclude_teams=(chosen.requester_teams | chosen.approver_teams
                           if chosen.exclude_requester_teams else frozenset()),
        ),
    )


def _strictness(policy: AccessPolicy) -> tuple[int, int, int, int, str]:
    """Sort key: the strictest policy sorts first (see the module docstring)."""
    return (-policy.required, -len(policy.groups), -int(policy.exclude_requester_teams),
            len(policy.approver_users) + len(policy.approver_teams), policy.name)


def _lists_requester(policy: AccessPolicy, login: str, teams: frozenset[str]) -> bool:
    return login.lower() in policy.requester_users or bool(teams & policy.requester_teams)


def _refusals(policy: AccessPolicy, request: Request) -> list[tuple[str, str, str]]:
    """(field, rule, message) for each limit of *policy* that *request* breaks."""
    out: list[tuple[str, str, str]] = []
    if request.duration > policy.max_duration:
        out.append(("duration", "duration.policy-max", (
            f"duration {format_duration(request.duration)} is longer than this policy allows; "
            f"at most {format_duration(policy.max_duration)} is accepted"
        )))
    if policy.ticket_pattern is not None:
        if request.ticket is None:
            out.append(("spec", "ticket.required", (
                f"a ticket is required here; add spec.ticket matching "
                f"{policy.ticket_pattern.pattern!r}"
            )))
        elif policy.ticket_pattern.fullmatch(request.ticket) is None:
            out.append(("ticket", "ticket.pattern", (
                f"ticket {request.ticket!r} does not match {policy.ticket_pattern.pattern!r}; "
                "a ticket matching it as a whole is accepted"
            )))
    return out
