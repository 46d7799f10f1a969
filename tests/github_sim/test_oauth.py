"""GitHub's OAuth web flow against the simulator: authorize, callback, code exchange, /user."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from janus.dev.github_sim import GitHubSimulator


def test_web_flow_codes_are_single_use(sim: GitHubSimulator) -> None:
    sim.add_user("alice", name="Alice")
    client_id, secret = sim.create_oauth_app("http://127.0.0.1:9999/auth/callback")
    with httpx.Client(base_url=sim.base_url) as web:
        page = web.get("/login/oauth/authorize", params={
            "client_id": client_id, "state": "s1", "scope": "repo read:org",
            "redirect_uri": "http://127.0.0.1:9999/auth/callback"})
        assert page.status_code == 200 and "<option>alice</option>" in page.text
        picked = web.post("/login/oauth/authorize", data={
            "client_id": client_id, "state": "s1", "login": "alice",
            "redirect_uri": "http://127.0.0.1:9999/auth/callback"})
        assert picked.status_code == 302
        target = urlsplit(picked.headers["location"])
        query = parse_qs(target.query)
        assert target.path == "/auth/callback" and query["state"] == ["s1"]
        form = {"client_id": client_id, "client_secret": secret, "code": query["code"][0]}
        token = web.post("/login/oauth/access_token", data=form,
                         headers={"Accept": "application/json"}).json()
        assert token["token_type"] == "bearer" and token["access_token"].startswith("gho_")
        again = web.post("/login/oauth/access_token", data=form,
                         headers={"Accept": "application/json"})
        assert again.status_code == 200 and again.json()["error"] == "bad_verification_code"
        wrong = web.post("/login/oauth/access_token", data=form | {"client_secret": "x"})
        assert "incorrect_client_credentials" in wrong.text  # form-encoded by default
        evil = web.get("/login/oauth/authorize", params={
            "client_id": client_id, "login": "alice",
            "redirect_uri": "http://evil.example/auth/callback"})
        assert evil.status_code == 400
    me = sim.client(token=token["access_token"]).get_user()
    assert me.login == "alice" and me.name == "Alice"
