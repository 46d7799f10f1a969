"""The instants ``janus audit`` accepts: RFC 3339, a date, ``now``, or a time ago (``-2h``).

A relative time is a minus sign and a Go-style duration, with ``d`` (24h) and ``w`` (7d) allowed
in front because audits look back days and weeks: ``-90m``, ``-2h``, ``-1d12h``, ``-2w``. A date
alone (``2026-11-30``) is its midnight UTC; a time without a zone is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re

from janus.errors import InvalidInput
from janus.model.durations import parse_duration

TIME_ACCEPTED = ("an RFC 3339 time (2026-11-30T14:00:00Z, 2026-11-30T15:00:00+01:00), a date "
                 "(2026-11-30, midnight UTC), 'now', or a time ago such as -2h, -90m, -1d12h, -2w")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_AGO = re.compile(r"-(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?P<rest>.*)")


class BadTime(InvalidInput, ValueError):
    """A time that cannot be read; the message says what would be accepted."""


def parse_when(text: str, now: dt.datetime) -> dt.datetime:
    """The instant *text* names (timezone-aware, UTC), relative forms counted back from *now*."""
    value = text.strip()
    if value.lower() == "now":
        return now.astimezone(dt.UTC)
    if value.startswith("-"):
        return now.astimezone(dt.UTC) - _ago(text, value)
    if _DATE.fullmatch(value):
        try:
            return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
        except ValueError:
            raise BadTime(f"{text!r} is not a real date; {TIME_ACCEPTED} is accepted") from None
    if not _RFC3339.fullmatch(value):
        hint = (" (it has no time zone: add Z for UTC)"
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2})?(\.\d+)?", value)
                else "")
        raise BadTime(f"{text!r} is not a time{hint}; {TIME_ACCEPTED} is accepted")
    try:
        moment = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise BadTime(f"{text!r} is not a real time; {TIME_ACCEPTED} is accepted") from None
    return moment.astimezone(dt.UTC)


def _ago(text: str, value: str) -> dt.timedelta:
    match = _AGO.fullmatch(value)
    assert match is not None  # the pattern accepts every text starting with "-"
    weeks, days, rest = int(match["w"] or 0), int(match["d"] or 0), match["rest"]
    if not (weeks or days or rest):
        raise BadTime(f"{text!r} says no amount of time; {TIME_ACCEPTED} is accepted")
    span = dt.timedelta(weeks=weeks, days=days)
    if rest:
        try:
            span += parse_duration(rest)
        except ValueError:
            raise BadTime(f"{text!r} is not a time ago; {TIME_ACCEPTED} is accepted") from None
    if span > dt.timedelta(days=36500):
        raise BadTime(f"{text!r} is more than a hundred years ago; {TIME_ACCEPTED} is accepted")
    return span
