"""Structured logs: one JSON object per line, the request name first, never a token.

Every Janus component logs through :func:`event`, so the shape is the same everywhere::

    {"request": "alice-payments-inc1234", "event": "grant.created", "ts": "...", ...}

Redaction is a last line of defence, not the mechanism: code never passes tokens to the logger,
and the filter below scrubs anything shaped like a bearer token or JWT that slips through anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any

# JWTs (service-account tokens), GitHub tokens and "Bearer x" / "token x" headers.
_SECRET_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{16,}"),
    re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{16,}"),
)
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    """Replace anything shaped like a credential by ``[REDACTED]``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(
            lambda m: f"{m.group(1)} {REDACTED}" if m.lastindex else REDACTED, text
        )
    return text


class JsonLineFormatter(logging.Formatter):
    """Format records as one JSON line; ``request`` and ``event`` come first."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {}
        fields["request"] = getattr(record, "request", None)
        event = getattr(record, "event", None)
        fields["event"] = event or record.getMessage()
        fields["ts"] = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
            timespec="milliseconds"
        )
        fields["level"] = record.levelname.lower()
        fields["logger"] = record.name
        extra = getattr(record, "fields", None)
        if extra:
            fields.update(extra)
        if event and record.msg != event:
            fields.setdefault("message", record.getMessage())
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        if fields["request"] is None:
            del fields["request"]
        return redact(json.dumps(fields, default=str, ensure_ascii=False))


def configure(level: int | str = logging.INFO, stream: Any = None) -> None:
    """Send all ``janus.*`` logs as JSON lines to *stream* (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger("janus")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def event(
    logger: logging.Logger,
    name: str,
    *,
    request: str | None = None,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log one event: ``event(log, "grant.created", request="alice-x", namespace="payments")``."""
    logger.log(level, name, extra={"event": name, "request": request, "fields": fields})
