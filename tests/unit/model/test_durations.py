import datetime as dt

import pytest

from janus.model import format_duration, parse_duration


@pytest.mark.parametrize(("text", "expected"), [
    ("90m", dt.timedelta(minutes=90)),
    ("1h30m", dt.timedelta(hours=1, minutes=30)),
    ("10m", dt.timedelta(minutes=10)),
    ("8h", dt.timedelta(hours=8)),
    ("1.5h", dt.timedelta(minutes=90)),
    ("45s", dt.timedelta(seconds=45)),
    ("1h0m30s", dt.timedelta(hours=1, seconds=30)),
    ("500ms", dt.timedelta(milliseconds=500)),
    ("+2h", dt.timedelta(hours=2)),
])
def test_go_durations_are_accepted(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["90", "1.5", "0", "-5"])
def test_plain_numbers_are_refused_with_a_hint(text):
    with pytest.raises(ValueError, match="no unit"):
        parse_duration(text)


@pytest.mark.parametrize("text", [
    "", "h", "1h 30m", "1 h", "1H", "1d", "1h30", "one hour", "-1h", "1h-30m", "PT1H", "1h\n",
])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError, match="Go-style duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["999999999999h", "9" * 400 + "h", "87601h"])
def test_overflowing_durations_are_clear_errors(text):
    with pytest.raises(ValueError, match="longer than"):
        parse_duration(text)


def test_non_strings_are_refused():
    with pytest.raises(ValueError):
        parse_duration(90)  # type: ignore[arg-type]


@pytest.mark.parametrize(("td", "text"), [
    (dt.timedelta(minutes=90), "1h30m"),
    (dt.timedelta(hours=8), "8h"),
    (dt.timedelta(minutes=10), "10m"),
    (dt.timedelta(0), "0s"),
    (dt.timedelta(seconds=61), "1m1s"),
    (dt.timedelta(hours=25), "25h"),
])
def test_format_duration(td, text):
    assert format_duration(td) == text
    assert parse_duration(text) == td
