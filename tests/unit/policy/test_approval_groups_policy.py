"""Approval groups in policy files (issue 13 item 2): loading both forms, hostile shapes refused
with a rule id and what would be accepted, the strictest-approval rule for groups, and the
generated CODEOWNERS (owners = union of the groups)."""

import pytest

from janus.model import ConfigError, load_policy_set_from_files
from janus.model.policy import ApproverGroup
from janus.policy import evaluate
from janus.policy.codeowners import generate_codeowners
from tests.unit.model.helpers import (
    MEMBERS,
    make_request,
    policy_files,
    policy_set,
    prod_payments_policy,
)

GROUPS = ("{allOf: [{name: SRE, teams: [acme/sre], required: 1}, "
          "{teams: [acme/payments-leads], required: 1}], excludeRequesterTeams: true}")


def sod(name="sod", approvers=GROUPS) -> str:
    return prod_payments_policy(name, approvers)


def problems_of(approvers: str):
    with pytest.raises(ConfigError) as info:
        load_policy_set_from_files(policy_files(sod=sod(approvers=approvers)))
    return info.value.problems


def test_groups_load_with_labels_union_and_total():
    policy = policy_set(sod=sod()).policy("sod")
    assert policy is not None
    assert policy.approver_groups == (
        ApproverGroup("SRE", frozenset(), frozenset({"acme/sre"}), 1),
        ApproverGroup("payments-leads", frozenset(), frozenset({"acme/payments-leads"}), 1))
    assert policy.groups == policy.approver_groups
    assert policy.approver_teams == frozenset({"acme/sre", "acme/payments-leads"})
    assert policy.required == 2 and policy.exclude_requester_teams is True


def test_the_old_form_is_one_group():
    policy = policy_set().policy("payments-prod")
    assert policy is not None and policy.approver_groups == ()
    assert policy.groups == (
        ApproverGroup("payments-leads", frozenset(), frozenset({"acme/payments-leads"}), 1),)
    assert policy.exclude_requester_teams is False


@pytest.mark.parametrize(("approvers", "rule", "words"), [
    ("{allOf: [{teams: [acme/sre], required: 1}], required: 1}", "policy.approvers",
     "not both"),
    ("{allOf: [{teams: [acme/sre], required: 1}], teams: [acme/sre]}", "policy.approvers",
     "not both"),
    ("{teams: [acme/sre]}", "policy.approvers", "neither required nor allOf"),
    ("{excludeRequesterTeams: true}", "policy.approvers", "neither required nor allOf"),
    ("{allOf: []}", "schema.min-items", "may not be empty"),
    ("{allOf: [{required: 1}]}", "policy.approvers", "approvers.allOf[0] lists nobody"),
    ("{allOf: [{teams: [acme/sre]}]}", "schema.missing-field", "required is required"),
    ("{allOf: [{users: [bob], required: 2}]}", "policy.approvers", "at most 1 is accepted"),
    ("{allOf: [{teams: [acme/sre], required: 0}]}", "schema.minimum", "1 to 10"),
    ("{allOf: [{teams: [acme/sre], required: 1, who: x}]}", "schema.unknown-field",
     "accepted fields here: name, required, teams, users"),
    ("{allOf: [{teams: [acme/sre], required: 6}, {teams: [acme/payments-leads], required: 5}]}",
     "policy.approvers", "at most 10 is accepted"),
    ("{allOf: [{teams: [acme/sre], required: 1}, {teams: [acme/sre], required: 1}]}",
     "policy.approvers", "distinct name"),
    ("{allOf: [{users: [bob], required: 1}, {name: x, users: [bob], required: 1}]}",
     "policy.approvers", "one person counts once"),
    ("{allOf: [{name: 'S R E', teams: [acme/sre], required: 1}]}", "schema.pattern",
     "letters, digits"),
    # The pattern's $ matches before a trailing newline; the format check does not.
    ("{allOf: [{name: \"SRE\\n\", teams: [acme/sre], required: 1}]}", "schema.format",
     "letters, digits"),
    ("{allOf: {teams: [acme/sre], required: 1}}", "schema.type", "expected a list"),
    ("{allOf: [acme/sre]}", "schema.type", "expected a mapping"),
    ("{allOf: [{teams: [acme/sre], required: 1}], excludeRequesterTeams: yes}",
     "schema.type", "expected true or false"),
    ("{allOf: [{teams: [sre], required: 1}]}", "schema.pattern", "org/team-slug"),
])
def test_hostile_group_shapes(approvers, rule, words):
    problems = problems_of(approvers)
    found = [p for p in problems if p.rule == rule]
    assert found, problems
    assert words in found[0].message, found[0].message
    assert found[0].path == "policies/sod.yaml" and found[0].line is not None


def test_user_groups_with_enough_distinct_people_load():
    text = "{allOf: [{users: [bob], required: 1}, {name: x, users: [bob, carol], required: 1}]}"
    assert policy_set(sod=sod(approvers=text)).policy("sod") is not None


# -- evaluation: the requirement and the strictest-approval rule ---------------------------------


def decide(policies):
    return evaluate(make_request(), policies, MEMBERS)


def test_the_decision_carries_the_groups_and_the_excluded_teams():
    decision = decide(policy_set(sod=sod()))
    assert decision.allowed and decision.policy == "sod"
    approval = decision.approval
    assert approval is not None and approval.required == 2
    assert [g.label for g in approval.groups] == ["SRE", "payments-leads"]
    assert approval.exclude_teams == frozenset({"acme/sre", "acme/payments-leads"})
    assert approval.describe() == (
        "2 approvals from every group, one person counting once: SRE (1 approval from "
        "@acme/sre), payments-leads (1 approval from @acme/payments-leads); approvers may not "
        "share a team of the policy with the requester (policy sod)")


def test_without_exclusion_no_team_is_excluded():
    text = GROUPS.replace(", excludeRequesterTeams: true", "")
    decision = decide(policy_set(sod=sod(approvers=text)))
    assert decision.approval is not None and decision.approval.exclude_teams == frozenset()


def test_strictest_total_required_beats_more_groups():
    policies = policy_set(sod=sod(), zz=sod("zz", "{users: [bob, carol, dave], required: 3}"))
    assert decide(policies).policy == "zz"
    policies = policy_set(sod=sod(), aa=sod("aa", "{users: [bob], required: 1}"))
    assert decide(policies).policy == "sod"


def test_strictest_on_equal_total_more_groups_wins_both_directions():
    two_in_one = "{teams: [acme/sre], required: 2}"
    for one, many in (("aa", "zz"), ("zz", "aa")):
        policies = policy_set(**{one: sod(one, two_in_one), many: sod(many)})
        assert decide(policies).policy == many


def test_strictest_on_equal_groups_exclusion_wins_both_directions():
    plain = GROUPS.replace(", excludeRequesterTeams: true", "")
    for strict, loose in (("aa", "zz"), ("zz", "aa")):
        policies = policy_set(**{strict: sod(strict), loose: sod(loose, plain)})
        assert decide(policies).policy == strict


# -- CODEOWNERS ------------------------------------------------------------------------------------


def test_codeowners_lists_the_union_of_the_groups():
    text = ("{allOf: [{teams: [acme/sre], required: 1}, "
            "{users: [zoe], teams: [acme/payments-leads], required: 1}]}")
    generated = generate_codeowners(policy_set(sod=sod(approvers=text)))
    line = next(li for li in generated.splitlines() if li.startswith("/requests/prod/payments/ "))
    assert line == "/requests/prod/payments/ @acme/payments-leads @acme/sre @zoe"
