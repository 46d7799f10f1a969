"""RFC 3339 timestamps as the AccessRequest carries them: UTC, whole seconds, ``Z`` suffix.

The one formatter and parser of Janus: the controller's status times, the receiver's
``mergedAt``, a revocation's ``requestedAt``, and every reader that shows them.

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
    """``2026-05-01T12:00:00Z``. A naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str | None) -> dt.datetime | None:
    """The instant *text* names (timezone-aware; naive text is UTC), None for empty text.

    Raises ValueError for text that is not a timestamp.
    """
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def parse_or_none(text: object) -> dt.datetime | None:
    """:func:`parse` for readers that show a grant (CLI table, web app): a malformed timestamp
    (or a value that is not text at all) reads as unknown (None) instead of failing the whole
    listing."""
    if not isinstance(text, str):
        return None
    try:
        return parse(text)
    except ValueError:
        return None
