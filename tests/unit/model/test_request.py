"""load_request: schema and path rules, each accepted and refused, and a table of hostile files."""

import datetime as dt

import pytest

from janus.model import load_request
from tests.unit.model.helpers import REQUEST_PATH, REQUEST_TEXT, request_bytes, rules


def load(text: str | bytes, path: str = REQUEST_PATH):
    data = text.encode() if isinstance(text, str) else text
    return load_request(path, data)


def test_the_example_request_loads():
    request, problems = load(REQUEST_TEXT)
    assert problems == []
    assert request is not None
    assert (request.name, request.requester, request.cluster, request.namespace) == (
        "alice-payments-inc1234", "alice", "prod", "payments")
    assert request.role == "pod-exec"
    assert request.duration == dt.timedelta(hours=1)
    assert request.reason == "INC-1234: worker stuck"
    assert request.ticket == "INC-1234"
    assert request.path == REQUEST_PATH
    assert request.line_of["name"] == 4
    assert request.line_of["requester"] == 6
    assert request.line_of["duration"] == 10
    assert request.line_of["ticket"] == 12


def test_ticket_is_optional():
    request, problems = load(request_bytes(ticket=None))
    assert problems == [] and request is not None and request.ticket is None


def test_request_is_frozen():
    request, _ = load(REQUEST_TEXT)
    with pytest.raises(AttributeError):
        request.namespace = "kube-system"  # type: ignore[misc]


def replace(old: str, new: str) -> str:
    assert old in REQUEST_TEXT
    return REQUEST_TEXT.replace(old, new)


@pytest.mark.parametrize(("text", "rule", "line"), [
    # wrong kind or apiVersion
    (replace("kind: AccessRequest", "kind: AccessPolicy"), "schema.const", 2),
    (replace("janus.dev/v1alpha1", "janus.dev/v1"), "schema.const", 1),
    (replace("janus.dev/v1alpha1", "v1"), "schema.const", 1),
    # unknown fields anywhere
    (replace("  role: pod-exec\n", "  role: pod-exec\n  clusterRole: cluster-admin\n"),
     "schema.unknown-field", 10),
    (replace("metadata:\n", "metadata:\n  namespace: janus\n"), "schema.unknown-field", 4),
    (REQUEST_TEXT + "extra: 1\n", "schema.unknown-field", 13),
    (replace("  role: pod-exec\n", "  role: pod-exec\n  Role: admin\n"),
     "schema.unknown-field", 10),
    # status injected from git
    (REQUEST_TEXT + "status:\n  phase: Active\n", "request.status", 13),
    # missing fields
    (replace("  reason: \"INC-1234: worker stuck\"\n", ""), "schema.missing-field", 5),
    (replace("  duration: 1h\n", ""), "schema.missing-field", 5),
    # wrong types
    (replace("duration: 1h", "duration: 90"), "schema.type", 10),
    (replace("requester: alice", "requester: [alice]"), "schema.type", 6),
    (replace("role: pod-exec", "role: null"), "schema.type", 9),
    # values
    (replace("duration: 1h", "duration: 1d"), "schema.pattern", 10),
    (replace("duration: 1h", "duration: 999999999999h"), "schema.format", 10),
    (replace('reason: "INC-1234: worker stuck"', "reason: short"), "schema.min-length", 11),
    (replace('reason: "INC-1234: worker stuck"', "reason: " + "x" * 501), "schema.max-length", 11),
    (replace("ticket: INC-1234", "ticket: INC 1234"), "schema.pattern", 12),
    (replace("ticket: INC-1234", 'ticket: "INC-1234\\n"'), "schema.format", 12),
    (replace("requester: alice", "requester: alice--x"), "schema.pattern", 6),
    (replace("requester: alice", "requester: " + "a" * 40), "schema.max-length", 6),
    (replace("role: pod-exec", "role: Pod-Exec"), "schema.pattern", 9),
    # homoglyph namespace (Cyrillic a), in the file and in the path
    (replace("namespace: payments", "namespace: p\u0430yments"), "schema.pattern", 8),
    # a trailing newline sneaking past a `$`-anchored pattern
    (replace("namespace: payments", 'namespace: "payments\\n"'), "schema.format", 8),
    # path consistency
    (replace("name: alice-payments-inc1234", "name: bob-payments"), "path.name", 4),
    (replace("cluster: prod", "cluster: staging"), "path.cluster", 7),
    (replace("namespace: payments", "namespace: billing"), "path.namespace", 8),
    # not a mapping
    ("", "request.shape", 1),
    ("- a\n- b\n", "request.shape", 1),
    ("just text\n", "request.shape", 1),
    # loader dangers reach the caller as problems
    (REQUEST_TEXT + "spec: {}\n", "yaml.duplicate-key", 13),
    (replace("  duration: 1h\n", "  duration: 1h\n  duration: 8h\n"), "yaml.duplicate-key", 11),
    (REQUEST_TEXT + "---\n" + REQUEST_TEXT, "yaml.multi-document", 13),
    (replace("reason: ", "reason: !!python/object/apply:os.system "), "yaml.tag", 11),
    (replace("spec:\n", "spec: &s\n") + "x: *s\n", "schema.unknown-field", 13),
])
def test_hostile_and_invalid_files(text, rule, line):
    request, problems = load(text)
    assert request is None
    assert rule in rules(problems), problems
    problem = next(p for p in problems if p.rule == rule)
    if line is not None:
        assert problem.line == line, problem
    assert problem.path == REQUEST_PATH
    assert problem.message


