"""Delivery through the outbox to real loopback receivers: retried with backoff while a channel
is down (connection refused, HTTP 500), nothing lost, delivered later; one message per event
even from two sender instances (two replicas, or one restarted) sharing the database; and the
hooks never block or raise in the caller."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from janus.notify import EventKind, Notifier, build
from janus.notify.outbox import Outbox, backoff
from tests.notify.receivers import free_port, http_receiver, smtp_server, wait_for
from tests.notify.support import config, cr, sample_event


def _notifier(cfg, db: Path, **kwargs) -> Notifier:  # type: ignore[no-untyped-def]
    return build(cfg, db, backoff_first=0.2, poll_seconds=0.05, **kwargs)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(100) == 600


def test_every_channel_receives_one_message(tmp_path: Path) -> None:
    with http_receiver() as slack, http_receiver() as teams, http_receiver() as hook, \
            smtp_server() as (port, box):
        cfg = config(tmp_path, slack=slack.url, teams=teams.url, webhook=hook.url,
                     smtp_port=port)
        notifier = _notifier(cfg, tmp_path / "db.sqlite").start()
        try:
            assert notifier.emit(sample_event())
            assert not notifier.emit(sample_event())  # the same event again: nothing new
            assert wait_for(lambda: len(slack.received) == len(teams.received)
                            == len(hook.received) == len(box.messages) == 1)
            time.sleep(0.3)
            assert (len(slack.received), len(teams.received), len(hook.received),
                    len(box.messages)) == (1, 1, 1, 1)
            assert notifier.outbox is not None
            assert notifier.outbox.counts() == {"sent": 4}
        finally:
            notifier.stop()


def test_a_channel_refusing_connections_is_retried_and_delivered_later(tmp_path: Path) -> None:
    port = free_port()
    with http_receiver() as teams:
        cfg = config(tmp_path, slack=f"http://127.0.0.1:{port}/hook", teams=teams.url)
        notifier = _notifier(cfg, tmp_path / "db.sqlite").start()
        try:
            notifier.emit(sample_event())
            # Teams is up and gets its message at once; Slack is down and is not lost.
            assert wait_for(lambda: len(teams.received) == 1)
            assert notifier.outbox is not None
            assert wait_for(lambda: _attempts(notifier.outbox, "slack") >= 2)
            assert notifier.outbox.counts() == {"sent": 1, "pending": 1}
            with http_receiver(port=port) as slack:
                assert wait_for(lambda: len(slack.received) == 1, timeout=15)
                time.sleep(0.3)
                assert len(slack.received) == 1
            assert notifier.outbox.counts() == {"sent": 2}
            assert len(teams.received) == 1
        finally:
            notifier.stop()


def test_http_500_is_retried_with_backoff(tmp_path: Path) -> None:
    with http_receiver(fail_first=2) as hook:
        cfg = config(tmp_path, webhook=hook.url)
        notifier = _notifier(cfg, tmp_path / "db.sqlite").start()
        try:
            started = time.monotonic()
            notifier.emit(sample_event())
            assert wait_for(lambda: len(hook.received) == 1, timeout=15)
            # Two failures: waited about 0.2 s then 0.4 s (the backoff) before the third try.
            assert time.monotonic() - started >= 0.55
            assert hook.refused == 2
        finally:
            notifier.stop()


def test_pending_deliveries_survive_a_restart(tmp_path: Path) -> None:
    port = free_port()
    cfg = config(tmp_path, teams=f"http://127.0.0.1:{port}/hook")
    first = _notifier(cfg, tmp_path / "db.sqlite").start()
    first.emit(sample_event())
    assert first.outbox is not None
    assert wait_for(lambda: _attempts(first.outbox, "teams") >= 1)
    first.stop()  # the process ends with the message still undelivered
    with http_receiver(port=port) as teams:
        second = _notifier(cfg, tmp_path / "db.sqlite").start()
        try:
            # The restarted sender sees the same event again (a relist): recorded once only.
            assert not second.emit(sample_event())
            assert wait_for(lambda: len(teams.received) == 1, timeout=15)
            time.sleep(0.3)
            assert len(teams.received) == 1
        finally:
            second.stop()


def test_two_sender_instances_send_one_message_per_event(tmp_path: Path) -> None:
    """Two replicas sharing the database both see every AccessRequest change (each watches) and
    both run senders: each event still reaches each channel once."""
    with http_receiver() as hook, smtp_server() as (port, box):
        cfg = config(tmp_path, webhook=hook.url, smtp_port=port)
        a = _notifier(cfg, tmp_path / "db.sqlite", senders=3).start()
        b = _notifier(cfg, tmp_path / "db.sqlite", senders=3).start()
        try:
            barrier = threading.Barrier(2)

            def observe(n: Notifier) -> None:
                barrier.wait()
                for i in range(20):
                    n.emit(sample_event(id=f"test:{i}"))
                    n.observe(cr("Revoked", uid=f"u{i}", revokedBy="carol",
                                 revokedReason="done", revokedAt="2026-11-30T02:30:00Z"),
                              now=_t("2026-11-30T02:31:00Z"))

            threads = [threading.Thread(target=observe, args=(n,)) for n in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert wait_for(lambda: len(hook.received) == 40 and len(box.messages) == 40,
                            timeout=20)
            time.sleep(0.5)
            ids = [r.headers["X-Janus-Event"] for r in hook.received]
            assert len(ids) == len(set(ids)) == 40
            assert len(box.messages) == 40
        finally:
            a.stop()
            b.stop()


def test_hooks_never_block_or_raise(tmp_path: Path) -> None:
    """A started notifier's hooks only queue work: a slow or broken database or channel does
    not hold the caller (a grant, a merge) up, and an error is logged, not raised."""
    cfg = config(tmp_path, teams="http://127.0.0.1:9/hook")
    notifier = _notifier(cfg, tmp_path / "db.sqlite").start()
    try:
        assert notifier.outbox is not None
        notifier.outbox.close()
        notifier.outbox.engine.dispose()
        notifier.outbox.record = _boom  # type: ignore[method-assign]
        started = time.monotonic()
        for _ in range(100):
            notifier.access_request_changed(cr())
            notifier.merge_refused("acme/access", 7, "https://x/7", "abc", "alice",
                                   "approvals", "no approval")
        assert time.monotonic() - started < 0.5
    finally:
        notifier.stop()
    off = Notifier.off()
    off.access_request_changed(cr())  # disabled: nothing at all
    off.merge_refused("acme/access", 7, "u", "abc", "alice", "s", "x")


def test_a_token_shaped_payload_is_dropped_not_sent(tmp_path: Path) -> None:
    with http_receiver() as hook:
        cfg = config(tmp_path, webhook=hook.url)
        notifier = _notifier(cfg, tmp_path / "db.sqlite").start()
        try:
            leak = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ"
            assert not notifier.emit(sample_event(kind=EventKind.REVOKED, why=f"token {leak}"))
            assert notifier.emit(sample_event())
            assert wait_for(lambda: len(hook.received) == 1)
            assert all(leak.encode() not in r.body for r in hook.received)
        finally:
            notifier.stop()


def _boom(*args, **kwargs):  # type: ignore[no-untyped-def]
    time.sleep(1)
    raise RuntimeError("database gone")


def _attempts(outbox: Outbox, channel: str) -> int:
    from sqlalchemy import select

    from janus.notify.outbox import deliveries_table as t

    with outbox.engine.connect() as conn:
        rows = conn.execute(select(t.c.attempts).where(t.c.channel == channel)).all()
    return sum(r.attempts for r in rows)


def _t(text: str):  # type: ignore[no-untyped-def]
    from janus.resource import timefmt

    return timefmt.parse(text)


class _Grants:
    """An AccessRequest source holding one Active grant: its watch lists it once, then idles."""

    def __init__(self, view) -> None:  # type: ignore[no-untyped-def]
        self.view = view

    def list(self, label_selector=None):  # type: ignore[no-untyped-def]
        return [self.view]

    def watch(self, *, stop=None, timeout_seconds=30, label_selector=None):  # type: ignore[no-untyped-def]
        from janus.resource.client import WatchEvent

        yield WatchEvent("LISTED", self.view)
        assert stop is not None
        stop.wait(timeout_seconds)


def test_the_timer_sends_expiring_soon_without_any_change(tmp_path: Path) -> None:
    """Nothing changes on the CR as its expiry nears: the sender's timer notices it."""
    import datetime as dt

    from janus.resource import timefmt

    now = dt.datetime.now(dt.UTC)
    view = cr(granted=timefmt.fmt(now - dt.timedelta(minutes=1)),
              expires=timefmt.fmt(now + dt.timedelta(seconds=6)))
    with http_receiver() as hook:
        cfg = config(tmp_path, webhook=hook.url, expiringSoon="4s")
        notifier = _notifier(cfg, tmp_path / "db.sqlite", crs=_Grants(view)).start()
        try:
            assert wait_for(lambda: [r.json()["kind"] for r in hook.received]
                            == ["grant.granted"], timeout=5)
            # Not yet within the lead time; within it about two seconds later.
            assert wait_for(lambda: len(hook.received) == 2, timeout=8)
            soon = hook.received[1].json()
            assert soon["kind"] == "grant.expiring_soon" and soon["audience"] == ["alice"]
            assert soon["expiresAt"] == view.expires_at_text
        finally:
            notifier.stop()
