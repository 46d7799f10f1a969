"""RFC 3339 timestamps as the CR status carries them: UTC, whole seconds, ``Z`` suffix.

Whole seconds keep ``kubectl get`` readable and make ``expiresAt`` an exact instant the daemon
can sleep until: the grant starts at the floor of the current second, so the access lasts at
most the requested duration, never a fraction longer.
"""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def floor_second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def fmt(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def parse_or_none(text: str | None) -> dt.datetime | None:
    """:func:`parse` for readers that show a grant (CLI table, web app): a malformed timestamp
    reads as unknown (None) instead of failing the whole listing."""
    try:
        return parse(text)
    except ValueError:
        return None
