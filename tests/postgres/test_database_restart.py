"""The receiver's workers survive a PostgreSQL restart: while the server is away they wait and
retry (no worker thread dies), and every delivery stored before and after is processed once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from janus.dev.postgres import LocalPostgres, PostgresMissing
from janus.webhook.store import Delivery, DeliveryStore
from janus.webhook.worker import WorkerPool

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_server(postgres_server: LocalPostgres):  # type: ignore[no-untyped-def]
    """A server of its own: restarting the session's would disturb other tests' connections."""
    try:
        server = LocalPostgres.start()
    except PostgresMissing as exc:  # pragma: no cover - postgres_server already checked
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


def test_workers_wait_out_a_database_restart(own_server: LocalPostgres) -> None:
    store = DeliveryStore(own_server.create_database("restart"), lease_seconds=5)
    handled: Counter[str] = Counter()
    lock = threading.Lock()

    def handle(delivery: Delivery) -> None:
        with lock:
            handled[delivery.id] += 1
        time.sleep(0.02)

    pool = WorkerPool(store, handle, workers=2).start()
    try:
        for i in range(20):
            store.add(f"before-{i}", "push", None, b"{}")
            pool.wake()
        own_server.restart()  # some were in hand: their outcome waits for the database
        for i in range(20):
            store.add(f"after-{i}", "push", None, b"{}")
            pool.wake()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and store.counts() != {"done": 40}:
            time.sleep(0.1)
        assert store.counts() == {"done": 40}
        assert all(thread.is_alive() for thread in pool._threads)
        assert set(handled) == {f"{p}-{i}" for p in ("before", "after") for i in range(20)}
        # A delivery whose outcome could not be written across the restart may be handled a
        # second time after its lease; nothing is handled more than twice, nothing lost.
        assert max(handled.values()) <= 2
    finally:
        pool.stop()
        store.close()
