"""A small durable queue of deliveries in SQLite (stdlib), deduplicated on ``X-GitHub-Delivery``.

GitHub does not redeliver on its own, and a receiver that crashes after answering 202 must not
lose the event, so the delivery is committed before the answer. A redelivery carries the same
delivery id and is ignored here; the effects are idempotent anyway (deterministic CR names,
comments found by marker), so this table only avoids doing the work twice.

States: ``pending`` (to do, possibly after ``not_before``), ``working`` (claimed by a worker;
reset to pending at start-up, since the process that claimed it is gone), ``done``, ``failed``
(gave up after the retry budget; reconcile still covers merges).

Finished deliveries (``done``, ``failed``) are pruned by :meth:`DeliveryStore.prune`, which the
receiver calls periodically: older than the retention (7 days by default, past GitHub's 3-day
redelivery window, so a redelivery is still recognised) or beyond the newest *max_finished*
rows. Pending and working rows are never pruned: they are work not yet done.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    action      TEXT,
    body        BLOB NOT NULL,
    received_at REAL NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL DEFAULT 0,
    error       TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_todo ON deliveries (state, not_before, received_at);
CREATE INDEX IF NOT EXISTS deliveries_finished ON deliveries (finished_at)
    WHERE finished_at IS NOT NULL;
"""

# Defaults of the receiver's pruning (janus webhook --keep-deliveries-days/--keep-deliveries-max).
KEEP_DAYS = 7.0
KEEP_MAX = 100_000


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    action: str | None
    body: bytes
    attempts: int


class DeliveryStore:
    """Thread-safe; one connection guarded by a lock (writes are tiny, SQLite serialises them)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; only an OS crash can lose the last commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._lock:
            self._db.execute("UPDATE deliveries SET state='pending' WHERE state='working'")

    def add(self, delivery_id: str, event: str, action: str | None, body: bytes) -> bool:
        """Persist a delivery; False when this delivery id was seen before (a replay)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, action, body, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (delivery_id, event, action, body, time.time()),
            )
            return cur.rowcount == 1

    def ping(self) -> None:
        """Raise unless the database answers a query (the receiver's readiness check)."""
        with self._lock:
            self._db.execute("SELECT 1 FROM deliveries LIMIT 1").fetchall()

    def claim(self) -> Delivery | None:
        """Take the oldest due pending delivery, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, event, action, body, attempts FROM deliveries"
                " WHERE state='pending' AND not_before <= ? ORDER BY received_at LIMIT 1",
                (time.time(),),
            ).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE deliveries SET state='working', attempts=attempts+1 WHERE id=?", (row[0],)
            )
            return Delivery(row[0], row[1], row[2], bytes(row[3]), row[4] + 1)

    def finish(self, delivery_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state='done', error=NULL, finished_at=? WHERE id=?",
                (time.time(), delivery_id),
            )

    def retry_later(self, delivery_id: str, error: str, delay: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state='pending', error=?, not_before=? WHERE id=?",
                (error[:2000], time.time() + delay, delivery_id),
            )

    def fail(self, delivery_id: str, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state='failed', error=?, finished_at=? WHERE id=?",
                (error[:2000], time.time(), delivery_id),
            )

    def state_of(self, delivery_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM deliveries WHERE id=?", (delivery_id,)
            ).fetchone()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM deliveries GROUP BY state"
            ).fetchall()
        return {state: n for state, n in rows}

    def next_due_in(self) -> float | None:
        """Seconds until the next pending delivery is due (0 if now), None if none pending."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(not_before) FROM deliveries WHERE state='pending'"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, row[0] - time.time())

    def prune(self, *, keep_seconds: float = KEEP_DAYS * 86400, max_finished: int = KEEP_MAX,
              now: float | None = None) -> int:
        """Delete finished deliveries older than *keep_seconds* or beyond the newest
        *max_finished*; return how many rows went. Pending and working rows stay."""
        cutoff = (time.time() if now is None else now) - keep_seconds
        with self._lock:
            old = self._db.execute(
                "DELETE FROM deliveries WHERE state IN ('done', 'failed')"
                " AND finished_at IS NOT NULL AND finished_at < ?",
                (cutoff,),
            ).rowcount
            surplus = self._db.execute(
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
                " WHERE state IN ('done', 'failed') AND finished_at IS NOT NULL"
                " ORDER BY finished_at DESC LIMIT -1 OFFSET ?)",
                (max(0, max_finished),),
            ).rowcount
        return old + surplus

    def close(self) -> None:
        with self._lock:
            self._db.close()
