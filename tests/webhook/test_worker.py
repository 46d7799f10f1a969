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
