"""The notifications file: strict parsing, secrets from files, routing by cluster, namespace,
policy and event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from janus.errors import ConfigError
from janus.notify import EventKind, load_config, parse_config
from janus.notify.config import route
from tests.notify.support import sample_event


def _doc(**extra):  # type: ignore[no-untyped-def]
    return {"kind": "NotificationConfig",
            "channels": [{"name": "all", "type": "teams", "url": "https://t.example/x"},
                         {"name": "payments", "type": "slack", "url": "https://s.example/y"},
                         {"name": "siem", "type": "webhook", "url": "https://siem.example/in",
                          "secret": "x" * 16}],
            "routes": [{"channels": ["all"]},
                       {"match": {"namespaces": ["payments"]}, "channels": ["payments"]},
                       {"match": {"policies": ["breakglass"], "events": ["grant.revoked"]},
                        "channels": ["siem"]}],
            **extra}


def test_routes_by_namespace_policy_and_event() -> None:
    config = parse_config(_doc())
    assert route(config, sample_event()) == ("all", "payments")
    assert route(config, sample_event(namespace="web")) == ("all",)
    assert route(config, sample_event(kind=EventKind.REVOKED, policy="breakglass",
                                      namespace="web")) == ("all", "siem")
    # An event that does not know its policy does not match a route restricted to policies.
    assert route(config, sample_event(kind=EventKind.REVOKED, policy=None,
                                      namespace="web")) == ("all",)


def test_defaults_and_lead_time() -> None:
    config = parse_config(_doc(expiringSoon="30m"))
    assert config.expiring_soon == dt.timedelta(minutes=30)
    assert parse_config(_doc()).expiring_soon == dt.timedelta(minutes=15)


@pytest.mark.parametrize("change, message", [
    ({"colour": "red"}, "unknown key"),
    ({"kind": "JanusConfig"}, "kind must be"),
    ({"channels": [{"name": "x", "type": "pager", "url": "https://p"}]}, "type must be"),
    ({"channels": [{"name": "x", "type": "slack", "url": "ftp://p"}]}, "http(s) URL"),
    ({"channels": [{"name": "x", "type": "webhook", "url": "https://p", "secret": "short"}]},
     "16 bytes"),
    ({"routes": [{"channels": ["nowhere"]}]}, "no channel named"),
    ({"routes": [{"match": {"events": ["grant.exploded"]}, "channels": ["all"]}]},
     "unknown event"),
    ({"routes": [{"match": {"teams": ["x"]}, "channels": ["all"]}]}, "unknown key"),
    ({"expiringSoon": "soon"}, "notifications:"),
])
def test_strict(change, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(_doc(**change))


def test_secrets_come_from_files_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://hooks.slack.example/services/T/B/X\n")
    (tmp_path / "pw").write_text("hunter2-hunter2\n")
    (tmp_path / "n.yaml").write_text(
        "kind: NotificationConfig\n"
        "channels:\n"
        "  - {name: s, type: slack, urlFile: url}\n"
        "  - name: m\n    type: email\n    from: janus@example.com\n"
        "    smtp: {host: mail.example, port: 587, starttls: true, username: janus,"
        " passwordFile: pw}\n"
        "routes: [{channels: [s, m]}]\n")
    config = load_config(tmp_path / "n.yaml")
    assert config.channels["s"].url == "https://hooks.slack.example/services/T/B/X"
    assert config.channels["m"].password == "hunter2-hunter2"
    assert config.channels["m"].starttls
    with pytest.raises(ConfigError, match="urlFile"):
        parse_config({"kind": "NotificationConfig", "routes": [],
                      "channels": [{"name": "s", "type": "slack", "urlFile": "missing"}]},
                     tmp_path)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    """docs/notifications.md's example file is a valid configuration (its secret files made)."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    [example] = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S)
                 if "kind: NotificationConfig" in b]
    (tmp_path / "secrets").mkdir()
    for name in re.findall(r"File: (secrets/[\w-]+)", example):
        (tmp_path / name).write_text("https://hooks.example/x\n" if "url" in name
                                     else "s" * 32 + "\n")
    (tmp_path / "notifications.yaml").write_text(example)
    config = load_config(tmp_path / "notifications.yaml")
    assert set(config.channels) == {"security", "payments", "mail", "siem"}
    assert route(config, sample_event()) == ("security", "siem", "payments", "mail")
