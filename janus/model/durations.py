"""Go-style durations (``90m``, ``1h30m``), the format Kubernetes users already write.

Only the Go grammar is accepted: one or more ``<number><unit>`` pairs, units ns, us (or µs), ms,
s, m, h. A plain number is refused with a hint, because ``duration: 90`` is ambiguous to a reader
(minutes? seconds?) and an access grant must not be.
"""

from __future__ import annotations

import datetime as dt
import re

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?")

# Far beyond any sensible grant, far below timedelta's own limit: "999999999h" must be a clear
# error, never an OverflowError from deep inside datetime.
MAX_DURATION = dt.timedelta(days=3650)

ACCEPTED = "a Go-style duration with units, such as '90m', '1h30m' or '8h'"


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``"1h30m"`` into a timedelta; raise ValueError saying what would be accepted."""
    if not isinstance(text, str):
        raise ValueError(f"expected {ACCEPTED}, got {type(text).__name__} {text!r}")
    value = text
    if _PLAIN_NUMBER.fullmatch(value.strip()):
        raise ValueError(
            f"{text!r} has no unit; write {ACCEPTED} (for example '{value.strip()}m' for minutes)"
        )
    if value.startswith("-"):
        raise ValueError(f"{text!r} is negative; write {ACCEPTED}")
    value = value.removeprefix("+")
    seconds = 0.0
    pos = 0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        number = float(match.group(1))
        seconds += number * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
        if seconds > MAX_DURATION.total_seconds():
            raise ValueError(f"{text!r} is longer than {format_duration(MAX_DURATION)}")
    if pos != len(value) or pos == 0:
        raise ValueError(f"{text!r} is not {ACCEPTED}")
    return dt.timedelta(seconds=seconds)


def format_duration(td: dt.timedelta) -> str:
    """``timedelta(hours=1, minutes=30)`` → ``"1h30m"``; zero components are left out."""
    total = td.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(int(total), 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = total - int(total)
    out = ""
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if seconds or fraction:
        out += f"{seconds + fraction:g}s" if fraction else f"{seconds}s"
    return sign + (out or "0s")
