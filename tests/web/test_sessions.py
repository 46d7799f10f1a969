"""Issue 11 item 7: server-side sessions. The cookie carries only a session id that the web
database knows; logout and expiry end it there, so a copied cookie replayed afterwards gets the
login page; a login rotates the id (nothing from before the login survives)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PUBLIC_URL, dev_login

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]
HTML = {"accept": "text/html"}


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """Every test here on both backends: a SQLite file, then a real PostgreSQL server."""
    return database_url


def _replay(app_client: TestClient, cookie: str) -> TestClient:
    """Another browser (the attacker's) holding a copy of the cookie."""
    thief = TestClient(app_client.app, base_url=PUBLIC_URL, client=("127.0.0.1", 50001))
    thief.cookies.set("janus_session", cookie)
    return thief


def _is_login_page(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 303 and response.headers["location"].startswith(
        "/auth/login")


def test_cookie_replayed_after_logout_gets_the_login_page(web: WebFactory) -> None:
    alice = web()
    token = dev_login(alice, "alice")
    stolen = alice.cookies["janus_session"]
    assert 'data-testid="whoami">alice<' in _replay(alice, stolen).get("/").text  # valid now
    assert alice.post("/auth/logout", data={"csrf_token": token},
                      follow_redirects=False).status_code == 303
    replayed = _replay(alice, stolen).get("/", headers=HTML, follow_redirects=False)
    assert _is_login_page(replayed), (replayed.status_code, replayed.text[:200])
    api = _replay(alice, stolen).get("/", headers={"accept": "application/json"})
    assert api.status_code == 401


def test_login_rotates_the_session(web: WebFactory) -> None:
    alice = web()
    dev_login(alice, "alice")
    first = alice.cookies["janus_session"]
    dev_login(alice, "alice")  # a second login in the same browser
    second = alice.cookies["janus_session"]
    assert first != second
    # The first session ended with the second login: its cookie is worth nothing now.
    replayed = _replay(alice, first).get("/", headers=HTML, follow_redirects=False)
    assert _is_login_page(replayed)
    assert 'data-testid="whoami">alice<' in _replay(alice, second).get("/").text


def test_session_ends_at_its_server_side_expiry(web: WebFactory) -> None:
    alice = web()
    dev_login(alice, "alice")
    assert 'data-testid="whoami">alice<' in alice.get("/").text
    # The server's record says the session is over (the cookie itself is still well signed).
    from sqlalchemy import update

    from janus.web.db import now, web_sessions

    store = alice.app.state.web_sessions
    with store.engine.begin() as conn:
        conn.execute(update(web_sessions).values(expires_at=now()))
    assert _is_login_page(alice.get("/", headers=HTML, follow_redirects=False))


def test_cookie_holds_only_an_opaque_session_id(web: WebFactory) -> None:
    import base64
    import json

    alice = web()
    dev_login(alice, "alice")
    cookie = alice.cookies["janus_session"]
    payload = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
    assert "alice" not in json.dumps(payload)  # who you are is on the server, not in the cookie
