"""The browser ↔ server terminal protocol on `WS /ws/terminal/{cr_name}`.

* Binary frames, both ways: terminal data (stdin from the browser, output to it). Data is never
  sent as text, so a pasted JSON object is input like any other and nothing is size-limited.
* Text frames: small JSON control messages.

Browser → server:
    {"type": "open", "pod": "...", "container": "...", "cols": 120, "rows": 40}   (first frame)
    {"type": "resize", "cols": 120, "rows": 40}

Server → browser:
    {"type": "connected", "session": 12, "shell": "bash", "pod": "...", "container": "...",
     "recordsInput": false}
    {"type": "countdown", "expiresAt": "2026-...Z", "secondsLeft": 1234}
    {"type": "warning", "reason": "expiry" | "idle", "secondsLeft": 60}
    {"type": "closed", "reason": "...", "message": "..."}   then the socket closes with
        close code 4000 + a number per reason (see CLOSE_CODES).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from janus.resource import timefmt

# Kubernetes object names: DNS subdomain for pods, DNS label for containers.
_POD_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_CONTAINER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_COLS, MAX_ROWS = 1000, 500

CLOSE_CODES = {
    "closed": 4000,
    "revoked": 4001,
    "expired": 4002,
    "grant-ended": 4003,
    "idle": 4004,
    "exited": 4005,
    "exec-failed": 4006,
    "not-active": 4007,
    "bad-request": 4008,
    "client-closed": 4009,
    "server-shutdown": 4010,
    "recording-limit": 4011,
    "recording-failed": 4012,
    "signed-out": 4013,
    "not-allowed": 4014,  # the grant's role allows no such terminal (janus.web.terminal.role_gate)
}


def close_code(reason: str) -> int:
    return CLOSE_CODES.get(reason, 4000)


@dataclass(frozen=True)
class OpenRequest:
    pod: str
    container: str
    cols: int
    rows: int


@dataclass(frozen=True)
class Resize:
    cols: int
    rows: int


class ProtocolError(ValueError):
    pass


def _size(value: object, limit: int, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise ProtocolError(f"terminal size out of range (1..{limit})")
    return value


def _load(text: str) -> dict[str, object]:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError("control frames are JSON objects") from exc
    if not isinstance(message, dict):
        raise ProtocolError("control frames are JSON objects")
    return message


def parse_open(text: str) -> OpenRequest:
    message = _load(text)
    if message.get("type") != "open":
        raise ProtocolError("the first frame must be {\"type\": \"open\", ...}")
    pod, container = message.get("pod"), message.get("container")
    if not isinstance(pod, str) or not _POD_NAME.match(pod):
        raise ProtocolError("pod: not a pod name")
    if not isinstance(container, str) or not _CONTAINER_NAME.match(container):
        raise ProtocolError("container: not a container name")
    return OpenRequest(
        pod=pod,
        container=container,
        cols=_size(message.get("cols"), MAX_COLS, 80),
        rows=_size(message.get("rows"), MAX_ROWS, 24),
    )


def parse_control(text: str) -> Resize | None:
    """A control frame after the opening one; unknown or malformed frames are ignored."""
    try:
        message = _load(text)
        if message.get("type") == "resize":
            return Resize(
                cols=_size(message.get("cols"), MAX_COLS, 80),
                rows=_size(message.get("rows"), MAX_ROWS, 24),
            )
    except ProtocolError:
        return None
    return None


def _rfc3339(moment: dt.datetime | None) -> str | None:
    return timefmt.fmt(moment) if moment else None


def connected(
    session: int, shell: str, pod: str, container: str, *, records_input: bool = False
) -> dict[str, object]:
    return {"type": "connected", "session": session, "shell": shell, "pod": pod,
            "container": container, "recordsInput": records_input}


def countdown(expires_at: dt.datetime | None) -> dict[str, object]:
    left = None
    if expires_at is not None:
        left = max(0, int((expires_at - dt.datetime.now(dt.UTC)).total_seconds()))
    return {"type": "countdown", "expiresAt": _rfc3339(expires_at), "secondsLeft": left}


def warning(reason: str, seconds_left: float) -> dict[str, object]:
    return {"type": "warning", "reason": reason, "secondsLeft": max(0, int(seconds_left))}


def closed(reason: str, message: str) -> dict[str, object]:
    return {"type": "closed", "reason": reason, "message": message}
