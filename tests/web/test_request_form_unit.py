"""The request form's pure parts: names, YAML as a human writes it, the judge, settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from janus.model import load_policy_set_from_files, load_request
from janus.policy.membership import StaticMembership
from janus.web.login_flow import safe_next
from janus.web.request_form import (
    RequestForm,
    duration_choices,
    max_duration_for,
    pr_body,
    prepare,
    request_name,
    split_namespaces,
)
from janus.web.settings import SettingsError, WebSettings
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY

POLICIES = load_policy_set_from_files({
    "policies/janus.yaml": JANUS_CONFIG.encode(),
    "policies/payments-prod.yaml": PAYMENTS_POLICY.encode(),
})
MEMBERS = StaticMembership({"acme/payments-devs": ["bob"]})
TODAY = dt.date(2026, 11, 27)


def _form(**overrides: object) -> RequestForm:
    values: dict[str, object] = {
        "cluster": "prod", "namespaces": ("payments",), "role": "pod-exec", "duration": "1h",
        "reason": "INC-42: payment workers are stuck", "ticket": "INC-42",
    }
    values.update(overrides)
    return RequestForm(**values)  # type: ignore[arg-type]


def test_request_name_is_a_stable_dns_label() -> None:
    name = request_name("Alice", _form(), TODAY)
    assert name.startswith("alice-inc-42-20261127-")
    assert name == request_name("alice", _form(), TODAY)
    assert name != request_name("alice", _form(duration="2h"), TODAY)
    long = request_name("a" * 39, _form(ticket="T" * 100), TODAY)
    assert len(long) <= 63 and not long.endswith("-")


def test_split_namespaces_keeps_order_and_drops_duplicates() -> None:
    assert split_namespaces(" payments,payments-api  payments\n") == ("payments", "payments-api")


def test_prepared_yaml_is_what_a_human_writes_and_passes_the_judge() -> None:
    prepared = prepare("alice", _form(namespaces=("payments", "payments-api")), POLICIES,
                       MEMBERS, TODAY)
    assert prepared.problems == []
    assert sorted(prepared.files) == [
        f"requests/prod/payments-api/{prepared.name}.yaml",
        f"requests/prod/payments/{prepared.name}.yaml",
    ]
    text = prepared.files[f"requests/prod/payments/{prepared.name}.yaml"]
    assert text.startswith("# Opened with the Janus web form by alice.\napiVersion: janus.dev/")
    doc = yaml.safe_load(text)
    assert list(doc) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(doc["spec"]) == ["requester", "cluster", "namespace", "role", "duration",
                                 "reason", "ticket"]
    request, problems = load_request(f"requests/prod/payments/{prepared.name}.yaml",
                                     text.encode())
    assert problems == [] and request is not None
    assert "payments-leads" in " ".join(prepared.approvals)


@pytest.mark.parametrize("reason", [
    'quotes " and \' and: colons # not a comment',
    "1234567890", "2026-11-27", "1.0e+100000", "- looks like a list", "{not: a map}",
    "ünïcödé reason ✓ ok",
    "<script>alert(1)</script> still text",
])
def test_awkward_reasons_survive_the_yaml_round_trip(reason: str) -> None:
    prepared = prepare("alice", _form(reason=reason), POLICIES, MEMBERS, TODAY)
    assert prepared.problems == []
    (text,) = prepared.files.values()
    assert yaml.safe_load(text)["spec"]["reason"] == reason


def test_team_member_is_eligible_and_outsider_is_not() -> None:
    assert prepare("bob", _form(), POLICIES, MEMBERS, TODAY).problems == []
    rules = [p.rule for p in prepare("eve", _form(), POLICIES, MEMBERS, TODAY).problems]
    assert rules == ["requester.not-eligible"]


def test_namespace_count_is_bounded() -> None:
    many = tuple(f"payments-{i}" for i in range(11))
    assert prepare("alice", _form(namespaces=many), POLICIES, MEMBERS, TODAY).problems
    assert prepare("alice", _form(namespaces=()), POLICIES, MEMBERS, TODAY).problems


def test_form_choices_from_policies() -> None:
    assert max_duration_for(POLICIES, "alice", MEMBERS) == {"prod": "4h"}
    assert max_duration_for(POLICIES, "eve", MEMBERS) == {}
    choices = duration_choices(POLICIES)
    assert choices[0] == "10m" and choices[-1] == "8h" and "1h" in choices


def test_pr_body_states_requester_scope_duration_reason() -> None:
    form = _form(namespaces=("payments", "payments-api"), reason="line one")
    prepared = prepare("alice", form, POLICIES, MEMBERS, TODAY)
    body = pr_body("alice", form, prepared)
    for text in ("@alice", "`prod/payments`", "`prod/payments-api`", "1h", "> line one",
                 "INC-42"):
        assert text in body


@pytest.mark.parametrize(("target", "expected"), [
    ("/requests/new", "/requests/new"), ("/a?b=c", "/a?b=c"), (None, "/"), ("", "/"),
    ("//evil.example", "/"), ("https://evil.example", "/"), ("/\\evil", "/"),
    ("/ok\r\nSet-Cookie: x", "/"),
])
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_settings_from_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "web.yaml").write_text(
        "public_url: https://janus.example\nauth_mode: proxy\nproxy_addresses: [10.0.0.0/8]\n"
        "admin_users: [Root]\nkubeconfig: kube.yaml\nrepo: acme/access\n"
    )
    monkeypatch.setenv("JANUS_WEB_SESSION_SECRET", "from-the-environment-0123")
    settings = WebSettings.from_file(tmp_path / "web.yaml")
    settings.validate()
    assert settings.session_secret == "from-the-environment-0123"
    assert settings.admin_users == frozenset({"root"})
    assert settings.kubeconfig == tmp_path / "kube.yaml"
    assert settings.secure_cookies and settings.public_origin == "https://janus.example"


@pytest.mark.parametrize("data", [
    {"auth_mode": "github"},                       # no client id/secret
    {"auth_mode": "oidc"},                         # no issuer
    {"auth_mode": "proxy"},                        # no trusted proxies
    {"auth_mode": "proxy", "proxy_addresses": ["not-an-ip"]},
    {"auth_mode": "magic"},
    {"auth_mode": "dev", "session_secret": "short"},
])
def test_settings_refuse_unsafe_or_incomplete(data: dict) -> None:
    with pytest.raises(SettingsError):
        WebSettings.from_mapping(data).validate()


def test_settings_refuse_unknown_keys() -> None:
    with pytest.raises(SettingsError):
        WebSettings.from_mapping({"auth_mod": "dev"})


def test_cli_reads_the_simulator_state_for_the_demo(tmp_path: Path) -> None:
    import json

    from janus.cli import build_parser
    from janus.cli.web import build_settings

    state = tmp_path / "github-sim.json"
    state.write_text(json.dumps({"base_url": "http://127.0.0.1:4567", "repo": "acme/access",
                                 "tokens": {"alice": "t-alice", "root": "t-root"}}))
    args = build_parser().parse_args(
        ["web", "--dev-login", "--port", "8181", "--github-sim-state", str(state)])
    settings = build_settings(args)
    assert settings.auth_mode == "dev"
    assert settings.public_url == "http://127.0.0.1:8181"
    assert settings.github_api_url == "http://127.0.0.1:4567"
    assert settings.repo == "acme/access"
    assert settings.dev_user_tokens["alice"] == "t-alice"
    assert settings.github_token == "t-root"
    not_dev = build_parser().parse_args(["web", "--github-sim-state", str(state)])
    with pytest.raises(SettingsError):
        build_settings(not_dev)
