"""The dev login page lists the demo users (dev_login_users) with what each may do, one click
each; without the setting it is the plain form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]


def test_dev_login_page_lists_the_demo_users_and_signs_in_with_one_click(web: WebFactory) -> None:
    users = {"alice": "payments developer: requests access",
             "bob": "payments lead: approves <b>alice</b>"}
    client = web(dev_login_users=users)
    page = client.get("/auth/dev?next=/requests/new").text
    assert 'data-testid="dev-users"' in page
    # One field named login (the typed one, first on the page): tests and password managers
    # that fill input[name=login] and click the first submit button keep working.
    assert page.count('<input name="login"') == 1
    assert page.index('<input name="login"') < page.index('data-testid="dev-users"')
    for login in users:
        assert f'data-login="{login}"' in page and f"Sign in as {login}" in page
    assert "approves &lt;b&gt;alice&lt;/b&gt;" in page  # escaped like everything else
    token = csrf_of(client, "/auth/dev")
    signed_in = client.post("/auth/dev", data={"login": "bob", "csrf_token": token,
                                               "next": "/requests/new"}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/requests/new"


def test_dev_login_page_without_demo_users_is_the_plain_form(web: WebFactory) -> None:
    page = web().get("/auth/dev").text
    assert 'data-testid="dev-users"' not in page and page.count('name="login"') == 1
