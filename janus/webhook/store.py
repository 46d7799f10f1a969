"""A small durable queue of deliveries, deduplicated on ``X-GitHub-Delivery``: SQLite (a file,
one replica; the default) or PostgreSQL (several replicas sharing one database), through
SQLAlchemy. The schema is Alembic's (``janus/webhook/migrations``), upgraded when a store opens.

GitHub does not redeliver on its own, and a receiver that crashes after answering 202 must not
lose the event, so the delivery is committed before the answer. A redelivery carries the same
delivery id and is ignored here; the effects are idempotent anyway (deterministic CR names,
comments found by marker), so this table only avoids doing the work twice.

States: ``pending`` (to do, possibly after ``not_before``), ``working`` (claimed by a worker of
one replica, under a lease), ``done``, ``failed`` (gave up after the retry budget; reconcile still
covers merges).

Exactly-once claiming across replicas: a claim is one ``UPDATE … WHERE id = (SELECT … LIMIT 1)``
that marks the row ``working`` with this replica as ``lease_owner`` until ``lease_expires``. On
PostgreSQL the inner SELECT is ``FOR UPDATE SKIP LOCKED``, so concurrent claimers take different
rows without waiting on each other; on SQLite the statement holds the database's single write
lock, so claims are serialised. A replica renews the leases of what it holds
(:meth:`DeliveryStore.renew_leases`); when it dies its rows become claimable again once their
leases expire. On SQLite (one replica by construction) rows left ``working`` by the previous
process are due again at once when the store opens.

Finished deliveries (``done``, ``failed``) are pruned by :meth:`DeliveryStore.prune`, which the
receiver calls periodically: older than the retention (7 days by default, past GitHub's 3-day
redelivery window, so a redelivery is still recognised) or beyond the newest *max_finished*
rows. Pending and working rows are never pruned: they are work not yet done.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from janus import dbmigrate

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_webhook"

# Defaults of the receiver's pruning (janus webhook --keep-deliveries-days/--keep-deliveries-max).
KEEP_DAYS = 7.0
KEEP_MAX = 100_000
# How long a claim holds without renewal (janus webhook --lease-seconds). The holder renews every
# third of it; a replica that dies leaves its deliveries to the others after at most this long.
LEASE_SECONDS = 60.0
# SQLite: write transactions between two checkpoints of the WAL into the database file. SQLite's
# own automatic checkpoint runs inside the COMMIT that crosses its threshold, with an fsync:
# under a burst that COMMIT is an acknowledgement's, and every request in flight waited for it
# (stalls of ~200 ms on a busy disk). The store checkpoints itself instead, outside its write
# lock and after the workers' writes (PASSIVE: writers go on meanwhile).
CHECKPOINT_EVERY = 200
# ... and if no worker writes (a store that only receives), the acknowledgements do, this late.
CHECKPOINT_AT_MOST = 5000

metadata = MetaData()

# The table as the migrations make it (this copy is what the queries are built from).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("event", String(64), nullable=False),
    Column("action", String(64), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("not_before", Float, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires", Float, nullable=True),
)

_FINISHED = ("done", "failed")


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    action: str | None
    body: bytes
    attempts: int


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL for *target*: a URL as it is, anything else a SQLite file path."""
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text)}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash; only an OS crash can lose the last
            # commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class DeliveryStore:
    """Thread-safe. *target*: a SQLite file path or a database URL (``postgresql+psycopg://…``).

    *owner* names this replica in the leases it takes (default: host, pid and a random suffix).
    """

    def __init__(self, target: str | Path, *, lease_seconds: float = LEASE_SECONDS,
                 owner: str | None = None) -> None:
        self.url = database_url(target)
        # The SQLite file (tests and the receiver's settings pass it on); None for a server.
        self.path: str | None = None if "://" in str(target) else str(target)
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.engine = make_engine(self.url)
        self.shared = self.engine.dialect.name != "sqlite"
        # SQLite has one writer at a time anyway; one lock here avoids "database is locked"
        # retries between this process's own threads.
        self._lock = threading.Lock() if not self.shared else None
        self._closed = False
        self._commits = 0  # SQLite write transactions since the last checkpoint
        if not self.shared:
            event.listen(self.engine, "connect", _no_autocheckpoint)
        dbmigrate.upgrade(self.engine, MIGRATIONS, VERSION_TABLE)
        self._statements = _Statements.build(postgresql if self.shared else sqlite,
                                             skip_locked=self.shared)
        if not self.shared:
            # One replica by construction: whatever the previous process held is due now.
            with self._writing() as conn:
                conn.execute(update(deliveries).where(deliveries.c.state == "working")
                             .values(state="pending", lease_owner=None, lease_expires=None))

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction (serialised within the process on SQLite)."""
        if self._closed:
            raise RuntimeError("the delivery store is closed")
        if self._lock is None:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self._lock, self.engine.begin() as conn:
                yield conn
            self._commits += 1

    def checkpoint(self, at_least: int = CHECKPOINT_EVERY) -> bool:
        """SQLite: copy the WAL into the database file once *at_least* write transactions
        were committed since the last time (PASSIVE, outside the write lock: writers are not
        held up). True when it ran. Nothing to do on PostgreSQL."""
        if self._lock is None or self._commits < at_least or self._closed:
            return False
        self._commits = 0
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
        return True

    def add(self, delivery_id: str, event: str, action: str | None, body: bytes) -> bool:
        """Persist a delivery; False when this delivery id was seen before (a replay)."""
        return self.add_many([(delivery_id, event, action, body)])[0]

    def add_many(self, rows: Sequence[tuple[str, str, str | None, bytes]]) -> list[bool]:
        """Persist deliveries ``(id, event, action, body)`` in one transaction, one commit (the
        receiver's group commit, ``janus/webhook/group_commit.py``); per row, False when its id
        was seen before, earlier in *rows* included. All or none are stored."""
        now = time.time()
        # RETURNING rather than rowcount, which psycopg leaves at -1 for ON CONFLICT DO NOTHING.
        with self._writing() as conn:
            fresh = [conn.execute(self._statements.add,
                                  {"id": delivery_id, "event": event, "action": action,
                                   "body": body, "received_at": now}).first() is not None
                     for delivery_id, event, action, body in rows]
        self.checkpoint(CHECKPOINT_AT_MOST)  # normally the workers' (finish_many)
        return fresh

    def ping(self) -> None:
        """Raise unless the database answers a query (the receiver's readiness check)."""
        with self._connect() as conn:
            conn.execute(select(deliveries.c.id).limit(1)).all()

    def claim(self) -> Delivery | None:
        """Take a due delivery, or None: first one whose holder's lease ran out (a replica that
        died; few rows, and they must not starve behind new work), else the oldest pending."""
        now = time.time()
        params = {"now": now, "by": self.owner, "until": now + self.lease_seconds}
        statements = self._statements
        # Two single-condition statements rather than one OR: each is served by the index on
        # (state, not_before, received_at), where an OR would scan every finished row kept.
        with self._connect() as conn:  # a read first: the common case has nothing expired
            expired = conn.execute(statements.any_expired, {"now": now}).first() is not None
        with self._writing() as conn:
            row = expired and conn.execute(statements.claim_expired, params).first()
            if not row:
                row = conn.execute(statements.claim_due, params).first()
        if not row:
            return None
        return Delivery(row[0], row[1], row[2], bytes(row[3]), row[4])

    def claim_batch(self, limit: int) -> list[Delivery]:
        """Take up to *limit* due deliveries in one transaction, oldest first (expired leases
        before new work, as in :meth:`claim`). The workers' path: under a burst one claim
        per delivery was one write transaction per delivery behind the same write lock as
        the acknowledgements (docs/development.md, webhook ack under a burst)."""
        now = time.time()
        params = {"now": now, "by": self.owner, "until": now + self.lease_seconds,
                  "n": max(1, limit)}
        statements = self._statements
        with self._connect() as conn:
            expired = conn.execute(statements.any_expired, {"now": now}).first() is not None
        with self._writing() as conn:
            rows = conn.execute(statements.claim_expired_batch, params).all() if expired else []
            if not rows:
                rows = conn.execute(statements.claim_due_batch, params).all()
        rows = sorted(rows, key=lambda row: row[5])  # RETURNING's order is unspecified
        return [Delivery(row[0], row[1], row[2], bytes(row[3]), row[4]) for row in rows]

    def due_count(self) -> int:
        """How many pending deliveries are due now (a read: the workers size their claims)."""
        with self._connect() as conn:
            return int(conn.execute(self._statements.due_count, {"now": time.time()}).scalar()
                       or 0)

    def finish_many(self, delivery_ids: Sequence[str]) -> None:
        """:meth:`finish` for several deliveries, in one transaction."""
        if not delivery_ids:
            return
        at = time.time()
        with self._writing() as conn:
            conn.execute(self._statements.finish,
                         [{"delivery": d, "at": at, "by": self.owner} for d in delivery_ids])
        self.checkpoint()

    def release(self, delivery_ids: Sequence[str]) -> None:
        """Hand claimed deliveries back untried: due again at once, their claim's attempt
        given back (a worker that held a batch longer than its share)."""
        if not delivery_ids:
            return
        with self._writing() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id.in_(list(delivery_ids)))
                         .where(deliveries.c.lease_owner == self.owner)
                         .where(deliveries.c.state == "working")
                         .values(state="pending", attempts=deliveries.c.attempts - 1,
                                 lease_owner=None, lease_expires=None))

    def renew_leases(self) -> int:
        """Extend the leases of every delivery this replica holds; how many it holds."""
        with self._writing() as conn:
            return conn.execute(
                update(deliveries)
                .where(deliveries.c.state == "working")
                .where(deliveries.c.lease_owner == self.owner)
                .values(lease_expires=time.time() + self.lease_seconds)
            ).rowcount

    def release_held(self) -> int:
        """Hand back every delivery this replica still holds (a clean stop): due again at once
        for the other replicas, instead of after the lease. How many were released."""
        with self._writing() as conn:
            return len(conn.execute(
                update(deliveries)
                .where(deliveries.c.state == "working")
                .where(deliveries.c.lease_owner == self.owner)
                .values(state="pending", lease_owner=None, lease_expires=None)
                .returning(deliveries.c.id)
            ).all())

    def finish(self, delivery_id: str) -> None:
        """Done; the row keeps the replica that finished it (``lease_owner``)."""
        with self._writing() as conn:
            conn.execute(self._statements.finish,
                         {"delivery": delivery_id, "at": time.time(), "by": self.owner})
        self.checkpoint()

    def retry_later(self, delivery_id: str, error: str, delay: float, *,
                    count_attempt: bool = True) -> None:
        """Back to pending, due in *delay* seconds. ``count_attempt=False`` gives back the
        attempt its claim took: a delivery put back for a GitHub rate limit was not tried, so
        waiting for GitHub does not use up its retries (``janus/webhook/worker.py``)."""
        # Only while this replica still holds it: another replica that took over an expired
        # lease owns the delivery's fate now.
        values: dict[str, Any] = {"state": "pending", "error": error[:2000],
                                  "not_before": time.time() + delay, "lease_owner": None,
                                  "lease_expires": None}
        if not count_attempt:
            # Held by this replica, so its claim counted one (attempts >= 1).
            values["attempts"] = deliveries.c.attempts - 1
        with self._writing() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id)
                         .where(deliveries.c.lease_owner == self.owner).values(**values))

    def fail(self, delivery_id: str, error: str) -> None:
        with self._writing() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id)
                         .where(deliveries.c.lease_owner == self.owner).values(
                state="failed", error=error[:2000], finished_at=time.time(),
                lease_expires=None))

    def state_of(self, delivery_id: str) -> str | None:
        with self._connect() as conn:
            state = conn.execute(select(deliveries.c.state)
                                 .where(deliveries.c.id == delivery_id)).scalar()
        return None if state is None else str(state)

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute(select(deliveries.c.state, func.count())
                                .group_by(deliveries.c.state)).all()
        return {str(state): int(n) for state, n in rows}

    def next_due_in(self) -> float | None:
        """Seconds until the next delivery is due (0 if now): a pending one, or one another
        replica holds whose lease runs out then. None if nothing is pending or held."""
        with self._connect() as conn:
            pending = conn.execute(select(func.min(deliveries.c.not_before))
                                   .where(deliveries.c.state == "pending")).scalar()
            held = conn.execute(select(func.min(deliveries.c.lease_expires))
                                .where(deliveries.c.state == "working")
                                .where(deliveries.c.lease_owner != self.owner)).scalar()
        due = [t for t in (pending, held) if t is not None]
        if not due:
            return None
        return max(0.0, min(due) - time.time())

    def prune(self, *, keep_seconds: float = KEEP_DAYS * 86400, max_finished: int = KEEP_MAX,
              now: float | None = None) -> int:
        """Delete finished deliveries older than *keep_seconds* or beyond the newest
        *max_finished*; return how many rows went. Pending and working rows stay."""
        cutoff = (time.time() if now is None else now) - keep_seconds
        finished = and_(deliveries.c.state.in_(_FINISHED), deliveries.c.finished_at.isnot(None))
        with self._writing() as conn:
            old = conn.execute(delete(deliveries).where(finished)
                               .where(deliveries.c.finished_at < cutoff)).rowcount
            surplus_ids = (select(deliveries.c.id).where(finished)
                           .order_by(deliveries.c.finished_at.desc())
                           .offset(max(0, max_finished)))
            surplus = conn.execute(delete(deliveries).where(
                deliveries.c.id.in_(surplus_ids.scalar_subquery()))).rowcount
        return int(old) + int(surplus)

    def close(self) -> None:
        """Release the connections; the store answers nothing afterwards (ping raises)."""
        self._closed = True
        self.engine.dispose()

    def _connect(self) -> Connection:
        if self._closed:
            raise RuntimeError("the delivery store is closed")
        return self.engine.connect()


