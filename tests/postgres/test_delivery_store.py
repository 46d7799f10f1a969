"""The receiver's delivery store, the same contract on SQLite and on a real PostgreSQL server:
dedupe before the 202, claims taken exactly once by concurrent replicas, leases that a dead
replica's deliveries are taken over after, retries owned by their holder, pruning."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import text

from janus.webhook.store import DeliveryStore


def _store(url: str, **kwargs) -> DeliveryStore:  # type: ignore[no-untyped-def]
    return DeliveryStore(url, **kwargs)


def test_add_dedupes_and_claims_the_oldest_first(database_url: str) -> None:
    store = _store(database_url)
    assert store.add("d-1", "push", None, b'{"n": 1}') is True
    assert store.add("d-2", "pull_request", "opened", b'{"n": 2}') is True
    assert store.add("d-1", "push", None, b"other") is False  # a redelivery: one row
    first = store.claim()
    assert first is not None and first.id == "d-1" and first.body == b'{"n": 1}'
    assert first.attempts == 1 and store.state_of("d-1") == "working"
    second = store.claim()
    assert second is not None and (second.id, second.action) == ("d-2", "opened")
    assert store.claim() is None
    store.finish("d-1")
    store.fail("d-2", "gave up")
    assert store.counts() == {"done": 1, "failed": 1}
    assert store.next_due_in() is None
    store.ping()
    store.close()
    with pytest.raises(Exception):  # noqa: B017 - whatever the backend raises
        store.ping()


def test_retry_later_waits_and_counts_attempts(database_url: str) -> None:
    store = _store(database_url)
    store.add("d", "push", None, b"{}")
    claimed = store.claim()
    assert claimed is not None
    store.retry_later("d", "GitHub 502", 0.3)
    assert store.claim() is None
    due = store.next_due_in()
    assert due is not None and 0 < due <= 0.3
    time.sleep(0.35)
    again = store.claim()
    assert again is not None and again.attempts == 2


def test_a_dead_replicas_lease_is_taken_over_after_it_expires(database_url: str) -> None:
    alive = _store(database_url, lease_seconds=30, owner="alive")
    dying = _store(database_url, lease_seconds=0.5, owner="dying")
    alive.add("d", "push", None, b"{}")
    assert dying.claim() is not None  # ...and then the replica dies: no renewal, no finish
    assert alive.claim() is None  # the lease still holds
    due = alive.next_due_in()
    assert due is not None and due <= 0.5
    time.sleep(0.6)
    taken = alive.claim()
    assert taken is not None and taken.id == "d" and taken.attempts == 2
    # The late replica's verdicts no longer apply: the delivery is the other's now.
    dying.retry_later("d", "late", 5)
    dying.fail("d", "late")
    assert alive.state_of("d") == "working"
    alive.finish("d")
    assert alive.state_of("d") == "done"


def test_renewed_leases_are_not_taken_over(database_url: str) -> None:
    holder = _store(database_url, lease_seconds=0.6, owner="holder")
    other = _store(database_url, lease_seconds=0.6, owner="other")
    holder.add("d", "push", None, b"{}")
    assert holder.claim() is not None
    for _ in range(4):
        time.sleep(0.25)
        assert holder.renew_leases() == 1
        assert other.claim() is None


def test_concurrent_replicas_claim_each_delivery_exactly_once(database_url: str) -> None:
    """Two stores (two replicas) with four claiming threads each drain 300 deliveries: every
    delivery is claimed once, by one of them, and both take part."""
    replicas = [_store(database_url, owner=f"r{i}") for i in range(2)]
    count = 300
    for i in range(count):
        replicas[i % 2].add(f"d-{i:04d}", "push", None, b"{}")
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def drain(store: DeliveryStore) -> None:
        while (delivery := store.claim()) is not None:
            with lock:
                claimed.append((delivery.id, store.owner))
            store.finish(delivery.id)

    threads = [threading.Thread(target=drain, args=(store,)) for store in replicas
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    per_id = Counter(delivery_id for delivery_id, _owner in claimed)
    assert len(per_id) == count and set(per_id.values()) == {1}
    assert replicas[0].counts() == {"done": count}
    with replicas[0].engine.connect() as conn:
        attempts = conn.execute(text("SELECT DISTINCT attempts FROM deliveries")).scalars().all()
    assert attempts == [1]


def test_concurrent_replicas_claim_batches_each_delivery_exactly_once(
        database_url: str) -> None:
    """The workers' batched claims (``claim_batch``; SKIP LOCKED on PostgreSQL): two replicas,
    four threads each, batches of 7, one delivery of each batch handed back untried
    (``release``); every delivery is finished once, and a released one's claim is not counted
    as an attempt."""
    replicas = [_store(database_url, owner=f"r{i}") for i in range(2)]
    count = 300
    for i in range(count):
        replicas[i % 2].add(f"d-{i:04d}", "push", None, b"{}")
    finished: list[str] = []
    lock = threading.Lock()

    def drain(store: DeliveryStore) -> None:
        while batch := store.claim_batch(7):
            assert [d.id for d in batch] == sorted(d.id for d in batch)  # oldest first
            keep, back = (batch[:-1], batch[-1:]) if len(batch) > 1 else (batch, [])
            store.release([d.id for d in back])
            store.finish_many([d.id for d in keep])
            with lock:
                finished.extend(d.id for d in keep)

    threads = [threading.Thread(target=drain, args=(store,)) for store in replicas
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    per_id = Counter(finished)
    assert len(per_id) == count and set(per_id.values()) == {1}
    assert replicas[0].counts() == {"done": count}
    with replicas[0].engine.connect() as conn:
        attempts = conn.execute(text("SELECT DISTINCT attempts FROM deliveries")).scalars().all()
    assert attempts == [1]


def test_prune_on_both_backends(database_url: str) -> None:
    store = _store(database_url)
    now = time.time()
    for i in range(6):
        store.add(f"d-{i}", "push", None, b"{}")
    with store.engine.begin() as conn:
        for i in range(5):  # d-0 oldest ... d-4 newest finished; d-5 pending
            conn.execute(text("UPDATE deliveries SET state='done', finished_at=:t WHERE id=:id"),
                         {"t": now - 100 + i, "id": f"d-{i}"})
    assert store.prune(keep_seconds=99.5, max_finished=3, now=now) == 2  # d-0 by age, d-1 count
    assert store.counts() == {"done": 3, "pending": 1}
    assert store.state_of("d-1") is None and store.state_of("d-2") == "done"


def test_sqlite_reopened_takes_back_what_the_last_process_held(tmp_path) -> None:
    """One replica by construction on SQLite: a restart picks its deliveries up at once, as
    before leases (no waiting for the dead process's lease)."""
    path = tmp_path / "d.sqlite"
    first = DeliveryStore(path, lease_seconds=3600)
    first.add("d", "push", None, b"{}")
    assert first.claim() is not None
    first.close()
    second = DeliveryStore(path)
    taken = second.claim()
    assert taken is not None and taken.id == "d"


def test_a_clean_stop_hands_back_what_it_holds(database_url: str) -> None:
    stopping = _store(database_url, lease_seconds=3600, owner="stopping")
    other = _store(database_url, owner="other")
    stopping.add("held", "push", None, b"{}")
    other.add("others", "push", None, b"{}")
    assert stopping.claim() is not None and other.claim() is not None
    assert stopping.release_held() == 1  # only its own
    taken = other.claim()
    assert taken is not None and taken.id == "held"
    assert other.state_of("others") == "working"
