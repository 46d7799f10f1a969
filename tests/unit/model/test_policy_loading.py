"""Policy sets: valid ones load; every invalid one is a ConfigError naming file, line and rule."""

import datetime as dt
from pathlib import Path

import pytest

from janus.model import (
    ConfigError,
    load_config_file,
    load_policy_set,
    load_policy_set_from_files,
)
from janus.model.policy import namespace_matches
from tests.unit.model.helpers import CONFIG, PAYMENTS_PROD, policy_files, policy_set

REPO = Path(__file__).resolve().parents[3]


def test_the_standard_set_loads():
    policies = policy_set()
    config = policies.config
    assert config.clusters == ("prod", "staging")
    assert {"kube-system", "janus", "janus-tokens"} <= config.excluded_namespaces
    assert config.duration_min == dt.timedelta(minutes=10)
    assert config.duration_max == dt.timedelta(hours=8)
    assert config.duration_default == dt.timedelta(hours=1)
    assert dict(config.roles) == {"pod-exec": "janus-pod-exec"}
    assert config.admin_teams == frozenset({"acme/sre"})
    assert config.admin_users == frozenset()
    assert config.pending_timeout == dt.timedelta(hours=24)
    assert [p.name for p in policies.policies] == ["payments-prod", "payments-staging",
                                                    "sre-oncall"]
    prod = policies.policy("payments-prod")
    assert prod is not None
    assert prod.requester_users == frozenset({"alice"})
    assert prod.approver_teams == frozenset({"acme/payments-leads"})
    assert prod.required == 1
    assert prod.max_duration == dt.timedelta(hours=4)
    assert prod.ticket_pattern is not None and prod.ticket_pattern.pattern == "^INC-[0-9]+$"


def test_the_template_in_the_repo_is_valid():
    policies = load_policy_set(REPO)
    assert policies.config.clusters == ("prod", "staging")
    assert len(policies.policies) >= 2


def test_load_config_file(tmp_path):
    path = tmp_path / "janus.yaml"
    path.write_text(CONFIG)
    assert load_config_file(path).clusters == ("prod", "staging")
    path.write_text(PAYMENTS_PROD)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert info.value.problems[0].rule == "config.kind"
    with pytest.raises(ConfigError):
        load_config_file(tmp_path / "missing.yaml")


def test_logins_and_teams_are_lower_cased():
    text = PAYMENTS_PROD.replace("users: [alice]", "users: [Alice]").replace(
        "acme/payments-leads", "ACME/Payments-Leads")
    prod = policy_set(payments_prod=text).policy("payments-prod")
    assert prod is not None
    assert prod.requester_users == frozenset({"alice"})
    assert prod.approver_teams == frozenset({"acme/payments-leads"})


def test_other_files_are_ignored():
    files = policy_files()
    files["policies/README.md"] = b"# not yaml"
    files["policies/nested/x.yaml"] = b"not: read"
    files["requests/prod/payments/x.yaml"] = b"not: read"
    assert len(load_policy_set_from_files(files).policies) == 3


def config_problems(files):
    with pytest.raises(ConfigError) as info:
        load_policy_set_from_files(files)
    return info.value.problems


def with_config(old: str, new: str) -> dict[str, bytes]:
    assert old in CONFIG
    return policy_files(janus=CONFIG.replace(old, new))


def with_policy(old: str, new: str) -> dict[str, bytes]:
    assert old in PAYMENTS_PROD
    return policy_files(payments_prod=PAYMENTS_PROD.replace(old, new))


