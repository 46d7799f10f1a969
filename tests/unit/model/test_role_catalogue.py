"""The role catalogue as configuration (issue 13 item 1): built-ins, custom roles, the
escalation check, and requests judged against the catalogue — hostile cases first."""

from __future__ import annotations

import pytest

from janus.model import ConfigError, load_policy_set_from_files
from janus.model.catalogue import CLUSTER_ROLE_RULES, escalation_reasons
from janus.policy import evaluate
from janus.policy.plan import role_lines
from janus.policy.roles import catalogue_manifests, catalogue_names
from tests.unit.model.helpers import CONFIG, MEMBERS, PAYMENTS_PROD, make_request, policy_files

BASE_ROLES = "    pod-exec: {clusterRole: janus-pod-exec}\n"


def catalogue_config(extra_roles: str) -> str:
    assert BASE_ROLES in CONFIG
    return CONFIG.replace(BASE_ROLES, BASE_ROLES + extra_roles)


def load(extra_roles: str, policy_roles: str = "[pod-exec]"):
    prod = PAYMENTS_PROD.replace("roles: [pod-exec]", f"roles: {policy_roles}")
    return load_policy_set_from_files(policy_files(janus=catalogue_config(extra_roles),
                                                   payments_prod=prod))


def problems(extra_roles: str):
    with pytest.raises(ConfigError) as info:
        load(extra_roles)
    return info.value.problems


BUILTINS = """\
    pod-logs: {clusterRole: janus-pod-logs}
    pod-debug: {clusterRole: janus-pod-debug, images: ["busybox:1.36", "ghcr.io/acme/debug:2"]}
    view: {clusterRole: janus-view, description: look around}
"""

CRONJOBS = """\
    cronjobs:
      clusterRole: janus-cronjobs
      rules:
        - {apiGroups: [batch], resources: [cronjobs, jobs], verbs: [get, list, create]}
"""


def test_builtins_resolve_to_their_fixed_rules():
    config = load(BUILTINS).config
    defs = config.role_definitions
    assert {name: d.cluster_role for name, d in defs.items()} == dict(config.roles)
    for definition in defs.values():
        assert definition.builtin
        assert [dict(r) for r in definition.rules] == CLUSTER_ROLE_RULES[definition.cluster_role]
        assert not definition.escalating
    assert defs["pod-debug"].images == ("busybox:1.36", "ghcr.io/acme/debug:2")
    assert defs["view"].description == "look around"
    assert defs["pod-logs"].description == "read pods and their logs"


def test_no_builtin_escalates_and_view_never_reads_secrets():
    for name, rules in CLUSTER_ROLE_RULES.items():
        assert escalation_reasons(rules) == [], name
    for rule in CLUSTER_ROLE_RULES["janus-view"]:
        assert "secrets" not in rule["resources"]
        assert set(rule["verbs"]) <= {"get", "list", "watch"}


def test_custom_role_with_rules():
    config = load(CRONJOBS).config
    definition = config.role_definitions["cronjobs"]
    assert not definition.builtin
    assert definition.rules == ({"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"],
                                 "verbs": ["get", "list", "create"]},)
    assert catalogue_names(config) == ["janus-cronjobs", "janus-pod-exec"]
    assert [m["metadata"]["name"] for m in catalogue_manifests(config)] == catalogue_names(config)


@pytest.mark.parametrize(("rules", "reason"), [
    ("{apiGroups: [''], resources: [pods], verbs: ['*']}", "verb '*'"),
    ("{apiGroups: ['*'], resources: [pods], verbs: [get]}", "apiGroup '*'"),
    ("{apiGroups: [''], resources: ['*'], verbs: [get]}", "a '*' resource"),
    ("{apiGroups: [''], resources: ['pods/*'], verbs: [get]}", "a '*' resource"),
    ("{apiGroups: [''], resources: [secrets], verbs: [get]}", "resource 'secrets'"),
    ("{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}",
     "resource 'serviceaccounts/token'"),
    ("{apiGroups: [''], resources: [nodes/proxy], verbs: [get]}", "resource 'nodes/proxy'"),
    ("{apiGroups: [''], resources: [users], verbs: [impersonate]}", "verb 'impersonate'"),
    ("{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get]}",
     "RBAC objects"),
    ("{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}",
     "verb 'bind'"),
    ("{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}",
     "verb 'escalate'"),
])
def test_escalating_custom_role_without_the_mark_is_refused(rules, reason):
    role = f"    risky:\n      clusterRole: janus-risky\n      rules:\n        - {rules}\n"
    [problem] = problems(role)
    assert problem.rule == "config.role-escalating"
    assert problem.path == "policies/janus.yaml" and problem.line is not None
    assert reason in problem.message
    assert "'escalating: true'" in problem.message  # says what would be accepted
    # ... and accepted, said so in the plan, once the admin marks it.
    marked = role.replace("clusterRole: janus-risky", "clusterRole: janus-risky\n"
                          "      escalating: true")
    policies = load(marked, "[pod-exec, risky]")
    assert policies.config.role_definitions["risky"].escalating
    request = make_request(role="risky")
    decision = evaluate(request, policies, MEMBERS)
    assert decision.allowed, decision.problems
    assert any("ESCALATING" in line for line in role_lines(request, policies.config))


