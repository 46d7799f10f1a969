"""janus.resource.readiness: failing checks become names (problems as values), never a crash."""

from __future__ import annotations

import logging

import pytest

from janus.resource import readiness


def _ok() -> None:
    return None


def _down() -> None:
    raise ConnectionRefusedError("connect to 10.0.0.1:443 refused")


def test_all_checks_pass() -> None:
    assert readiness.failing({"api_server": _ok, "database": _ok}) == []
    assert readiness.answer({"api_server": _ok}) == (200, {"status": "ready"})


def test_failing_checks_are_named_in_order(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "janus.readiness")
    status, body = readiness.answer({"database": _down, "x": _ok, "api_server": _down})
    assert status == 503
    assert body == {"status": "unready", "failing": ["database", "api_server"]}
    # The reason goes to the log only: the anonymous answer carries no address or message.
    assert "10.0.0.1" not in str(body)
    assert any("10.0.0.1" in str(r.__dict__.get("fields")) for r in caplog.records)


def test_api_server_check_fails_on_an_unreachable_server() -> None:
    from kubernetes import client

    config = client.Configuration()
    config.host = "http://127.0.0.1:9"  # discard port: nothing listens
    check = readiness.api_server(client.ApiClient(config))
    assert readiness.failing({"api_server": check}) == ["api_server"]
