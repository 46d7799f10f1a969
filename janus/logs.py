"""Structured logs: one JSON object per line, the request name first, never a token.

Every Janus component logs through :func:`event`, so the shape is the same everywhere::

    {"request": "alice-payments-inc1234", "event": "grant.created", "ts": "...", ...}

Redaction is a last line of defence, not the mechanism: code never passes tokens to the logger,
and the filter below scrubs anything shaped like a bearer token or JWT that slips through anyway.

One format for every logger in a process: :func:`configure` puts the JSON handler on the root
logger, so kopf's lines, uvicorn's (server and access, through :func:`uvicorn_log_config`) and any
library's warnings come out as the same objects as Janus' own (``event``, ``ts``, ``level``,
``logger``; ``request`` when known). A kopf line about an object carries it as ``object`` (and
an AccessRequest's name as ``request``); an access line is ``http.request`` with the path
without its query string (an OAuth ``code`` or ``state`` never reaches the log).
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
        access = _access_fields(record)
        if access:
            event = "http.request"
        fields["event"] = event or record.getMessage()
        fields["ts"] = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
            timespec="milliseconds"
        )
        fields["level"] = record.levelname.lower()
        fields["logger"] = record.name
        extra = getattr(record, "fields", None)
        if extra:
            fields.update(extra)
        if access:
            fields.update(access)
        ref = getattr(record, "k8s_ref", None)  # kopf's per-object logger
        if isinstance(ref, dict):
            fields["object"] = {k: ref[k] for k in ("kind", "namespace", "name") if k in ref}
            if fields["request"] is None and ref.get("kind") == "AccessRequest":
                fields["request"] = ref.get("name")
        if event and record.msg != event and not access:
            fields.setdefault("message", record.getMessage())
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        if fields["request"] is None:
            del fields["request"]
        return redact(json.dumps(fields, default=str, ensure_ascii=False))


def _access_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """uvicorn's access line (``'%s - "%s %s HTTP/%s" %d'``) as fields, the query dropped."""
    if record.name != "uvicorn.access" or not isinstance(record.args, tuple):
        return None
    if len(record.args) != 5:
        return None
    client, method, path, http_version, status = record.args
    return {"method": method, "path": str(path).split("?", 1)[0], "status": status,
            "client": client, "http": http_version}


# Libraries whose INFO lines are per-request chatter (and would carry URLs): warnings only.
_QUIET = ("httpx", "httpcore", "urllib3", "kubernetes", "github", "asyncio", "websockets",
          "aiohttp")


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each line, not the one at configure
    time: a process (or a test) that swaps stderr later would otherwise log into a closed file."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """StreamHandler.__init__ sets a stream; the current stderr is always used instead."""


def configure(level: int | str = logging.INFO, stream: Any = None) -> None:
    """Send every log line of the process as JSON to *stream* (stderr by default).

    The handler sits on the root logger: ``janus.*``, kopf, uvicorn and libraries all use it.
    """
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    janus = logging.getLogger("janus")
    janus.handlers[:] = []
    janus.setLevel(level)
    janus.propagate = True
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "kopf"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(numeric, int) or numeric > logging.DEBUG:
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)


def uvicorn_log_config(level: int | str = logging.INFO) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers keep no handler of their own and propagate to the
    root logger's JSON handler (:func:`configure`), instead of uvicorn's text formats."""
    loggers: dict[str, dict[str, Any]] = {
        name: {"handlers": [], "level": level, "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    return {"version": 1, "disable_existing_loggers": False, "loggers": loggers}


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
