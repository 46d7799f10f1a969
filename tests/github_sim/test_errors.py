"""Error answers, checked by status here and by shape (GitHub's error schemas) in the fixture."""

from __future__ import annotations

import base64

import httpx
import pytest

from .conftest import Scene


@pytest.fixture
def api(scene: Scene):
    def call(method: str, path: str, login: str | None = "alice", **kw):
        headers = {"Authorization": f"token {scene.sim.token(login)}"} if login else {}
        return httpx.request(method, scene.sim.base_url + path, headers=headers, timeout=10,
                             **kw)
    return call


def test_error_statuses(scene: Scene, api) -> None:
    r = "/repos/acme/access"
    head = scene.sim.head(scene.repo)
    cases = [
        ("GET", "/repos/acme/nope", None, 404),
        ("GET", f"{r}/git/ref/heads/nope", None, 404),
        ("POST", f"{r}/git/refs", {"ref": "heads/x", "sha": head}, 422),  # no refs/ prefix
        ("POST", f"{r}/git/refs", {"ref": "refs/heads/x", "sha": "f" * 40}, 422),
        ("GET", f"{r}/contents/missing.txt", None, 404),
        ("PUT", f"{r}/contents/a.txt", {"message": "m"}, 422),  # no content
        ("PUT", f"{r}/contents/requests/README.md",
         {"message": "m", "content": base64.b64encode(b"x").decode()}, 422),  # no sha
        ("DELETE", f"{r}/contents/requests/README.md", {"message": "m", "sha": "0" * 40}, 409),
        ("POST", f"{r}/pulls", {"head": "nope", "base": "main", "title": "t"}, 422),
        ("POST", f"{r}/pulls", {"head": "main", "base": "main", "title": "t"}, 422),
        ("GET", f"{r}/pulls/77", None, 404),
        ("GET", f"{r}/pulls?state=weird", None, 422),
        ("GET", f"{r}/commits/{'e' * 40}", None, 422),
        ("GET", f"{r}/compare/main...nope", None, 404),
        ("GET", f"{r}/git/trees/{'e' * 40}", None, 404),
        ("GET", f"{r}/issues/comments/1", None, 404),
        ("GET", "/users/nobody", None, 404),
        ("GET", "/orgs/acme/teams/nope", None, 404),
        ("GET", f"{r}/hooks", None, 403),  # alice has write, hooks need admin
        ("POST", f"{r}/check-runs", {"name": "x", "head_sha": head}, 403),  # not an App
        ("GET", "/app", None, 401),  # needs a JWT
    ]
    for method, path, body, status in cases:
        resp = api(method, path, json=body) if body is not None else api(method, path)
        assert resp.status_code == status, (method, path, resp.text)
        assert resp.json()["message"], (method, path)
    assert api("GET", f"{r}", login=None).status_code == 200  # public repo, anonymous
    assert api("POST", f"{r}/pulls", login=None,
               json={"head": "x", "base": "main", "title": "t"}).status_code == 401
    bad = httpx.get(scene.sim.base_url + r, headers={"Authorization": "token ghp_forged"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    assert bad.headers["x-ratelimit-limit"] == "60"


def test_private_repo_is_invisible_to_outsiders(scene: Scene, api) -> None:
    scene.sim.create_repo("acme", "secret", files={"a": "1"}, private=True,
                          collaborators={"bob": "read"})
    assert api("GET", "/repos/acme/secret", login="alice").status_code == 404
    assert api("GET", "/repos/acme/secret", login=None).status_code == 404
    assert api("GET", "/repos/acme/secret", login="bob").status_code == 200
    assert api("GET", "/repos/acme/secret", login="root").json()["permissions"]["admin"]