@pytest.mark.parametrize(("files", "rule", "path"), [
    ({k: v for k, v in policy_files().items() if k != "policies/janus.yaml"},
     "config.missing", "policies/janus.yaml"),
    (policy_files(second=CONFIG.replace("name: janus", "name: second")),
     "config.duplicate", "policies/second.yaml"),
    (with_config("duration: {min: 10m", "duration: {min: 5m"), "config.duration", None),
    (with_config("default: 1h", "default: 9h"), "config.duration", None),
    (with_config("clusterRole: janus-pod-exec", "clusterRole: cluster-admin"),
     "config.cluster-role", None),
    (with_config("admins: {teams: [acme/sre], users: []}", "admins: {}"), "config.admins", None),
    (with_config("clusters: [prod, staging]", "clusters: []"), "schema.min-items", None),
    (with_config("clusters: [prod, staging]", "clusters: [prod, prod]"),
     "schema.unique-items", None),
    (with_config("pendingTimeout: 24h", "pendingTimeout: 24"), "schema.type", None),
    (with_config("name: janus", "name: other"), "path.name", None),
    (with_config("kind: JanusConfig", "kind: Secret"), "config.kind", None),
    (with_config("  pendingTimeout: 24h\n", "  pendingTimeout: 24h\n  debug: true\n"),
     "schema.unknown-field", None),
    (with_policy("clusters: [prod]", "clusters: [dev]"), "policy.cluster", None),
    (with_policy("roles: [pod-exec]", "roles: [admin]"), "policy.role", None),
    (with_policy('namespaces: [payments, "payments-*"]', "namespaces: [kube-system]"),
     "policy.excluded", None),
    (with_policy('namespaces: [payments, "payments-*"]', "namespaces: [janus-tokens]"),
     "policy.excluded", None),
    (with_policy('namespaces: [payments, "payments-*"]', 'namespaces: ["pay[a-z]"]'),
     "schema.pattern", None),
    (with_policy("requesters: {users: [alice], teams: [acme/payments-devs]}",
                 "requesters: {}"), "policy.requesters", None),
    (with_policy("approvers:  {users: [], teams: [acme/payments-leads], required: 1}",
                 "approvers: {required: 1}"), "policy.approvers", None),
    (with_policy("approvers:  {users: [], teams: [acme/payments-leads], required: 1}",
                 "approvers: {users: [bob], required: 2}"), "policy.approvers", None),
    (with_policy("required: 1", "required: 0"), "schema.minimum", None),
    (with_policy("maxDuration: 4h", "maxDuration: 9h"), "policy.max-duration", None),
    (with_policy("maxDuration: 4h", "maxDuration: 5m"), "policy.max-duration", None),
    (with_policy('ticketPattern: "^INC-[0-9]+$"', 'ticketPattern: "^INC-[0-9+$"'),
     "policy.ticket-pattern", None),
    (with_policy("teams: [acme/payments-devs]", "teams: [payments-devs]"), "schema.pattern",
     None),
    (policy_files(other=PAYMENTS_PROD), "path.name", "policies/other.yaml"),
    (with_policy("kind: AccessPolicy", "kind: AccessRequest"), "config.kind", None),
    (with_policy("  maxDuration: 4h\n", "  maxDuration: 4h\n  maxDuration: 8h\n"),
     "yaml.duplicate-key", None),
    (with_policy("  maxDuration: 4h\n", "  maxDuration: 4h\n  clusterRole: admin\n"),
     "schema.unknown-field", None),
])
def test_invalid_policy_sets(files, rule, path):
    problems = config_problems(files)
    assert rule in [p.rule for p in problems], problems
    problem = next(p for p in problems if p.rule == rule)
    if path:
        assert problem.path == path
    assert problem.message


def test_config_error_lists_every_problem():
    files = with_policy("clusters: [prod]", "clusters: [dev]")
    files["policies/janus.yaml"] = CONFIG.replace("default: 1h", "default: 9h").encode()
    problems = config_problems(files)
    assert "config.duration" in [p.rule for p in problems]
    error = ConfigError(problems)
    assert "invalid policy configuration" in str(error)


def test_missing_policies_folder(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_policy_set(tmp_path)
    assert info.value.problems[0].rule == "config.missing"


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("payments", "payments", True),
    ("payments", "payments-eu", False),
    ("payments-*", "payments-eu", True),
    ("payments-*", "payments-", True),
    ("payments-*", "payments", False),
    ("*", "anything", True),
    ("pay?ents", "payments", True),
    ("pay?ents", "paaayments", False),
])
def test_namespace_globs(pattern, name, expected):
    assert namespace_matches(pattern, name) is expected
