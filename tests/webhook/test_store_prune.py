"""The delivery store prunes finished deliveries by age and count; work not done is never lost."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from janus.webhook.store import DeliveryStore

DAY = 86400.0


def _finished(store: DeliveryStore, delivery_id: str, at: float, state: str = "done") -> None:
    store.add(delivery_id, "push", None, b"{}")
    with store.engine.begin() as conn:  # the finish time is the clock's; set the age under test
        conn.execute(text("UPDATE deliveries SET state=:s, finished_at=:at WHERE id=:id"),
                     {"s": state, "at": at, "id": delivery_id})


def test_prunes_finished_deliveries_past_the_retention(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    now = time.time()
    _finished(store, "old-done", now - 8 * DAY)
    _finished(store, "old-failed", now - 9 * DAY, state="failed")
    _finished(store, "recent", now - 1 * DAY)
    store.add("pending", "push", None, b"{}")  # never finished: stays whatever its age
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE deliveries SET received_at=:t WHERE id='pending'"),
                     {"t": now - 30 * DAY})
    assert store.prune(keep_seconds=7 * DAY, now=now) == 2
    assert store.state_of("old-done") is None and store.state_of("old-failed") is None
    assert store.state_of("recent") == "done"
    assert store.state_of("pending") == "pending"
    # A redelivery of a pruned id is stored again; of a kept one it is still a replay.
    assert store.add("recent", "push", None, b"{}") is False
    assert store.prune(keep_seconds=7 * DAY, now=now) == 0


def test_keeps_at_most_the_newest_finished_rows(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    now = time.time()
    for i in range(10):
        _finished(store, f"d-{i}", now - 100 + i)  # d-9 is the newest
    store.add("working", "push", None, b"{}")
    assert store.claim() is not None  # claimed: working, not finished
    assert store.prune(max_finished=3, now=now) == 7
    assert store.counts() == {"done": 3, "working": 1}
    assert {store.state_of(f"d-{i}") for i in (7, 8, 9)} == {"done"}


def test_the_receiver_prunes_periodically(tmp_path: Path, monkeypatch) -> None:
    from janus.webhook import runtime

    store = DeliveryStore(tmp_path / "d.sqlite")
    _finished(store, "old", time.time() - 30 * DAY)

    class Bare(runtime.Receiver):  # only the prune loop: no GitHub, no cluster, no servers
        def __init__(self) -> None:
            import threading

            self.settings = runtime.ReceiverSettings(secret=b"x" * 16, db_path=store.path,
                                                     prune_interval=0.05)
            self.store = store
            self._stop = threading.Event()
            self._threads = []

    receiver = Bare()
    receiver._spawn("janus-prune", receiver._prune_forever)
    deadline = time.monotonic() + 5
    while store.state_of("old") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    receiver._stop.set()
    receiver._threads[0].join(2)
    assert store.state_of("old") is None
    _finished(store, "old-2", time.time() - 30 * DAY)  # the loop has stopped: nothing pruned
    time.sleep(0.15)
    assert store.state_of("old-2") == "done"


def test_cli_exposes_the_retention() -> None:
    import argparse

    from janus.cli import webhook

    parser = argparse.ArgumentParser()
    webhook.register(parser.add_subparsers())
    args = parser.parse_args(["webhook", "--config", "c", "--repo", "o/r", "--secret-file", "s",
                              "--keep-deliveries-days", "3", "--keep-deliveries-max", "10"])
    assert (args.keep_deliveries_days, args.keep_deliveries_max) == (3.0, 10)



def test_acknowledgements_never_checkpoint_the_wal_the_workers_writes_do(
        tmp_path: Path) -> None:
    """SQLite's automatic checkpoint (an fsync inside whichever COMMIT crosses 1,000 WAL pages)
    is off: an acknowledgement's commit never pays for it. The store checkpoints after the
    workers' writes instead (PASSIVE, outside its write lock)."""
    from janus.webhook import store as store_module

    path = tmp_path / "d.sqlite"
    store = DeliveryStore(path)
    with sqlite3.connect(path) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    for i in range(store_module.CHECKPOINT_AT_MOST - 100):  # acknowledgements alone
        store.add(f"d-{i:05d}", "push", None, b"x" * 3000)
    frames = ((tmp_path / "d.sqlite-wal").stat().st_size - 32) // (24 + page)
    assert frames > 2000, frames  # SQLite alone would have checkpointed at 1,000 pages
    assert path.stat().st_size < 1_000_000  # the rows are in the WAL only
    claimed = store.claim_batch(10)
    store.finish_many([d.id for d in claimed])  # a worker's write: the checkpoint runs
    assert path.stat().st_size > 4000 * 3000  # copied into the database file
    store.close()
