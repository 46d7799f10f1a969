"""The pure parts of janus.audit: times, the end-time scan against ledger.dump, the tree-listing
pattern against ledger.entry_path, intervals and selection."""

from __future__ import annotations

import datetime as dt

import pytest

from janus.audit import query
from janus.audit.timespec import BadTime, parse_when
from janus.audit.verify import is_bot
from janus.model import ledger

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("-2h", NOW - dt.timedelta(hours=2)),
    ("-90m", NOW - dt.timedelta(minutes=90)),
    ("-1d12h", NOW - dt.timedelta(days=1, hours=12)),
    ("-2w", NOW - dt.timedelta(weeks=2)),
    ("2026-11-30", dt.datetime(2026, 11, 30, tzinfo=dt.UTC)),
    ("2026-11-30T14:00:00Z", dt.datetime(2026, 11, 30, 14, tzinfo=dt.UTC)),
    ("2026-11-30t14:00:00.5z", dt.datetime(2026, 11, 30, 14, 0, 0, 500000, tzinfo=dt.UTC)),
    ("2026-11-30T15:00:00+01:00", dt.datetime(2026, 11, 30, 14, tzinfo=dt.UTC)),
])
def test_times(text: str, expected: dt.datetime) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "2h", "-", "-2", "-2x", "tomorrow", "2026-11-30T14:00",
                                  "2026-02-30", "2026-11-30T25:00:00Z", "-99999999w"])
def test_bad_times_say_what_is_accepted(text: str) -> None:
    with pytest.raises(BadTime, match="is accepted"):
        parse_when(text, NOW)


def _entry(end: ledger.End | None = None, sessions: int = 0, extensions: int = 0,
           reason: str = "INC-1: stuck") -> ledger.Entry:
    request = ledger.RequestRecord("requests/prod/payments/alice-x.yaml", "a" * 40, "alice-x",
                                   "alice", "prod", "payments", "pod-exec", "1h", reason)
    merge = ledger.MergeRecord("acme/access", 7, "b" * 40, "2026-11-30T10:00:00Z", "lena",
                               ("lena",))
    entry = ledger.Entry(request, merge, "prod-payments-alice-x-1234abcd",
                         granted_at="2026-11-30T10:00:05Z", expires_at="2026-11-30T11:00:05Z")
    for i in range(extensions):
        entry = entry.with_extension(ledger.Extension(
            ledger.MergeRecord("acme/access", 8 + i, f"{i:x}" * 40, "2026-11-30T10:30:00Z",
                               "lena"), "c" * 40, "2h", "2026-11-30T12:00:05Z"))
    entry = entry.with_sessions(
        ledger.Session(f"s{i}", "alice", "p", "c", "2026-11-30T10:10:00Z",
                       closed="2026-11-30T10:20:00Z") for i in range(sessions))
    return entry.with_end(end) if end else entry


@pytest.mark.parametrize("end", [
    None,
    ledger.End("expired", "2026-11-30T11:00:05Z", via="controller"),
    ledger.End("revoked", "2026-11-30T10:40:00Z", by="root", reason="a: b\nc", via="web"),
    ledger.End("failed", "2026-11-30T10:00:06Z", message="at: 2020-01-01T00:00:00Z"),
])
@pytest.mark.parametrize("shape", [(0, 0), (2, 1), (0, 2)])
def test_the_end_scan_reads_what_the_loader_reads(end, shape) -> None:
    entry = _entry(end, *shape, reason="at: 2000-01-01T00:00:00Z")
    data = ledger.dump(entry)
    assert query.end_at_of(data) == (end.at if end else None)
    loaded = ledger.loads(entry.path, data).end
    assert query.end_at_of(data) == (loaded.at if loaded else None)


def test_a_hand_formatted_entry_is_never_skipped_by_the_scan() -> None:
    # Flow style: the scan finds no end, so the entry is loaded fully (and judged exactly).
    data = (b"version: 1\nkind: LedgerEntry\nend: {at: '2020-01-01T00:00:00Z', how: expired}\n")
    assert query.end_at_of(data) is None


def test_the_tree_pattern_matches_exactly_the_entry_paths() -> None:
    entry = _entry()
    good = [entry.path, ledger.entry_path("2026-01-02T03:04:05Z", 123456, "a-b-c")]
    bad = ["ledger/README.md", "ledger/2026/11/30/x.yaml", "requests/prod/p/a.yaml",
           entry.path.replace(".yaml", ".yml"), entry.path.upper()]
    listing = b"".join(f"100644 blob {'d' * 40}\t{p}\0".encode() for p in good + bad)
    found = [(m.group(2).decode(), m.group(3).decode(), m.group(4).decode())
             for m in query._TREE_ENTRY.finditer(listing)]
    assert found == [(p, *(lambda x: (x[0], x[2]))(ledger.parse_entry_path(p)))
                     for p in good]
    assert all(ledger.parse_entry_path(p) is None for p in bad)


def test_intervals_and_selection() -> None:
    live = _entry()
    ended = _entry(ledger.End("revoked", "2026-11-30T10:40:00Z", by="root"))
    approved = ledger.Entry(live.request, live.merge, live.access_request)
    at = lambda text: query.Window.at(ledger.parse_time(text))  # noqa: E731
    assert query.intervals(ended) == (
        (ledger.parse_time("2026-11-30T10:00:00Z"), ledger.parse_time("2026-11-30T10:00:05Z")),
        (ledger.parse_time("2026-11-30T10:00:05Z"), ledger.parse_time("2026-11-30T10:40:00Z")))
    # Without an end, access runs to expiresAt; without even that, it is open.
    assert query.intervals(live)[1][1] == ledger.parse_time("2026-11-30T11:00:05Z")
    assert query.intervals(approved) == ((ledger.parse_time("2026-11-30T10:00:00Z"), None),
                                         (None, None))
    rows = query.select([("a", live)], [], at("2026-11-30T10:59:59Z"))
    assert [(r.kind, r.state) for r in rows] == [("access", "active")]
    assert query.select([("a", live)], [], at("2026-11-30T11:00:05Z")) == []
    rows = query.select([("a", approved)], [], at("2099-01-01T00:00:00Z"))
    assert [(r.kind, r.state) for r in rows] == [("pending", "approved")]
    assert query.select([("a", ended)], [], at("2026-11-30T10:00:04Z"))[0].kind == "pending"
    assert query.select([("a", ended)], [], query.Window.at(NOW),
                        query.Filters(user="ALICE")) == []
    assert query.select([("a", ended)], [], at("2026-11-30T10:39:59Z"),
                        query.Filters(user="ALICE", cluster="prod"))[0].state == "revoked"


def test_bot_identities() -> None:
    assert is_bot("janus[bot]", "1+janus[bot]@users.noreply.github.com", None)
    assert is_bot("Someone", "41898282+janus[bot]@users.noreply.github.com", ["janus[bot]"])
    assert not is_bot("mallory", "mallory@example.com", None)
    assert not is_bot("other[bot]", "x@example.com", ["janus[bot]"])
