"""The web app's /readyz (API server and session database) against /healthz (liveness)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from kubernetes import client

from janus import names
from janus.web.grants import GrantStore

pytestmark = pytest.mark.k8s_real


def test_ready_on_the_real_api_server(web: Callable[..., TestClient]) -> None:
    app = web()
    response = app.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


def test_unready_but_alive_when_the_api_server_is_unreachable(
    web: Callable[..., TestClient],
) -> None:
    config = client.Configuration()
    config.host = "http://127.0.0.1:9"  # discard port: nothing listens
    dead = GrantStore(client.ApiClient(config), names.JANUS_NAMESPACE)
    app = web(app_kwargs={"grants": dead})
    response = app.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unready", "failing": ["api_server"]}
    assert app.get("/healthz").status_code == 200
