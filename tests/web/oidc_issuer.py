"""A real OpenID Connect issuer on 127.0.0.1 for the login tests: discovery, a JWKS, and a token
endpoint that checks PKCE and answers with an RS256-signed ID token (joserfc, the JOSE library
authlib itself uses). Tests steer it: other claims, another signing key (an attacker's), another
``kid``, ``alg: none``, an issuer in discovery that is not its own."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from janus.dev.controlplane.ports import free_port
from janus.web.login_oidc import pkce_challenge

CLIENT_ID = "janus-web"


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


class Issuer:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.base}/realms/acme"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"},
                                       private=True)
        self.attacker_key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.reset()

    def reset(self) -> None:
        self.nonce: str | None = None
        self.challenge: str | None = None
        self.claims_override: dict[str, Any] = {}
        self.sign_with_attacker_key = False
        self.kid = "k1"
        self.alg_none = False
        self.issuer_in_discovery = self.issuer
        self.token_requests: list[dict[str, list[str]]] = []

    def claims(self) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": "u-1",
            "iat": now, "exp": now + 300, "nonce": self.nonce,
            "preferred_username": "alice", "name": "Alice"}
        claims.update(self.claims_override)
        return {k: v for k, v in claims.items() if v is not ...}

    def id_token(self) -> str:
        claims = self.claims()
        if self.alg_none:
            return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        key = self.attacker_key if self.sign_with_attacker_key else self.key
        return jwt.encode({"alg": "RS256", "kid": self.kid, "typ": "JWT"}, claims, key)

    # ---- endpoints ----------------------------------------------------------------------------

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": self.issuer_in_discovery,
            "authorization_endpoint": f"{self.issuer}/protocol/openid-connect/auth",
            "token_endpoint": f"{self.issuer}/protocol/openid-connect/token",
            "userinfo_endpoint": f"{self.issuer}/protocol/openid-connect/userinfo",
            "jwks_uri": f"{self.issuer}/protocol/openid-connect/certs",
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def token(self, request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode())
        self.token_requests.append(form)
        if pkce_challenge(form["code_verifier"][0]) != self.challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"id_token": self.id_token(), "access_token": "at",
                             "token_type": "Bearer"})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/realms/acme/.well-known/openid-configuration", self.discovery),
            Route("/realms/acme/protocol/openid-connect/certs", self.jwks),
            Route("/realms/acme/protocol/openid-connect/token", self.token, methods=["POST"]),
        ])


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    port = free_port()
    issuer = Issuer(port)
    server = uvicorn.Server(uvicorn.Config(issuer.app(), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="oidc-issuer", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the OIDC issuer did not start")
        time.sleep(0.02)
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=10)
