"""Security headers, escaping, the WebSocket helper's Origin check, the trusted proxy header and
the dev login's loopback rule."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from janus.cli import main as janus_main
from janus.web.auth import user_from_websocket
from tests.web.conftest import LOOPBACK_PEER, PUBLIC_URL, dev_login

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _assert_security_headers(headers: dict) -> None:
    csp = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize(
    "path", ["/", "/auth/dev", "/auth/login", "/requests/new", "/admin", "/no-such-page",
             "/static/js/janus.js", "/healthz"]
)
def test_security_headers_on_every_response(web: WebFactory, path: str) -> None:
    alice = web()
    dev_login(alice, "alice")
    response = alice.get(path, follow_redirects=False)
    _assert_security_headers(response.headers)


def test_security_headers_on_anonymous_and_error_responses(web: WebFactory) -> None:
    anon = web(peer=("203.0.113.9", 4444))
    for response in (anon.get("/", follow_redirects=False), anon.get("/auth/dev"),
                     anon.post("/auth/logout")):
        assert response.status_code >= 300
        _assert_security_headers(response.headers)


def test_pages_have_no_inline_script(web: WebFactory, make_grant: Callable[..., str]) -> None:
    make_grant("alice")
    alice = web(admin_users=frozenset({"alice"}))
    dev_login(alice, "alice")
    for path in ("/", "/requests/new", "/admin", "/auth/signed-out"):
        html = alice.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {path}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"


def test_hostile_reason_and_names_are_escaped(
    web: WebFactory, make_grant: Callable[..., str]
) -> None:
    make_grant("alice", reason=HOSTILE)
    alice = web(admin_users=frozenset({"alice"}))
    dev_login(alice, "alice")
    for path in ("/", "/admin"):
        html = alice.get(path).text
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_hostile_display_name_is_escaped(web: WebFactory) -> None:
    alice = web()
    token = alice.get("/auth/dev")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', token.text).group(1)
    alice.post("/auth/dev", data={"login": "alice", "name": HOSTILE, "csrf_token": csrf})
    html = alice.get("/").text
    assert "<script>alert" not in html


# -- dev login ---------------------------------------------------------------------------------


@pytest.mark.parametrize("peer", [("10.0.0.7", 1234), ("203.0.113.9", 4444), ("testclient", 1)])
def test_dev_login_refuses_non_loopback_peers(web: WebFactory, peer: tuple[str, int]) -> None:
    remote = web(peer=peer)
    assert remote.get("/auth/dev").status_code == 403
    response = remote.post("/auth/dev", data={"login": "alice", "csrf_token": "x"})
    assert response.status_code == 403
    assert remote.get("/", headers={"accept": "application/json"}).status_code == 401


def test_dev_login_is_off_in_other_modes(web: WebFactory) -> None:
    proxied = web(auth_mode="proxy", proxy_addresses=("127.0.0.1",))
    assert proxied.get("/auth/dev").status_code == 404


def test_dev_login_needs_csrf(web: WebFactory) -> None:
    local = web()
    response = local.post("/auth/dev", data={"login": "alice"})
    assert response.status_code == 403


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::"])  # noqa: S104 - the point
def test_cli_refuses_dev_login_on_non_loopback_bind(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert janus_main(["web", "--dev-login", "--host", host, "--port", "18999"]) == 2
    assert "refusing to start" in capsys.readouterr().err


# -- trusted proxy header ------------------------------------------------------------------------


def test_proxy_header_from_trusted_proxy_logs_in(web: WebFactory) -> None:
    via_proxy = web(peer=("10.0.0.5", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.0/24",))
    page = via_proxy.get("/", headers={"X-Forwarded-User": "alice"})
    assert page.status_code == 200
    assert 'data-testid="whoami">alice<' in page.text


@pytest.mark.parametrize("peer", [("10.0.1.5", 3000), ("127.0.0.1", 3000)])
def test_proxy_header_from_other_address_is_ignored(
    web: WebFactory, peer: tuple[str, int]
) -> None:
    direct = web(peer=peer, auth_mode="proxy", proxy_addresses=("10.0.0.0/24",))
    response = direct.get("/", headers={"X-Forwarded-User": "alice",
                                        "accept": "application/json"})
    assert response.status_code == 401


def test_proxy_header_must_be_a_github_login(web: WebFactory) -> None:
    via_proxy = web(peer=("10.0.0.5", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.5",))
    for bad in ("", "a b", "<script>", "x" * 40, "-alice"):
        response = via_proxy.get("/", headers={"X-Forwarded-User": bad,
                                               "accept": "application/json"})
        assert response.status_code == 401, bad


# -- the WebSocket helper ------------------------------------------------------------------------


def _with_whoami(app: FastAPI) -> None:
    @app.websocket("/ws/test-whoami")
    async def whoami(ws: WebSocket) -> None:
        user = user_from_websocket(ws)
        if user is None:
            await ws.close(code=4403)
            return
        await ws.accept()
        await ws.send_text(user.login)
        await ws.close()


def test_websocket_helper_accepts_own_origin_with_session(web: WebFactory) -> None:
    alice = web()
    _with_whoami(alice.app)
    dev_login(alice, "alice")
    with alice.websocket_connect("/ws/test-whoami", headers={"Origin": PUBLIC_URL}) as ws:
        assert ws.receive_text() == "alice"


@pytest.mark.parametrize(
    "origin", [None, "https://evil.example", "http://testserver.evil.example", "null",
               "http://testserver:8080"],
)
def test_websocket_helper_rejects_foreign_or_missing_origin(
    web: WebFactory, origin: str | None
) -> None:
    alice = web()
    _with_whoami(alice.app)
    dev_login(alice, "alice")
    headers = {"Origin": origin} if origin else {}
    with pytest.raises(WebSocketDisconnect) as closed:
        with alice.websocket_connect("/ws/test-whoami", headers=headers) as ws:
            ws.receive_text()
    assert closed.value.code == 4403


def test_websocket_helper_rejects_without_session(web: WebFactory) -> None:
    anon = web(peer=LOOPBACK_PEER)
    _with_whoami(anon.app)
    with pytest.raises(WebSocketDisconnect):
        with anon.websocket_connect("/ws/test-whoami", headers={"Origin": PUBLIC_URL}) as ws:
            ws.receive_text()


def test_websocket_helper_with_proxy_header_checks_peer(web: WebFactory) -> None:
    via_proxy = web(peer=("10.0.0.5", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.5",))
    _with_whoami(via_proxy.app)
    headers = {"Origin": PUBLIC_URL, "X-Forwarded-User": "alice"}
    with via_proxy.websocket_connect("/ws/test-whoami", headers=headers) as ws:
        assert ws.receive_text() == "alice"
    direct = web(peer=("10.9.9.9", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.5",))
    _with_whoami(direct.app)
    with pytest.raises(WebSocketDisconnect):
        with direct.websocket_connect("/ws/test-whoami", headers=headers) as ws:
            ws.receive_text()


# -- open redirect -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_login_next_cannot_leave_the_site(web: WebFactory, target: str) -> None:
    local = web()
    page = local.get("/auth/dev", params={"next": target})
    assert 'name="next" value="/"' in page.text


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Forwarded-User", "alice"), ("X-Forwarded-User", "mallory")],
        [("X-Forwarded-User", "mallory"), ("x-forwarded-user", "alice")],
        [("X-Forwarded-User", "alice,mallory")],
        [("X-Forwarded-User", "alice, mallory")],
    ],
)
def test_proxy_identity_header_twice_or_listed_is_refused(
    web: WebFactory, headers: list[tuple[str, str]]
) -> None:
    """Issue 11 item 5: a duplicated (or comma-listed) identity header is ambiguous; the app
    must refuse it with 400 instead of believing the first value."""
    via_proxy = web(peer=("10.0.0.5", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.5",))
    for path in ("/", "/requests/new"):
        response = via_proxy.get(path, headers=[*headers, ("accept", "application/json")])
        assert response.status_code == 400, (path, headers, response.status_code)
        assert "whoami" not in response.text


def test_proxy_identity_header_twice_gets_an_error_page(web: WebFactory) -> None:
    via_proxy = web(peer=("10.0.0.5", 3000), auth_mode="proxy", proxy_addresses=("10.0.0.5",))
    response = via_proxy.get("/", headers=[("X-Forwarded-User", "alice"),
                                           ("X-Forwarded-User", "alice"),
                                           ("accept", "text/html")])
    assert response.status_code == 400
    assert 'data-testid="whoami"' not in response.text