def test_pod_exec_is_not_escalating():
    role = ("    shell:\n      clusterRole: janus-shell\n      rules:\n"
            "        - {apiGroups: [''], resources: [pods/exec], verbs: [get, create]}\n")
    assert not load(role).config.role_definitions["shell"].escalating


@pytest.mark.parametrize(("role", "rule", "says"), [
    ("    x: {clusterRole: cluster-admin}\n", "config.cluster-role", "janus-<name>"),
    ("    x: {clusterRole: edit, rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}\n",
     "config.cluster-role", "janus-<name>"),
    ("    x: {clusterRole: janus-controller-target, rules: "
     "[{apiGroups: [''], resources: [pods], verbs: [get]}]}\n", "config.cluster-role",
     "not one of Janus's own"),
    ("    x: {clusterRole: janus-custom}\n", "config.cluster-role", "needs 'rules'"),
    ("    x: {clusterRole: janus-pod-logs, rules: "
     "[{apiGroups: [''], resources: [pods], verbs: [delete]}]}\n", "config.role-rules",
     "remove 'rules'"),
    ("    x: {clusterRole: janus-pod-debug}\n", "config.role-images", "images: [busybox"),
    ("    x: {clusterRole: janus-pod-logs, images: [busybox]}\n", "config.role-images",
     "remove 'images'"),
    ("    x: {clusterRole: janus-a, rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}\n"
     "    y: {clusterRole: janus-a, rules: [{apiGroups: [''], resources: [pods], "
     "verbs: [list]}]}\n",
     "config.cluster-role-conflict", "one ClusterRole has one set of rules"),
    ("    x: {clusterRole: janus-a, rules: [{apiGroups: [''], resources: [pods], verbs: [get],"
     " nonResourceURLs: ['/metrics']}]}\n", "schema.unknown-field", ""),
    ("    x: {clusterRole: janus-a, rules: [{resources: [pods], verbs: [get]}]}\n",
     "schema.missing-field", "apiGroups is required"),
])
def test_hostile_role_definitions(role, rule, says):
    found = problems(role)
    assert rule in [p.rule for p in found], found
    assert says in " ".join(p.message for p in found)


def test_request_for_an_unknown_role():
    policies = load(BUILTINS)
    decision = evaluate(make_request(role="cluster-admin"), policies, MEMBERS)
    assert not decision.allowed
    [problem] = decision.problems
    assert problem.rule == "role.unknown"
    assert "pod-debug, pod-exec, pod-logs, view" in problem.message


def test_request_for_a_role_the_policy_does_not_allow():
    policies = load(BUILTINS)  # the policy allows pod-exec only
    decision = evaluate(make_request(role="pod-logs"), policies, MEMBERS)
    assert not decision.allowed
    assert [p.rule for p in decision.problems] == ["policy.role"]
    assert "accepted: pod-exec" in decision.problems[0].message


def test_request_for_a_builtin_role_the_policy_allows_and_its_plan_lines():
    policies = load(BUILTINS, "[pod-exec, pod-logs, pod-debug]")
    request = make_request(role="pod-logs")
    assert evaluate(request, policies, MEMBERS).allowed
    assert role_lines(request, policies.config) == [
        "role pod-logs → ClusterRole janus-pod-logs (read pods and their logs), in namespace "
        "payments only:",
        "  get, list on pods (core)",
        "  get on pods/log (core)",
    ]
    debug = role_lines(make_request(role="pod-debug"), policies.config)
    assert debug[-1] == "  debug images allowed: busybox:1.36, ghcr.io/acme/debug:2"


def test_the_plan_comment_shows_the_rules_the_role_grants():
    from types import SimpleNamespace

    from janus.gitops import render
    from janus.policy.plan import plan_objects

    policies = load(BUILTINS, "[pod-exec, pod-logs]")
    request = make_request(role="pod-logs")
    decision = evaluate(request, policies, MEMBERS)
    judged = SimpleNamespace(path=request.path, allowed=True, request=request, decision=decision)
    body = render.plan_comment(
        [judged], [], [], {request.path: plan_objects(request, policies.config)}, "f" * 40,
        grants={request.path: role_lines(request, policies.config)})
    assert "The role grants:" in body
    assert "get on pods/log (core)" in body
    assert body.index("get on pods/log") < body.index("exactly these objects are created")
    # Without grants (older callers) the comment is as before.
    assert "The role grants" not in render.plan_comment(
        [judged], [], [], {request.path: plan_objects(request, policies.config)}, "f" * 40)


def test_what_the_web_app_offers_per_role():
    from janus.policy.roles import offers

    config = load(BUILTINS + CRONJOBS).config
    assert offers(config, "pod-exec") == {"terminal", "logs"}
    assert offers(config, "pod-logs") == {"logs"}
    assert offers(config, "pod-debug") == {"debug"}
    assert offers(config, "view") == {"view"}
    assert offers(config, "cronjobs") == set()
    # Policies unreadable: pod-exec keeps its terminal, nothing else is offered.
    assert offers(None, "pod-exec") == {"terminal", "logs"}
    assert offers(None, "pod-logs") == set()
