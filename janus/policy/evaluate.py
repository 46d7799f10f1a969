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
"""

from __future__ import annotations

from janus.model import AccessPolicy, PolicySet, Problem, Request, format_duration
from janus.policy.decision import ApprovalRequirement, Decision
from janus.policy.membership import Membership


def evaluate(request: Request, policies: PolicySet, membership: Membership) -> Decision:
    """Decide whether *request* is allowed and which approvals it needs. Pure; no I/O."""
    config = policies.config

    def problem(field: str, rule: str, message: str) -> Problem:
        return Problem(request.path, request.line_of.get(field), None, rule, message)

    problems: list[Problem] = []
    if request.cluster not in config.clusters:
        problems.append(problem("cluster", "cluster.unknown", (
            f"cluster {request.cluster!r} is not configured; accepted: "
            f"{', '.join(config.clusters)}"
        )))
    if request.namespace in config.excluded_namespaces:
        problems.append(problem("namespace", "namespace.excluded", (
            f"namespace {request.namespace!r} is excluded and can never be granted; "
            "ask for the namespace where the workload runs"
        )))
    if request.role not in config.roles:
        problems.append(problem("role", "role.unknown", (
            f"role {request.role!r} is not in the catalogue; accepted: "
            f"{', '.join(sorted(config.roles))}"
        )))
    if not config.duration_min <= request.duration <= config.duration_max:
        problems.append(problem("duration", "duration.bounds", (
            f"duration {format_duration(request.duration)} is outside the global bounds; "
            f"between {format_duration(config.duration_min)} and "
            f"{format_duration(config.duration_max)} is accepted"
        )))
    if problems and any(p.rule != "duration.bounds" for p in problems):
        return Decision(allowed=False, problems=problems)

    covering = policies.covering(request.cluster, request.namespace)
    if not covering:
        patterns = sorted({ns for p in policies.policies if request.cluster in p.clusters
                           for ns in p.namespaces})
        accepted = ", ".join(patterns) if patterns else "none"
        problems.append(problem("namespace", "policy.no-match", (
            f"no policy covers namespace {request.namespace!r} on cluster "
            f"{request.cluster!r}; namespaces with a policy there: {accepted}"
        )))
        return Decision(allowed=False, problems=problems)
    candidates = [p for p in covering if request.role in p.roles]
    if not candidates:
        roles = sorted({r for p in covering for r in p.roles})
        problems.append(problem("role", "policy.role", (
            f"no policy allows role {request.role!r} in {request.cluster}/{request.namespace}; "
            f"accepted: {', '.join(roles)}"
        )))
        return Decision(allowed=False, problems=problems)

    teams = membership.teams_of(request.requester)
    eligible = [p for p in candidates if _lists_requester(p, request.requester, teams)]
    if not eligible:
        who = sorted({f"@{t}" for p in candidates for t in p.requester_teams}) + sorted(
            {f"@{u}" for p in candidates for u in p.requester_users})
        problems.append(problem("requester", "requester.not-eligible", (
            f"{request.requester} may not request {request.role} in "
            f"{request.cluster}/{request.namespace}; accepted requesters are "
            f"{', '.join(who)} (membership of a team counts)"
        )))
        return Decision(allowed=False, problems=problems)
    # Only the limits of policies that list the requester are worth reporting.
    allowing: list[AccessPolicy] = []
    refusals: list[tuple[AccessPolicy, list[tuple[str, str, str]]]] = []
    for policy in eligible:
        reasons = _refusals(policy, request)
        if reasons:
            refusals.append((policy, reasons))
        else:
            allowing.append(policy)
    if not allowing:
        prefix = len(refusals) > 1
        for policy, reasons in refusals:
            for field, rule, message in reasons:
                text = f"policy {policy.name}: {message}" if prefix else message
                problems.append(problem(field, rule, text))
    if problems:
        return Decision(allowed=False, problems=problems)

    chosen = min(allowing, key=_strictness)
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
