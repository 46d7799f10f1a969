"""Security headers on every HTTP response, and the per-request CSP nonce.

Scripts load only from our own origin (``script-src 'self'``): no inline script anywhere, so all
JavaScript lives in static files. Styles may additionally use the per-request nonce, for
libraries that insert a ``<style>`` element at run time (pass ``csp_nonce(request)`` to them).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NONCE_KEY = "janus.csp_nonce"


def content_security_policy(public_url: str, nonce: str) -> str:
    parts = urlsplit(public_url)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            # The terminal's WebSocket: our own host only.
            f"connect-src 'self' {ws_scheme}://{parts.netloc}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def csp_nonce(request: HTTPConnection) -> str:
    """The nonce of this response's CSP (style-src only; scripts never need one)."""
    nonce = request.scope.setdefault(NONCE_KEY, secrets.token_urlsafe(16))
    return str(nonce)


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: adds the headers to every HTTP response, errors and 404s included."""

    def __init__(self, app: ASGIApp, public_url: str) -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault(NONCE_KEY, secrets.token_urlsafe(16))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in _OWN_HEADERS
                ]
                headers += [
                    (
                        b"content-security-policy",
                        content_security_policy(self.public_url, scope[NONCE_KEY]).encode(),
                    ),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if self.public_url.startswith("https://"):
                    headers.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OWN_HEADERS = {
    b"content-security-policy",
    b"x-frame-options",
    b"x-content-type-options",
    b"referrer-policy",
    b"cross-origin-opener-policy",
    b"permissions-policy",
    b"strict-transport-security",
}
