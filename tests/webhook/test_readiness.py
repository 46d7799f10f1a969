"""The receiver's liveness (/healthz) and readiness (/readyz: database and extra checks)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from janus.gitops.metrics import Counters
from janus.webhook.app import create_app
from janus.webhook.store import DeliveryStore

SECRET = b"s3cret"


def _down() -> None:
    raise ConnectionError("api server down")


def test_ready_when_the_database_answers(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store, counters=Counters(),
                                   ready_checks={"api_server": lambda: None}))
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


def test_unready_but_alive_when_the_database_is_gone(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store, counters=Counters()))
    store.close()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unready", "failing": ["database"]}
    # Liveness stays green: restarting the pod would not bring the database back.
    assert client.get("/healthz").status_code == 200


def test_unready_when_the_api_server_check_fails(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store, counters=Counters(),
                                   ready_checks={"api_server": _down}))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["failing"] == ["api_server"]


def test_the_runtime_checks_the_central_api_server() -> None:
    """Receiver wiring: the check reaches the client the receiver writes AccessRequests with
    (a refactor of GitOps.crs that loses it fails here rather than silently dropping it)."""
    from types import SimpleNamespace

    from kubernetes import client

    from janus.gitops.crs import AccessRequests
    from janus.resource import readiness
    from janus.webhook.runtime import _ready_checks

    config = client.Configuration()
    config.host = "http://127.0.0.1:9"  # discard port: nothing listens
    ops = SimpleNamespace(crs=AccessRequests(client.ApiClient(config)))
    checks = _ready_checks(ops)  # type: ignore[arg-type]
    assert list(checks) == ["api_server"]
    assert readiness.failing(checks) == ["api_server"]
