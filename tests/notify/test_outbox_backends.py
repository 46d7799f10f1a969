"""The outbox's contract on each database the receiver supports (a SQLite file, and a real
PostgreSQL server shared by replicas): an event recorded once, each delivery claimed by exactly
one of several concurrent senders, a lease that a dead sender's claim is taken over after, and
backoff after a failure."""

from __future__ import annotations

import threading
from collections import Counter

from janus.notify.outbox import Outbox


def test_an_event_is_recorded_once(database_url: str) -> None:
    a, b = Outbox(database_url), Outbox(database_url)
    assert a.record("e-1", "grant.revoked", "r", {"slack": {"n": 1}, "mail": {"n": 1}},
                    policy="payments-prod")
    assert not b.record("e-1", "grant.revoked", "r", {"slack": {"n": 2}})
    assert b.seen("e-1") and b.seen_prefix("e-") and not b.seen_prefix("e_")
    assert b.policy_of("r") == "payments-prod"
    assert a.counts() == {"pending": 2}
    a.close()
    b.close()


def test_concurrent_senders_claim_each_delivery_once(database_url: str) -> None:
    seed = Outbox(database_url)
    for i in range(60):
        seed.record(f"e-{i}", "grant.granted", f"r{i}", {"hook": {"i": i}})
    senders = [Outbox(database_url, owner=f"replica-{n}") for n in range(4)]
    claimed: Counter[str] = Counter()
    lock = threading.Lock()

    def drain(outbox: Outbox) -> None:
        while (pending := outbox.claim()) is not None:
            with lock:
                claimed[pending.id] += 1
            outbox.sent(pending.id)

    threads = [threading.Thread(target=drain, args=(o,)) for o in senders for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 60 and set(claimed.values()) == {1}
    assert seed.counts() == {"sent": 60}
    for o in (seed, *senders):
        o.close()


def test_a_dead_senders_claim_is_taken_over_after_its_lease(database_url: str) -> None:
    dead = Outbox(database_url, lease_seconds=30, owner="dead")
    alive = Outbox(database_url, lease_seconds=30, owner="alive")
    dead.record("e", "grant.expired", "r", {"hook": {}}, now=1000.0)
    assert dead.claim(now=1000.0) is not None       # then the process dies
    assert alive.claim(now=1010.0) is None           # its lease still holds
    taken = alive.claim(now=1031.0)
    assert taken is not None and taken.event_id == "e"
    dead.close()
    alive.close()


def test_a_failure_waits_for_the_backoff(database_url: str) -> None:
    outbox = Outbox(database_url, backoff_first=2.0)
    outbox.record("e", "grant.expired", "r", {"hook": {}}, now=1000.0)
    pending = outbox.claim(now=1000.0)
    assert pending is not None
    assert outbox.failed(pending.id, "HTTP 500", now=1000.0) == "pending"
    assert outbox.claim(now=1001.0) is None
    again = outbox.claim(now=1002.5)
    assert again is not None and again.attempts == 1
    outbox.close()


def test_the_schema_is_under_its_own_alembic_environment(database_url: str) -> None:
    """The outbox's tables come from janus/notify/migrations (version table of their own), so
    they can share the receiver's database with its delivery store, in any start order."""
    from janus import dbmigrate
    from janus.notify.outbox import MIGRATIONS, VERSION_TABLE
    from janus.webhook.store import DeliveryStore

    outbox = Outbox(database_url)
    store = DeliveryStore(database_url)
    again = Outbox(database_url)  # a second start (or replica): nothing to do, nothing lost
    assert dbmigrate.current(outbox.engine, VERSION_TABLE) == dbmigrate.head(MIGRATIONS)
    assert again.record("e", "grant.granted", "r", {"hook": {}})
    assert store.add("d-1", "push", None, b"{}")
    for o in (outbox, again):
        o.close()
    store.close()
