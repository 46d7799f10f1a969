"""The one RFC 3339 formatter/parser."""

from __future__ import annotations

import datetime as dt

import pytest

from janus.resource import timefmt


def test_fmt_is_utc_whole_seconds_with_z() -> None:
    moment = dt.datetime(2026, 5, 1, 14, 0, 7, 999_000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert timefmt.fmt(moment) == "2026-05-01T12:00:07Z"


def test_fmt_takes_a_naive_datetime_as_utc() -> None:
    assert timefmt.fmt(dt.datetime(2026, 5, 1, 12, 0)) == "2026-05-01T12:00:00Z"


def test_parse_round_trips_and_is_aware() -> None:
    moment = timefmt.parse("2026-05-01T12:00:07Z")
    assert moment == dt.datetime(2026, 5, 1, 12, 0, 7, tzinfo=dt.UTC)
    assert timefmt.fmt(moment) == "2026-05-01T12:00:07Z"
    assert timefmt.parse("2026-05-01T12:00:07") == moment  # naive text is UTC
    assert timefmt.parse("") is None and timefmt.parse(None) is None


def test_parse_refuses_garbage_and_parse_or_none_tolerates_it() -> None:
    with pytest.raises(ValueError):
        timefmt.parse("yesterday")
    assert timefmt.parse_or_none("yesterday") is None
    assert timefmt.parse_or_none(1234) is None
    assert timefmt.parse_or_none("2026-05-01T12:00:07Z") is not None


def test_floor_second() -> None:
    moment = dt.datetime(2026, 5, 1, 12, 0, 7, 500_000, tzinfo=dt.UTC)
    assert timefmt.floor_second(moment) == dt.datetime(2026, 5, 1, 12, 0, 7, tzinfo=dt.UTC)
