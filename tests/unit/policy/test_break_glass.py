"""Break-glass in the policy and the request file: hostile cases first (someone the policy does
not list, past maxDuration, a policy without breakGlass, a broken breakGlass block), then the
allowed case and the choice between several policies."""

import pytest

from janus.model import ConfigError, load_request
from janus.policy import evaluate
from tests.unit.model.helpers import MEMBERS, make_request, policy_set, request_bytes

GLASS = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-glass}
spec:
  clusters: [prod]
  namespaces: [payments]
  roles: [pod-exec]
  requesters: {users: [alice]}
  approvers: {teams: [acme/payments-leads], required: 1}
  maxDuration: 4h
  ticketPattern: "^INC-[0-9]+$"
  breakGlass:
    requesters: {teams: [acme/sre], users: [erin]}
    maxDuration: BG_MAX
    reviewWithin: 24h
    reviewers: {teams: [acme/payments-leads]}
"""


def glass_policy(max_duration: str = "1h", name: str = "payments-glass", within: str = "24h"):
    return (GLASS.replace("BG_MAX", max_duration).replace("payments-glass", name)
            .replace("reviewWithin: 24h", f"reviewWithin: {within}"))


def decide(policies, **spec):
    spec.setdefault("breakGlass", True)
    spec.setdefault("ticket", "INC-1")
    return evaluate(make_request(**spec), policies, MEMBERS)


def rules_of(decision):
    return [p.rule for p in decision.problems]


# -- hostile ------------------------------------------------------------------------------------


def test_policy_without_break_glass_refuses_it():
    decision = decide(policy_set(), duration="30m")
    assert not decision.allowed
    assert rules_of(decision) == ["break-glass.not-allowed"]
    assert "remove breakGlass: true" in decision.problems[0].message
    assert decision.problems[0].line is not None  # points at spec.breakGlass


def test_requester_the_break_glass_list_does_not_name_is_refused():
    # alice is a normal requester of both policies, but not a break-glass requester.
    decision = decide(policy_set(payments_glass=glass_policy()), duration="30m")
    assert not decision.allowed
    assert rules_of(decision) == ["break-glass.requester"]
    assert "@acme/sre" in decision.problems[0].message and "@erin" in decision.problems[0].message


def test_break_glass_past_its_max_duration_is_refused():
    decision = decide(policy_set(payments_glass=glass_policy("1h")), requester="dave",
                      duration="2h")
    assert not decision.allowed
    assert rules_of(decision) == ["break-glass.max-duration"]
    assert "at most 1h" in decision.problems[0].message


def test_ticket_rule_holds_for_break_glass_too():
    decision = decide(policy_set(payments_glass=glass_policy()), requester="dave",
                      duration="30m", ticket="nope")
    assert rules_of(decision) == ["ticket.pattern"]


def test_break_glass_false_is_a_normal_request():
    decision = decide(policy_set(payments_glass=glass_policy()), breakGlass=False)
    assert decision.allowed and decision.break_glass is None


@pytest.mark.parametrize("value", ["yes", 1, "true", None])
def test_break_glass_must_be_a_boolean(value):
    data = request_bytes(breakGlass=value if value is not None else "")
    request, problems = load_request("requests/prod/payments/alice-payments-inc1234.yaml", data)
    assert request is None
    assert any(p.rule.startswith("schema.") and "breakGlass" in p.message for p in problems), \
        problems


@pytest.mark.parametrize(("block", "needle"), [
    ("    requesters: {users: []}", "breakGlass.requesters lists nobody"),
    ("    reviewers: {users: []}", "breakGlass.reviewers lists nobody"),
])
def test_policy_break_glass_must_name_requesters_and_reviewers(block, needle):
    key = block.split(":")[0].strip()
    lines = [line if not line.startswith(f"    {key}:") else block
             for line in glass_policy().splitlines()]
    with pytest.raises(ConfigError) as caught:
        policy_set(payments_glass="\n".join(lines) + "\n")
    assert any(p.rule == "policy.break-glass" and needle in p.message
               for p in caught.value.problems)


def test_policy_break_glass_max_duration_cannot_exceed_the_policy_max():
    with pytest.raises(ConfigError) as caught:
        policy_set(payments_glass=glass_policy("5h"))
    [problem] = [p for p in caught.value.problems if p.rule == "policy.break-glass"]
    assert "at most 4h is accepted" in problem.message


def test_policy_break_glass_needs_every_field():
    text = glass_policy().replace("    reviewWithin: 24h\n", "")
    with pytest.raises(ConfigError) as caught:
        policy_set(payments_glass=text)
    assert any("reviewWithin" in p.message for p in caught.value.problems)


# -- allowed ------------------------------------------------------------------------------------


def test_listed_requester_within_max_duration_is_allowed_as_break_glass():
    decision = decide(policy_set(payments_glass=glass_policy("1h")), requester="dave",
                      duration="1h")
    assert decision.allowed
    assert decision.policy == "payments-glass"
    assert decision.break_glass is not None
    assert decision.break_glass.lists_reviewer("carol", MEMBERS.teams_of("carol"))
    assert not decision.break_glass.lists_reviewer("dave", MEMBERS.teams_of("dave"))
    # The normal approval stays named: extending the grant needs it.
    assert decision.approval is not None and decision.approval.required == 1


def test_break_glass_by_a_listed_user():
    decision = decide(policy_set(payments_glass=glass_policy()), requester="erin",
                      duration="30m")
    assert decision.allowed and decision.break_glass is not None


def test_shortest_review_window_decides_between_policies():
    policies = policy_set(payments_glass=glass_policy(within="24h"),
                          payments_glass_fast=glass_policy(name="payments-glass-fast",
                                                           within="2h"))
    decision = decide(policies, requester="dave", duration="30m")
    assert decision.policy == "payments-glass-fast"
