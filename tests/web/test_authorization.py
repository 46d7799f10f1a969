"""Every authorization rule of the web app, at the HTTP level, on the real control plane."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from janus.resource import standing
from janus.web.grants import GrantStore
from tests.web.conftest import csrf_of, dev_login

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]


def test_anonymous_page_redirects_to_login(web: WebFactory) -> None:
    anon = web()
    page = anon.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/login?next=%2F"
    assert anon.get("/", headers={"accept": "application/json"}).status_code == 401
    assert anon.get("/admin", headers={"accept": "application/json"}).status_code == 401


def test_anonymous_cannot_relinquish_or_revoke(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice")
    anon = web()
    token = csrf_of(anon)  # even with a valid CSRF token of its own anonymous session
    for path, data in ((f"/grants/{name}/relinquish", {}),
                       (f"/admin/grants/{name}/revoke", {"reason": "x"})):
        response = anon.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 401, path
    assert not grants.get(name).revocation_requested


def test_requester_relinquishes_own_grant(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("Alice")
    alice = web()
    token = dev_login(alice, "alice")  # logins compare case-insensitively
    response = alice.post(f"/grants/{name}/relinquish", data={"csrf_token": token},
                          follow_redirects=False)
    assert response.status_code == 303
    grant = grants.get(name)
    assert grant.revocation_requested
    assert standing.who_revoked(grant) == "alice"
    again = alice.post(f"/grants/{name}/relinquish", data={"csrf_token": token})
    assert again.status_code == 409


def test_other_user_cannot_relinquish(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice")
    mallory = web()
    token = dev_login(mallory, "mallory")
    response = mallory.post(f"/grants/{name}/relinquish", data={"csrf_token": token})
    assert response.status_code == 403
    assert not grants.get(name).revocation_requested


def test_non_admin_cannot_revoke_or_see_admin(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice")
    bob = web()
    token = dev_login(bob, "bob")
    assert bob.get("/admin").status_code == 403
    response = bob.post(f"/admin/grants/{name}/revoke",
                        data={"csrf_token": token, "reason": "because"})
    assert response.status_code == 403
    # The requester is no admin either: relinquish is their only way.
    alice = web()
    token = dev_login(alice, "alice")
    response = alice.post(f"/admin/grants/{name}/revoke",
                          data={"csrf_token": token, "reason": "because"})
    assert response.status_code == 403
    assert not grants.get(name).revocation_requested


@pytest.mark.parametrize("admin_login", ["root-admin", "sam"])  # listed user; acme/sre member
def test_admin_revokes_with_reason(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore, admin_login: str
) -> None:
    name = make_grant("alice")
    admin = web()
    token = dev_login(admin, admin_login)
    page = admin.get("/admin")
    assert page.status_code == 200 and name in page.text
    response = admin.post(f"/admin/grants/{name}/revoke",
                          data={"csrf_token": token, "reason": "  left the   team "},
                          follow_redirects=False)
    assert response.status_code == 303
    grant = grants.get(name)
    assert standing.who_revoked(grant) == admin_login
    assert standing.why_revoked(grant) == "left the team"


def test_admin_revoke_needs_a_reason(web: WebFactory, make_grant: Callable[..., str]) -> None:
    name = make_grant("alice")
    admin = web()
    token = dev_login(admin, "root-admin")
    assert admin.post(f"/admin/grants/{name}/revoke",
                      data={"csrf_token": token, "reason": "   "}).status_code == 400


def test_settings_admins_add_to_config_admins(web: WebFactory) -> None:
    carol = web(admin_users=frozenset({"Carol"}))
    dev_login(carol, "carol")
    assert carol.get("/admin").status_code == 200


@pytest.mark.parametrize("supplied", [None, "", "wrong-token"])
def test_csrf_missing_or_wrong_is_refused(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore, supplied: str | None
) -> None:
    name = make_grant("alice")
    alice = web()
    dev_login(alice, "alice")
    data = {} if supplied is None else {"csrf_token": supplied}
    assert alice.post(f"/grants/{name}/relinquish", data=data).status_code == 403
    headers = {} if supplied is None else {"X-CSRF-Token": supplied}
    assert alice.post(f"/grants/{name}/relinquish", headers=headers).status_code == 403
    assert not grants.get(name).revocation_requested


def test_csrf_token_of_another_session_is_refused(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice")
    other = web()
    foreign = dev_login(other, "alice")
    alice = web()
    dev_login(alice, "alice")
    assert alice.post(f"/grants/{name}/relinquish",
                      data={"csrf_token": foreign}).status_code == 403
    assert not grants.get(name).revocation_requested


def test_csrf_header_as_htmx_sends_it(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice")
    alice = web()
    token = dev_login(alice, "alice")
    response = alice.post(f"/grants/{name}/relinquish",
                          headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"
    assert grants.get(name).revocation_requested


def test_cross_origin_post_is_refused_even_with_token(
    web: WebFactory, make_grant: Callable[..., str], grants: GrantStore
) -> None:
    name = make_grant("alice")
    alice = web()
    token = dev_login(alice, "alice")
    response = alice.post(f"/grants/{name}/relinquish", data={"csrf_token": token},
                          headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert not grants.get(name).revocation_requested


def test_logout_is_a_csrf_protected_post(web: WebFactory) -> None:
    alice = web()
    token = dev_login(alice, "alice")
    assert alice.get("/auth/logout").status_code == 405
    assert alice.post("/auth/logout", data={}).status_code == 403
    assert alice.post("/auth/logout", data={"csrf_token": token},
                      follow_redirects=False).status_code == 303
    assert alice.get("/", headers={"accept": "application/json"}).status_code == 401


def test_session_cookie_flags(web: WebFactory) -> None:
    alice = web()
    response = alice.get("/auth/dev")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # http public_url
    secure = web(public_url="https://janus.example")
    cookie = secure.get("/auth/dev").headers["set-cookie"].lower()
    assert "secure" in cookie


def test_unknown_grant_is_404_for_owner_check(web: WebFactory) -> None:
    alice = web()
    token = dev_login(alice, "alice")
    assert alice.post("/grants/nope-0000/relinquish", data={"csrf_token": token}).status_code == 404


def test_home_lists_only_my_grants(web: WebFactory, make_grant: Callable[..., str]) -> None:
    mine = make_grant("alice")
    theirs = make_grant("bob")
    alice = web()
    dev_login(alice, "alice")
    page = alice.get("/")
    assert page.status_code == 200
    assert mine in page.text
    assert theirs not in page.text
    assert f'href="/terminal/{mine}"' in page.text
