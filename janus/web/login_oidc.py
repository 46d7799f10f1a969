"""OpenID Connect login: authorization code flow with discovery, PKCE, state and nonce.

The ID token comes straight from the token endpoint over TLS, so (OIDC Core 3.1.3.7) its issuer,
audience, expiry and nonce are checked but its signature is not; the login is then read from the
claim named by ``oidc_login_claim``, which must carry the user's GitHub login.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from janus.web.login_github import LoginFailed, redirect_uri
from janus.web.settings import WebSettings

_CLOCK_SKEW_SECONDS = 120


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None


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
    try:
        return Provider(
            issuer=doc["issuer"],
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            userinfo_endpoint=doc.get("userinfo_endpoint"),
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


def _jwt_claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError) as exc:
        raise LoginFailed("malformed ID token") from exc
    if not isinstance(claims, dict):
        raise LoginFailed("malformed ID token")
    return claims


def check_id_token(
    settings: WebSettings, provider: Provider, id_token: str, nonce: str, now: float | None = None
) -> dict[str, Any]:
    claims = _jwt_claims(id_token)
    now = time.time() if now is None else now
    if claims.get("iss") != provider.issuer:
        raise LoginFailed("ID token from another issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.oidc_client_id not in audiences:
        raise LoginFailed("ID token for another client")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - _CLOCK_SKEW_SECONDS:
        raise LoginFailed("ID token expired")
    if claims.get("nonce") != nonce:
        raise LoginFailed("ID token nonce does not match this login")
    return claims


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
    claims = check_id_token(settings, provider, id_token, nonce)
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
