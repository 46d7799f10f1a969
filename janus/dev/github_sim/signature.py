"""GitHub's webhook signatures: HMAC over the raw request body, hex, with an algorithm prefix."""

from __future__ import annotations

import hashlib
import hmac


def sign_sha256(secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value: ``sha256=<hex HMAC-SHA256(secret, body)>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def sign_sha1(secret: str | bytes, body: bytes) -> str:
    """The legacy ``X-Hub-Signature`` value GitHub still sends alongside the SHA-256 one."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()


def verify_sha256(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of an ``X-Hub-Signature-256`` header against *body*."""
    if not header:
        return False
    return hmac.compare_digest(sign_sha256(secret, body), header)
