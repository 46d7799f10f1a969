"""kopf's pause rule as the timer queue's gate applies it (janus.controller.peering.paused)."""

from __future__ import annotations

import datetime as dt

from janus.controller.peering import paused

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _peer(priority: int, seen_ago: float = 1.0, lifetime: int = 60) -> dict[str, object]:
    return {"priority": priority, "lifetime": lifetime,
            "lastseen": (NOW - dt.timedelta(seconds=seen_ago)).isoformat()}


def test_alone_or_highest_is_not_paused() -> None:
    assert not paused({}, 100, NOW)
    assert not paused({"me": _peer(100)}, 100, NOW)
    assert not paused({"me": _peer(100), "low": _peer(50)}, 100, NOW)


def test_a_live_higher_priority_peer_pauses() -> None:
    assert paused({"me": _peer(100), "high": _peer(200)}, 100, NOW)


def test_a_tie_pauses_both() -> None:
    assert paused({"me": _peer(100), "twin": _peer(100)}, 100, NOW)


def test_dead_peers_do_not_count() -> None:
    assert not paused({"me": _peer(100), "high": _peer(200, seen_ago=61)}, 100, NOW)
    assert not paused({"me": _peer(100), "twin": _peer(100, seen_ago=120, lifetime=60)},
                      100, NOW)


def test_kopf_timestamps_without_zone_and_garbage_are_read_safely() -> None:
    naive = {"priority": 200, "lifetime": 60,
             "lastseen": (NOW - dt.timedelta(seconds=5)).replace(tzinfo=None).isoformat()}
    assert paused({"me": _peer(100), "high": naive}, 100, NOW)
    # An unreadable lastseen counts as live: pausing wrongly only delays, acting twice races.
    assert paused({"me": _peer(100), "high": {"priority": 200, "lastseen": "?"}}, 100, NOW)
    assert paused({"me": _peer(100), "odd": "not a mapping", "high": _peer(300)}, 100, NOW)
