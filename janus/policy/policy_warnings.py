"""Warnings about policies that load but do not do what they seem to say (``janus validate``).

A warning is a :class:`~janus.model.Problem` like an error (stable rule id, a message saying
what would be accepted) that does not make the policies invalid: requests are judged as before.

* ``policy.exclude-requester-teams-without-teams``: ``excludeRequesterTeams: true`` excludes an
  approver who shares one of the policy's *listed* teams (requester and approver teams) with
  the requester (:mod:`janus.policy.evaluate`, :mod:`janus.policy.approval`). When the
  approvers name no teams, it compares only the requester teams — and when those are empty
  too, nobody is ever excluded: the separation of duties the policy seems to promise is
  partly or wholly not there.
"""

from __future__ import annotations

from collections.abc import Mapping

from janus.model import PolicySet, Problem

EXCLUDE_WITHOUT_TEAMS = "policy.exclude-requester-teams-without-teams"


def _line_of(text: str | None, needle: str) -> int | None:
    """The 1-based line of the first *needle* in *text* (None when unknown)."""
    if text is None:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def policy_warnings(policies: PolicySet,
                    sources: Mapping[str, str] | None = None) -> list[Problem]:
    """The warnings of *policies*, in policy order; *sources* (path -> text) gives line numbers."""
    found: list[Problem] = []
    for policy in policies.policies:
        if policy.exclude_requester_teams and not policy.approver_teams:
            text = (sources or {}).get(policy.path)
            if policy.requester_teams:
                effect = ("it compares only the requester teams the policy lists ("
                          + ", ".join(sorted(policy.requester_teams)) + "): an approver is "
                          "excluded only as a member of one of those, never for another team "
                          "shared with the requester")
            else:
                effect = ("the policy lists no teams at all, so no approver is ever excluded "
                          "for sharing a team with the requester")
            found.append(Problem(
                policy.path, _line_of(text, "excludeRequesterTeams"), None,
                EXCLUDE_WITHOUT_TEAMS,
                f"policy {policy.name}: excludeRequesterTeams is set but its approvers name no "
                f"teams; {effect}; accepted: approvers that name at least one team "
                "(approvers.teams, or teams in an approvers.allOf group), or no "
                "excludeRequesterTeams"))
    return found
