"""The ``X-Hub-Signature-256`` check: HMAC-SHA256 of the raw request body, compared in constant
time. The body must be the exact bytes received; a re-serialised JSON document would not match."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The header value GitHub sends for *body* (used by tests and the benchmark)."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """True only for a present, well-formed, matching ``sha256=`` signature."""
    if not secret or not header or not header.startswith(PREFIX):
        return False
    expected = sign(secret, body)
    # compare_digest on bytes: a str with non-ASCII characters would raise instead of failing.
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))