def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
    """SQLite's automatic checkpoint off: :meth:`DeliveryStore.checkpoint` does it."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


@dataclass(frozen=True)
class _Statements:
    """The statements of the hot path (store, claim, finish), built once: constructing a
    SQLAlchemy statement per call cost more than executing it on SQLite."""

    add: Any
    any_expired: Any
    claim_expired: Any
    claim_due: Any
    claim_expired_batch: Any
    claim_due_batch: Any
    due_count: Any
    finish: Any

    @classmethod
    def build(cls, dialect: Any, *, skip_locked: bool) -> _Statements:
        now = bindparam("now", type_=Float)
        expired = and_(deliveries.c.state == "working", deliveries.c.lease_expires < now)
        due = and_(deliveries.c.state == "pending", deliveries.c.not_before <= now)
        add = (dialect.insert(deliveries)
               .values(id=bindparam("id"), event=bindparam("event"),
                       action=bindparam("action"), body=bindparam("body"),
                       received_at=bindparam("received_at"), state="pending", attempts=0,
                       not_before=0.0)
               .on_conflict_do_nothing(index_elements=["id"])
               .returning(deliveries.c.id))
        finish = (update(deliveries).where(deliveries.c.id == bindparam("delivery"))
                  .values(state="done", error=None, finished_at=bindparam("at"),
                          lease_owner=bindparam("by"), lease_expires=None))
        return cls(add=add, any_expired=select(deliveries.c.id).where(expired).limit(1),
                   claim_expired=_claim(expired, skip_locked), claim_due=_claim(due, skip_locked),
                   claim_expired_batch=_claim_batch(expired, skip_locked),
                   claim_due_batch=_claim_batch(due, skip_locked),
                   due_count=select(func.count()).select_from(deliveries).where(due),
                   finish=finish)


def _claim(condition: ColumnElement[bool], skip_locked: bool) -> Any:
    """Mark the oldest row matching *condition* working under this replica's lease, returning it
    (one statement: atomic on SQLite, SKIP LOCKED between concurrent claimers on PostgreSQL)."""
    pick = select(deliveries.c.id).where(condition).order_by(deliveries.c.received_at).limit(1)
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(deliveries)
        .where(deliveries.c.id == pick.scalar_subquery())
        .where(condition)  # re-checked on the row actually updated
        .values(state="working", attempts=deliveries.c.attempts + 1,
                lease_owner=bindparam("by"), lease_expires=bindparam("until", type_=Float))
        .returning(deliveries.c.id, deliveries.c.event, deliveries.c.action,
                   deliveries.c.body, deliveries.c.attempts)
    )


def _claim_batch(condition: ColumnElement[bool], skip_locked: bool) -> Any:
    """:func:`_claim` for up to ``:n`` rows (the oldest), returning ``received_at`` too so the
    caller can order them."""
    pick = (select(deliveries.c.id).where(condition).order_by(deliveries.c.received_at)
            .limit(bindparam("n", type_=Integer)))
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(deliveries)
        .where(deliveries.c.id.in_(pick.scalar_subquery()))
        .where(condition)
        .values(state="working", attempts=deliveries.c.attempts + 1,
                lease_owner=bindparam("by"), lease_expires=bindparam("until", type_=Float))
        .returning(deliveries.c.id, deliveries.c.event, deliveries.c.action,
                   deliveries.c.body, deliveries.c.attempts, deliveries.c.received_at)
    )
