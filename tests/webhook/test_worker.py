"""Workers: every stored delivery is handled once; failures are retried, then given up."""

from __future__ import annotations

import threading
from pathlib import Path

from janus.webhook import worker as worker_module
from janus.webhook.store import Delivery, DeliveryStore
from janus.webhook.worker import WorkerPool


def test_each_delivery_is_handled_once(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    seen: list[str] = []
    lock = threading.Lock()

    def handle(delivery: Delivery) -> None:
        with lock:
            seen.append(delivery.id)

    pool = WorkerPool(store, handle, workers=3).start()
    try:
        for i in range(50):
            store.add(f"d-{i}", "push", None, b"{}")
            pool.wake()
        assert pool.wait_idle(10)
    finally:
        pool.stop()
    assert sorted(seen) == sorted(f"d-{i}" for i in range(50))
    assert store.counts() == {"done": 50}


def test_failing_handler_is_retried_then_marked_failed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(worker_module, "BACKOFF_SECONDS", (0.01, 0.01, 0.01))
    store = DeliveryStore(tmp_path / "d.sqlite")
    attempts: list[int] = []

    def handle(delivery: Delivery) -> None:
        attempts.append(delivery.attempts)
        raise RuntimeError("GitHub said 502")

    pool = WorkerPool(store, handle, workers=1).start()
    try:
        store.add("d-1", "push", None, b"{}")
        pool.wake()
        assert pool.wait_idle(10)
    finally:
        pool.stop()
    assert attempts == [1, 2, 3, 4]
    assert store.state_of("d-1") == "failed"


def test_rate_limit_deferrals_do_not_use_up_the_retry_attempts(tmp_path: Path,
                                                                monkeypatch) -> None:
    """A delivery put back for a GitHub rate limit, more times than it has attempts, still gets
    every one of its attempts once the limit lifts: waiting for GitHub is not a failure."""
    from github import GithubException

    monkeypatch.setattr(worker_module, "BACKOFF_SECONDS", (0.01, 0.01, 0.01))
    store = DeliveryStore(tmp_path / "d.sqlite")
    limited = worker_module.MAX_ATTEMPTS + 1
    calls: list[tuple[str, int]] = []

    def handle(delivery: Delivery) -> None:
        if len(calls) < limited:  # GitHub's secondary limit, the shortest wait it can ask
            calls.append(("limited", delivery.attempts))
            raise GithubException(429, {"message": "You have exceeded a secondary rate limit"},
                                  {"retry-after": "1"})
        calls.append(("failed", delivery.attempts))
        raise RuntimeError("GitHub said 502")

    pool = WorkerPool(store, handle, workers=1).start()
    try:
        store.add("d-1", "push", None, b"{}")
        pool.wake()
        assert pool.wait_idle(60)
    finally:
        pool.stop()
    assert calls == [("limited", 1)] * limited + [("failed", n) for n in (1, 2, 3, 4)]
    assert store.state_of("d-1") == "failed"


def test_a_backlog_is_claimed_in_batches_and_each_delivery_handled_once(
        tmp_path: Path, monkeypatch) -> None:
    """Under a backlog a worker claims several deliveries per transaction (the ack path shares
    the store's write lock and the interpreter with the workers), still each exactly once."""
    store = DeliveryStore(tmp_path / "d.sqlite")
    for i in range(200):
        store.add(f"d-{i:03d}", "push", None, b"{}")
    claims: list[int] = []
    claim_batch = store.claim_batch

    def counted(limit: int) -> list[Delivery]:
        batch = claim_batch(limit)
        claims.append(len(batch))
        return batch

    monkeypatch.setattr(store, "claim_batch", counted)
    seen: list[str] = []
    pool = WorkerPool(store, lambda d: seen.append(d.id), workers=1).start()
    try:
        assert pool.wait_idle(30)
    finally:
        pool.stop()
    assert sorted(seen) == [f"d-{i:03d}" for i in range(200)]
    assert seen == sorted(seen)  # oldest first, within and across batches
    assert store.counts() == {"done": 200}
    assert max(claims) == worker_module.BATCH
    assert len([n for n in claims if n]) <= 200 // 8  # not one transaction per delivery


def test_a_slow_delivery_does_not_hold_the_others(tmp_path: Path) -> None:
    """A few deliveries are claimed one at a time, so while one is slow (a merge: seconds of
    GitHub calls) the other workers handle the rest."""
    store = DeliveryStore(tmp_path / "d.sqlite")
    for i in range(3):
        store.add(f"d-{i}", "push", None, b"{}")
    others_done = threading.Event()
    handled: list[str] = []
    lock = threading.Lock()

    def handle(delivery: Delivery) -> None:
        if delivery.id == "d-0":
            assert others_done.wait(20), "d-1 and d-2 waited for the slow d-0"
        with lock:
            handled.append(delivery.id)
            if {"d-1", "d-2"} <= set(handled):
                others_done.set()

    pool = WorkerPool(store, handle, workers=2).start()
    try:
        assert pool.wait_idle(30)
    finally:
        pool.stop()
    assert store.counts() == {"done": 3}
    assert handled[-1] == "d-0"


def test_held_batch_goes_back_untried_after_the_hold(tmp_path: Path, monkeypatch) -> None:
    """Deliveries of a batch not started within the hold go back to the queue with their
    attempt given back, and are handled (once) by whichever worker is free."""
    monkeypatch.setattr(worker_module, "BATCH_HOLD_SECONDS", 0.0)
    store = DeliveryStore(tmp_path / "d.sqlite")
    for i in range(40):
        store.add(f"d-{i:02d}", "push", None, b"{}")
    attempts: dict[str, list[int]] = {}
    lock = threading.Lock()

    def handle(delivery: Delivery) -> None:
        with lock:
            attempts.setdefault(delivery.id, []).append(delivery.attempts)

    pool = WorkerPool(store, handle, workers=2).start()
    try:
        assert pool.wait_idle(30)
    finally:
        pool.stop()
    assert attempts == {f"d-{i:02d}": [1] for i in range(40)}
    assert store.counts() == {"done": 40}
