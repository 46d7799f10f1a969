"""The request form with the role catalogue (issue 13 item 5), hostile input: a role the
catalogue does not have and a catalogue role the covering policy does not allow are both
refused on the role field, naming the roles that may be asked for; nothing is allowed."""

from __future__ import annotations

import datetime as dt

import pytest

from janus.model import load_policy_set_from_files
from janus.policy.guidance import guidance_for
from janus.policy.membership import StaticMembership
from janus.web.request_form import RequestForm, field_errors, prepare
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY

ROLES = "    pod-exec: {clusterRole: janus-pod-exec}\n"
assert ROLES in JANUS_CONFIG
POLICIES = load_policy_set_from_files({
    "policies/janus.yaml": JANUS_CONFIG.replace(
        ROLES, ROLES + "    pod-logs: {clusterRole: janus-pod-logs}\n").encode(),
    "policies/payments-prod.yaml": PAYMENTS_POLICY.encode(),  # roles: [pod-exec]
})
MEMBERS = StaticMembership({"acme/payments-devs": ["bob"]})


def _form(role: str) -> RequestForm:
    return RequestForm(cluster="prod", namespaces=("payments",), role=role, duration="1h",
                       reason="INC-42: payment workers are stuck", ticket="INC-42")


@pytest.mark.parametrize(("role", "rule"), [
    ("cluster-admin", "role.unknown"),     # not in the catalogue at all
    ("pod-logs", "policy.role"),           # in the catalogue, not allowed by the policy
])
def test_a_role_that_cannot_be_granted_is_refused_on_the_role_field(role: str, rule: str) -> None:
    form = _form(role)
    prepared = prepare("alice", form, POLICIES, MEMBERS, dt.date(2026, 11, 27))
    assert rule in {p.rule for p in prepared.problems}, prepared.problems
    guidance = guidance_for(POLICIES, "alice", MEMBERS).get("prod")
    assert guidance is not None and guidance.roles == ("pod-exec",)
    errors = field_errors(prepared.problems, form, guidance)
    [error] = errors["role"]
    assert error.rule == rule
    assert error.text == f"{role} cannot be granted there; choose one of: pod-exec."


def test_a_role_name_of_the_wrong_shape_is_refused_by_the_schema() -> None:
    form = _form("POD-EXEC")  # names are exact, lower-case
    prepared = prepare("alice", form, POLICIES, MEMBERS, dt.date(2026, 11, 27))
    [problem] = prepared.problems
    assert problem.rule == "schema.pattern"
    assert "a role name from JanusConfig spec.roles, such as 'pod-exec'" in problem.message
    guidance = guidance_for(POLICIES, "alice", MEMBERS).get("prod")
    [error] = field_errors(prepared.problems, form, guidance)["role"]
    assert error.text == "POD-EXEC cannot be granted there; choose one of: pod-exec."


def test_an_allowed_role_passes() -> None:
    prepared = prepare("alice", _form("pod-exec"), POLICIES, MEMBERS, dt.date(2026, 11, 27))
    assert prepared.problems == []