def test_unknown_field_message_lists_the_accepted_fields():
    _, problems = load(replace("  role: pod-exec\n", "  role: pod-exec\n  clusterRole: admin\n"))
    [problem] = problems
    assert "spec.clusterRole" in problem.message
    assert "requester" in problem.message and "duration" in problem.message


def test_homoglyph_is_named():
    _, problems = load(replace("namespace: payments", "namespace: p\u0430yments"))
    message = next(p.message for p in problems if p.rule == "schema.pattern")
    assert "U+0430 CYRILLIC SMALL LETTER A" in message


def test_blank_reason_is_refused():
    _, problems = load(replace('reason: "INC-1234: worker stuck"', 'reason: "    x     "'))
    assert rules(problems) == ["request.reason"]


def test_plain_number_duration_gets_a_hint():
    _, problems = load(replace("duration: 1h", "duration: 90"))
    assert "90m" in problems[0].message


def test_each_field_is_reported_once():
    _, problems = load(replace("namespace: payments", "namespace: Payments"))
    assert [p.rule for p in problems if p.line == 8].count("schema.pattern") == 1


def test_many_problems_are_all_reported_in_line_order():
    text = replace("duration: 1h", "duration: 90").replace("role: pod-exec", "role: x\n  foo: 1")
    _, problems = load(text + "status: {}\n")
    assert len(problems) == 3
    assert [p.line for p in problems] == sorted(p.line for p in problems)


@pytest.mark.parametrize(("path", "rule"), [
    ("requests/prod/payments/alice-payments-inc1234.yml", "path.extension"),
    ("requests/prod/payments/alice-payments-inc1234.json", "path.extension"),
    ("requests/prod/payments/../../../etc/alice-payments-inc1234.yaml", "path.layout"),
    ("requests/prod/../prod/payments/alice-payments-inc1234.yaml", "path.layout"),
    ("/requests/prod/payments/alice-payments-inc1234.yaml", "path.layout"),
    ("requests\\prod\\payments\\alice-payments-inc1234.yaml", "path.layout"),
    ("requests/prod/alice-payments-inc1234.yaml", "path.layout"),
    ("requests/prod/payments/extra/alice-payments-inc1234.yaml", "path.layout"),
    ("policies/prod/payments/alice-payments-inc1234.yaml", "path.layout"),
    ("requests/prod//alice-payments-inc1234.yaml", "path.layout"),
    ("requests/prod/p\u0430yments/alice-payments-inc1234.yaml", "path.namespace"),
    ("requests/prod/payments/alice-payments-INC1234.yaml", "path.name"),
])
def test_path_rules(path, rule):
    request, problems = load_request(path, REQUEST_TEXT.encode())
    assert request is None
    assert rule in rules(problems), problems


def test_a_name_with_path_traversal_is_refused():
    text = replace("name: alice-payments-inc1234", "name: ../../etc/passwd")
    _, problems = load(text, "requests/prod/payments/passwd.yaml")
    assert "schema.pattern" in rules(problems)


def test_reason_may_span_lines():
    text = replace('reason: "INC-1234: worker stuck"', "reason: |\n    INC-1234:\n    worker stuck")
    request, problems = load(text)
    assert problems == [] and request is not None
    assert request.reason == "INC-1234:\nworker stuck\n"
