"""GitHub OAuth and OIDC logins. GitHub.com cannot be reached from the test bed, so its OAuth
endpoints are played by an httpx transport; GET /user, the organization gate and the PR the form
opens with the user's OAuth token go to the GitHub simulator. The OIDC issuer is a real one on
loopback (tests/web/oidc_issuer.py) with a JWKS and RS256-signed ID tokens."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from janus.dev.github_sim import GitHubSimulator
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY, PUBLIC_URL
from tests.web.oidc_issuer import CLIENT_ID, Issuer, running_issuer

pytestmark = pytest.mark.k8s_real

WebFactory = Callable[..., TestClient]
GITHUB_WEB = "https://github.test"
ISSUER = "https://idp.test/realms/acme"


@pytest.fixture(scope="module")
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        simulator.add_user("root")
        simulator.add_user("alice", name="Alice Liddell")
        simulator.add_user("root-outsider")  # a GitHub user outside organization acme
        simulator.add_org("acme", admins=["root"])
        simulator.add_team("acme", "payments-devs", members=["alice"])  # alice joins acme
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": PAYMENTS_POLICY},
            collaborators={"alice": "write", "root": "admin"},
        )
        yield simulator


class FakeGitHubOAuth:
    """github.com's OAuth endpoints; ``/user`` is forwarded to the simulator (real API)."""

    def __init__(self, sim: GitHubSimulator, login: str) -> None:
        self.sim = sim
        self.codes = {"good-code": sim.token(login)}
        self.exchanges: list[dict[str, list[str]]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login/oauth/access_token":
            form = parse_qs(request.content.decode())
            self.exchanges.append(form)
            token = self.codes.pop(form["code"][0], None)
            if token is None or form["client_secret"] != ["gh-secret"]:
                return httpx.Response(200, json={"error": "bad_verification_code"})
            return httpx.Response(200, json={"access_token": token, "token_type": "bearer",
                                             "scope": "repo,read:org"})
        if request.url.path == "/user":
            real = httpx.get(f"{self.sim.base_url}/user",
                             headers={"Authorization": request.headers["authorization"]})
            return httpx.Response(real.status_code, content=real.content,
                                  headers={"content-type": "application/json"})
        return httpx.Response(404)


def _github_app(web: WebFactory, sim: GitHubSimulator, fake: FakeGitHubOAuth) -> TestClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    return web(
        auth_mode="github", github_url=GITHUB_WEB, github_api_url=sim.base_url,
        github_client_id="gh-client", github_client_secret="gh-secret", repo="acme/access",
        login_open_to_any_github_user=False, app_kwargs={"http": http},
    )


def _start_login(app: TestClient, next_path: str = "/requests/new") -> dict[str, list[str]]:
    response = app.get("/auth/login", params={"next": next_path}, follow_redirects=False)
    assert response.status_code == 303
    url = urlsplit(response.headers["location"])
    return {"_url": [f"{url.scheme}://{url.netloc}{url.path}"], **parse_qs(url.query)}


def test_github_login_redirects_then_exchanges_code(web: WebFactory, sim: GitHubSimulator) -> None:
    fake = FakeGitHubOAuth(sim, "alice")
    app = _github_app(web, sim, fake)
    query = _start_login(app)
    assert query["_url"] == [f"{GITHUB_WEB}/login/oauth/authorize"]
    assert query["client_id"] == ["gh-client"]
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/callback"]
    state = query["state"][0]
    done = app.get("/auth/callback", params={"code": "good-code", "state": state},
                   follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/requests/new"
    assert fake.exchanges[0]["client_id"] == ["gh-client"]
    page = app.get("/")
    assert 'data-testid="whoami">alice<' in page.text
    # The OAuth token is sealed inside the (signed, not encrypted) session cookie.
    cookie = app.cookies.get("janus_session")
    payload = base64.b64decode(cookie.split(".")[0] + "==")
    assert sim.token("alice").encode() not in payload
    assert sim.token("alice") not in cookie


def test_github_login_opens_prs_as_the_user(web: WebFactory, sim: GitHubSimulator) -> None:
    fake = FakeGitHubOAuth(sim, "alice")
    app = _github_app(web, sim, fake)
    state = _start_login(app)["state"][0]
    app.get("/auth/callback", params={"code": "good-code", "state": state})
    page = app.get("/requests/new")
    assert "up to 4h for you" in page.text  # policies read from the repo on GitHub
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    response = app.post("/requests", follow_redirects=False, data={
        "cluster": "prod", "namespaces": "payments", "role": "pod-exec", "duration": "30m",
        "reason": "INC-7: look at the payment queue", "ticket": "", "csrf_token": token})
    assert response.status_code == 303, response.text
    number = int(response.headers["location"].rsplit("/", 1)[1])
    assert sim.pull("acme/access", number)["user"]["login"] == "alice"


@pytest.mark.parametrize("state", [None, "", "forged-state"])
def test_github_callback_with_wrong_state_is_refused(
    web: WebFactory, sim: GitHubSimulator, state: str | None
) -> None:
    fake = FakeGitHubOAuth(sim, "alice")
    app = _github_app(web, sim, fake)
    _start_login(app)
    params = {"code": "good-code"} | ({"state": state} if state is not None else {})
    assert app.get("/auth/callback", params=params).status_code == 400
    assert fake.exchanges == []  # the code is never even exchanged
    assert app.get("/", headers={"accept": "application/json"}).status_code == 401


def test_github_state_is_single_use_and_bad_code_refused(
    web: WebFactory, sim: GitHubSimulator
) -> None:
    fake = FakeGitHubOAuth(sim, "alice")
    app = _github_app(web, sim, fake)
    state = _start_login(app)["state"][0]
    assert app.get("/auth/callback", params={"code": "bad", "state": state}).status_code == 400
    assert app.get("/auth/callback",
                   params={"code": "good-code", "state": state}).status_code == 400
    assert app.get("/", headers={"accept": "application/json"}).status_code == 401


def test_callback_from_another_browser_is_refused(web: WebFactory, sim: GitHubSimulator) -> None:
    fake = FakeGitHubOAuth(sim, "alice")
    victim = _github_app(web, sim, fake)
    attacker = _github_app(web, sim, fake)
    state = _start_login(attacker)["state"][0]
    # Login CSRF: the attacker's state in the victim's browser does not match its session.
    _start_login(victim)
    assert victim.get("/auth/callback",
                      params={"code": "good-code", "state": state}).status_code == 400


# -- OIDC: a real issuer on loopback (tests/web/oidc_issuer.py) signing RS256 ID tokens ---------


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
def idp(issuer: Issuer) -> Issuer:
    issuer.reset()
    return issuer


def _oidc_app(web: WebFactory, idp: Issuer, sim: GitHubSimulator) -> TestClient:
    # The app's own HTTP client talks to the issuer over loopback; GitHub questions (the
    # organization gate) go to the simulator with the app's token.
    return web(auth_mode="oidc", oidc_issuer=idp.issuer, oidc_client_id=CLIENT_ID,
               oidc_client_secret="s", repo="acme/access", github_api_url=sim.base_url,
               github_token=sim.token("root"), login_open_to_any_github_user=False)


def _oidc_login(app: TestClient, idp: Issuer) -> httpx.Response:
    query = _start_login(app, "/")
    assert query["_url"] == [f"{idp.issuer}/protocol/openid-connect/auth"]
    assert query["code_challenge_method"] == ["S256"]
    assert "openid" in query["scope"][0].split()
    idp.nonce, idp.challenge = query["nonce"][0], query["code_challenge"][0]
    return app.get("/auth/callback", params={"code": "c", "state": query["state"][0]},
                   follow_redirects=False)


def test_oidc_login_with_pkce_and_nonce(web: WebFactory, idp: Issuer,
                                        sim: GitHubSimulator) -> None:
    app = _oidc_app(web, idp, sim)
    assert _oidc_login(app, idp).status_code == 303
    assert 'data-testid="whoami">alice<' in app.get("/").text
    assert idp.token_requests[0]["redirect_uri"] == [f"{PUBLIC_URL}/auth/callback"]


@pytest.mark.parametrize(
    "override",
    [{"nonce": "other"}, {"aud": "someone-else"}, {"iss": "https://evil.test"},
     {"exp": int(time.time()) - 3600}, {"preferred_username": "not a login!"},
     {"preferred_username": None}],
)
def test_oidc_refuses_bad_id_tokens(web: WebFactory, idp: Issuer, sim: GitHubSimulator,
                                    override: dict) -> None:
    idp.claims_override = override
    app = _oidc_app(web, idp, sim)
    assert _oidc_login(app, idp).status_code == 400
    assert app.get("/", headers={"accept": "application/json"}).status_code == 401


@pytest.mark.parametrize(
    "attack",
    ["attacker-key", "alg-none", "unknown-kid", "azp", "iat-future", "iat-old", "iat-missing",
     "aud-list-without-azp"],
)
def test_oidc_verifies_signature_azp_and_iat(web: WebFactory, idp: Issuer, sim: GitHubSimulator,
                                             attack: str) -> None:
    """Issue 11 item 6: the ID token's signature is checked against the issuer's JWKS, and its
    ``azp`` and ``iat`` (with clock skew) too — a forged token never logs anyone in."""
    now = int(time.time())
    if attack == "attacker-key":
        idp.sign_with_attacker_key = True  # same kid, another key: only the signature tells
    elif attack == "alg-none":
        idp.alg_none = True
    elif attack == "unknown-kid":
        idp.kid = "k-unknown"
    elif attack == "azp":
        idp.claims_override = {"azp": "another-client"}
    elif attack == "iat-future":
        idp.claims_override = {"iat": now + 3600, "exp": now + 7200}
    elif attack == "iat-old":
        idp.claims_override = {"iat": now - 3600, "exp": now + 300}
    elif attack == "iat-missing":
        idp.claims_override = {"iat": ...}
    elif attack == "aud-list-without-azp":
        idp.claims_override = {"aud": [CLIENT_ID, "another-client"], "azp": ...}
    app = _oidc_app(web, idp, sim)
    response = _oidc_login(app, idp)
    assert response.status_code == 400, (attack, response.status_code)
    assert app.get("/", headers={"accept": "application/json"}).status_code == 401


def test_oidc_tolerates_small_clock_skew(web: WebFactory, idp: Issuer,
                                         sim: GitHubSimulator) -> None:
    now = int(time.time())
    idp.claims_override = {"iat": now + 30}  # the issuer's clock is 30 s ahead
    app = _oidc_app(web, idp, sim)
    assert _oidc_login(app, idp).status_code == 303


def test_oidc_user_outside_the_organization_is_refused(web: WebFactory, idp: Issuer,
                                                       sim: GitHubSimulator) -> None:
    idp.claims_override = {"preferred_username": "root-outsider"}
    app = _oidc_app(web, idp, sim)
    assert _oidc_login(app, idp).status_code == 403
    assert app.get("/", headers={"accept": "application/json"}).status_code == 401


def test_oidc_discovery_naming_another_issuer_is_refused(web: WebFactory, idp: Issuer,
                                                         sim: GitHubSimulator) -> None:
    idp.issuer_in_discovery = "https://evil.test"
    app = _oidc_app(web, idp, sim)
    assert app.get("/auth/login").status_code == 502
