"""OpenID Connect login: authorization code flow with discovery, PKCE, state and nonce.

The ID token is verified with maintained libraries, not by hand (issue 11 item 6): its RS256/ES256
signature against the issuer's JWKS (``jwks_uri`` from discovery, fetched at each login) with
joserfc (the JOSE library authlib builds on), and
its claims with authlib's ``CodeIDToken`` (OIDC Core 3.1.3.7): ``iss``, ``aud``, ``azp`` (required
when there are several audiences, and ours when present), ``exp``, ``iat`` (not in the future, and
at most ``_MAX_TOKEN_AGE_SECONDS`` old — a token fresh from the token endpoint is seconds old),
``nonce``, ``at_hash`` — with ``_CLOCK_SKEW_SECONDS`` of leeway. ``alg: none`` and symmetric
algorithms are never accepted. The login is then read from the claim named by
``oidc_login_claim``, which must carry the user's GitHub login.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from janus.web.login_github import LoginFailed, redirect_uri
from janus.web.settings import WebSettings

_CLOCK_SKEW_SECONDS = 120
_MAX_TOKEN_AGE_SECONDS = 600
# Asymmetric signatures only: HS256 would be keyed with the client secret, "none" with nothing.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str = ""
    algorithms: tuple[str, ...] = ("RS256",)


@dataclass(frozen=True)
class OidcIdentity:
    login: str
    name: str


async def discover(settings: WebSettings, http: httpx.AsyncClient) -> Provider:
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = await http.get(url)
    if response.status_code != 200:
        raise LoginFailed(f"OIDC discovery answered HTTP {response.status_code}")
    doc = response.json()
    if doc.get("issuer", "").rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise LoginFailed("OIDC discovery document names another issuer")
    offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in offered if a in _ALGORITHMS)
    if not algorithms:
        raise LoginFailed("the OIDC issuer signs ID tokens with no algorithm Janus accepts")
    try:
        return Provider(
            issuer=doc["issuer"],
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            jwks_uri=doc["jwks_uri"],
            algorithms=algorithms,
        )
    except KeyError as exc:
        raise LoginFailed(f"OIDC discovery document lacks {exc.args[0]}") from exc


def new_pkce_verifier() -> str:
    return secrets.token_urlsafe(48)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(
    settings: WebSettings, provider: Provider, state: str, nonce: str, verifier: str
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri(settings),
            "scope": settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{provider.authorization_endpoint}?{query}"


async def fetch_jwks(http: httpx.AsyncClient, provider: Provider) -> KeySet:
    response = await http.get(provider.jwks_uri)
    if response.status_code != 200:
        raise LoginFailed(f"OIDC JWKS answered HTTP {response.status_code}")
    try:
        return KeySet.import_key_set(response.json())
    except (JoseError, ValueError, TypeError) as exc:
        raise LoginFailed("the OIDC issuer's JWKS is malformed") from exc


def check_id_token(
    settings: WebSettings,
    provider: Provider,
    id_token: str,
    nonce: str,
    keys: KeySet,
    *,
    access_token: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The verified claims of *id_token*, or LoginFailed (signature, issuer, audience, azp,
    expiry, issue time, nonce, at_hash)."""
    now = time.time() if now is None else now
    try:
        registry = JWSRegistry(algorithms=list(provider.algorithms))
        token = jwt.decode(id_token, keys, registry=registry)
    except JoseError as exc:
        raise LoginFailed(f"ID token signature not verified: {exc.error}") from exc
    except ValueError as exc:
        raise LoginFailed("malformed ID token") from exc
    params: dict[str, Any] = {"nonce": nonce, "client_id": settings.oidc_client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(
        token.claims,
        token.header,
        {"iss": {"essential": True, "value": provider.issuer},
         "aud": {"essential": True, "value": settings.oidc_client_id},
         "sub": {"essential": True},
         "nonce": {"essential": True, "value": nonce}},
        params,
    )
    try:
        claims.validate(now=int(now), leeway=_CLOCK_SKEW_SECONDS)
    except JoseError as exc:
        raise LoginFailed(f"ID token refused: {exc.error} {exc.description or ''}".strip()) from exc
    issued_at = claims.get("iat")
    if not isinstance(issued_at, int | float) or issued_at < now - _MAX_TOKEN_AGE_SECONDS:
        raise LoginFailed("ID token is too old")
    return dict(claims)


async def exchange(
    settings: WebSettings,
    http: httpx.AsyncClient,
    provider: Provider,
    code: str,
    nonce: str,
    verifier: str,
) -> OidcIdentity:
    response = await http.post(
        provider.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(settings),
            "client_id": settings.oidc_client_id,
            "client_secret": settings.oidc_client_secret,
            "code_verifier": verifier,
        },
        headers={"Accept": "application/json"},
    )
    if response.status_code != 200:
        raise LoginFailed(f"OIDC token endpoint answered HTTP {response.status_code}")
    body = response.json()
    id_token = body.get("id_token")
    if not isinstance(id_token, str):
        raise LoginFailed("OIDC token response has no id_token")
    # Fetched at every login (logins are rare): a key the issuer rotated in is always known.
    keys = await fetch_jwks(http, provider)
    access_token = body.get("access_token")
    claims = check_id_token(settings, provider, id_token, nonce, keys,
                            access_token=access_token if isinstance(access_token, str) else None)
    if settings.oidc_login_claim not in claims and provider.userinfo_endpoint:
        info = await http.get(
            provider.userinfo_endpoint,
            headers={"Authorization": f"Bearer {body.get('access_token', '')}"},
        )
        if info.status_code == 200 and info.json().get("sub") == claims.get("sub"):
            claims = {**info.json(), **claims}
    login = claims.get(settings.oidc_login_claim)
    if not isinstance(login, str) or not login:
        raise LoginFailed(f"OIDC claims lack {settings.oidc_login_claim}")
    return OidcIdentity(login=login, name=str(claims.get("name") or login))

