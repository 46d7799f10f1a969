"""Which events an AccessRequest's state calls for (pure), and the sender turning a CR's life
(granted, extended, expiring soon, expired / revoked) into one recorded event each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from janus.notify import EventKind, build
from janus.notify.plan import plan
from janus.resource import timefmt
from tests.notify.support import config, cr

LEAD = dt.timedelta(minutes=15)
FRESH = dt.timedelta(hours=1)


def _t(text: str) -> dt.datetime:
    moment = timefmt.parse(text)
    assert moment is not None
    return moment


def _kinds(view, now: str, granted_before: bool = False):  # type: ignore[no-untyped-def]
    return [(p.kind, p.send) for p in plan(view, granted_before=granted_before, now=_t(now),
                                           expiring_soon=LEAD, fresh_for=FRESH)]


def test_active_is_granted_then_extended() -> None:
    assert _kinds(cr(), "2026-11-30T02:01:00Z") == [(EventKind.GRANTED, True)]
    assert _kinds(cr(expires="2026-11-30T06:00:00Z"), "2026-11-30T03:00:00Z",
                  granted_before=True) == [(EventKind.EXTENDED, True)]


def test_expiring_soon_within_the_lead_time_only() -> None:
    assert _kinds(cr(), "2026-11-30T03:44:00Z", True) == [(EventKind.EXTENDED, True)]
    assert _kinds(cr(), "2026-11-30T03:46:00Z", True) == [
        (EventKind.EXTENDED, True), (EventKind.EXPIRING_SOON, True)]
    assert _kinds(cr(), "2026-11-30T04:00:01Z", True) == [(EventKind.EXTENDED, True)]


def test_old_history_is_recorded_not_sent() -> None:
    """A sender started on a cluster with history does not announce last week's grants."""
    assert _kinds(cr(), "2026-11-30T09:00:00Z") == [(EventKind.GRANTED, False)]
    assert _kinds(cr("Expired"), "2026-11-30T09:00:00Z") == [(EventKind.EXPIRED, False)]
    assert _kinds(cr("Expired"), "2026-11-30T04:01:00Z") == [(EventKind.EXPIRED, True)]
    revoked = cr("Revoked", revokedBy="carol", revokedAt="2026-11-30T02:30:00Z")
    assert _kinds(revoked, "2026-11-30T02:31:00Z") == [(EventKind.REVOKED, True)]


def test_nothing_for_approved_failed_or_a_pending_revocation() -> None:
    assert _kinds(cr("Approved"), "2026-11-30T02:00:00Z") == []
    assert _kinds(cr("Failed"), "2026-11-30T02:00:00Z") == []


def test_a_grants_life_is_one_event_each(tmp_path: Path) -> None:
    cfg = config(tmp_path, teams="http://127.0.0.1:9/hook")
    notifier = build(cfg, tmp_path / "db.sqlite")
    outbox = notifier.outbox
    assert outbox is not None
    life = [
        (cr(), "2026-11-30T02:00:30Z"),
        (cr(), "2026-11-30T02:10:00Z"),                          # relisted: nothing new
        (cr(expires="2026-11-30T05:00:00Z"), "2026-11-30T03:00:00Z"),   # extended
        (cr(expires="2026-11-30T05:00:00Z"), "2026-11-30T04:50:00Z"),   # expiring soon
        (cr(expires="2026-11-30T05:00:00Z"), "2026-11-30T04:55:00Z"),   # still: once
        (cr("Expired", expires="2026-11-30T05:00:00Z"), "2026-11-30T05:00:05Z"),
        (cr("Expired", expires="2026-11-30T05:00:00Z"), "2026-11-30T05:10:00Z"),
    ]
    for view, now in life:
        notifier.observe(view, now=_t(now))
    from sqlalchemy import select

    from janus.notify.outbox import events_table as e

    with outbox.engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(select(e.c.kind).order_by(e.c.created_at))]
    assert sorted(kinds) == sorted(["grant.granted", "grant.extended", "grant.expiring_soon",
                                    "grant.expired"])
    assert outbox.counts() == {"pending": 4}
    notifier.stop()


def test_revoked_says_by_whom_and_why(tmp_path: Path) -> None:
    from janus.notify.events import from_request

    view = cr("Revoked", revokedBy="carol", revokedReason="incident over",
              revokedAt="2026-11-30T02:30:00Z")
    payload = from_request(view, EventKind.REVOKED, id="x", occurred_at=_t(
        "2026-11-30T02:31:00Z"), links={}).payload()
    assert (payload["actor"], payload["why"]) == ("carol", "incident over")
    assert payload["audience"] == ["alice"]
    assert "janus-token" not in str(payload)  # the token Secret's name is not even named
