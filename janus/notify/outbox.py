"""The notification outbox: a persistent record of every event (its id is the dedupe key) and
of each (event, channel) delivery still to send, in the receiver's database (the same SQLite
file or PostgreSQL URL as its delivery store, in tables of its own: ``notify_events`` and
``notify_deliveries``).

One message per event, across replicas and restarts: an event id is inserted once (a second
insert, by another replica or after a restart, is a no-op), and a delivery is *claimed* under a
lease before it is sent (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a process lock on SQLite), so
two senders never send the same delivery at once. A sender that dies between sending and
recording the send leaves its lease to expire, and the delivery is sent again: at least once,
with the event id in every message (header or field) for the rare duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from janus import dbmigrate

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_notify"
LEASE_SECONDS = 60.0
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 600.0
# About a day of retries at the maximum backoff; then the delivery is given up (and logged).
MAX_ATTEMPTS = 150

metadata = MetaData()
events_table = Table(
    "notify_events", metadata,
    Column("id", String(400), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("request", String(300), nullable=False, default=""),
    # The deciding policy when the event knew it (a request opened): later events about the
    # same request, seen on the CR (which does not carry it), are routed by it too.
    Column("policy", String(200)),
    Column("created_at", Float, nullable=False),
)
deliveries_table = Table(
    "notify_deliveries", metadata,
    Column("id", String(500), primary_key=True),  # "<event id>|<channel>"
    Column("event_id", String(400), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | dropped
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", Float, nullable=False, default=0.0),
    Column("lease_owner", String(200)),
    Column("lease_expires", Float),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
)


@dataclass(frozen=True)
class Pending:
    id: str
    event_id: str
    channel: str
    payload: dict[str, Any]
    attempts: int


def backoff(attempts: int, first: float = BACKOFF_FIRST) -> float:
    """Seconds before attempt *attempts*+1: 2, 4, 8 … capped at ten minutes."""
    return min(BACKOFF_MAX, first * 2 ** max(0, attempts - 1))


def _engine(target: str | Path) -> Engine:
    text = str(target)
    url = text if "://" in text else f"sqlite:///{Path(text)}"
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


class Outbox:
    """Thread-safe. *target*: a SQLite file path or a database URL, shared by the replicas."""

    def __init__(self, target: str | Path, *, lease_seconds: float = LEASE_SECONDS,
                 owner: str | None = None, backoff_first: float = BACKOFF_FIRST) -> None:
        self.engine = _engine(target)
        self.backoff_first = backoff_first
        self.shared = self.engine.dialect.name != "sqlite"
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        # SQLite: one writer anyway; one lock avoids "database is locked" between our threads.
        self._lock = threading.Lock() if not self.shared else None
        # Tables of their own, under an Alembic environment of their own (janus/notify/migrations,
        # version table alembic_version_notify), upgraded at start like the delivery store's.
        dbmigrate.upgrade(self.engine, MIGRATIONS, VERSION_TABLE)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        if self._lock is None:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self._lock, self.engine.begin() as conn:
                yield conn

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.shared else sqlite
        return dialect.insert(table)

    def record(self, event_id: str, kind: str, request: str,
               deliveries: dict[str, dict[str, Any]], *, policy: str | None = None,
               now: float | None = None) -> bool:
        """Record an event and its deliveries (channel -> payload) in one transaction; False
        (and nothing queued) when the event id was recorded before, by anyone."""
        now = time.time() if now is None else now
        statement = self._insert(events_table).values(
            id=event_id, kind=kind, request=request, policy=policy, created_at=now,
        ).on_conflict_do_nothing(index_elements=["id"]).returning(events_table.c.id)
        with self._tx() as conn:
            if conn.execute(statement).first() is None:
                return False
            for channel, payload in deliveries.items():
                conn.execute(deliveries_table.insert().values(
                    id=f"{event_id}|{channel}", event_id=event_id, channel=channel,
                    payload=json.dumps(payload, sort_keys=True), state="pending", attempts=0,
                    not_before=0.0, created_at=now))
        return True

    def seen(self, event_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(events_table.c.id)
                                .where(events_table.c.id == event_id)).first() is not None

    def policy_of(self, request: str) -> str | None:
        """The policy recorded with the latest event about *request* that knew it."""
        e = events_table
        with self.engine.connect() as conn:
            row = conn.execute(select(e.c.policy).where(and_(
                e.c.request == request, e.c.policy.is_not(None)))
                .order_by(e.c.created_at.desc()).limit(1)).first()
        return None if row is None else row.policy

    def seen_prefix(self, prefix: str) -> bool:
        """Any event whose id starts with *prefix* (e.g. an earlier grant of the same CR)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self.engine.connect() as conn:
            return conn.execute(select(events_table.c.id).where(
                events_table.c.id.like(f"{escaped}%", escape="\\")).limit(1)).first() is not None

    def claim(self, *, now: float | None = None) -> Pending | None:
        """Take one due delivery under a lease (pending and due, or under an expired lease)."""
        now = time.time() if now is None else now
        t = deliveries_table
        due = and_(t.c.state == "pending", t.c.not_before <= now,
                   or_(t.c.lease_expires.is_(None), t.c.lease_expires < now))
        pick = select(t.c.id, t.c.event_id, t.c.channel, t.c.payload, t.c.attempts) \
            .where(due).order_by(t.c.created_at).limit(1)
        if self.shared:
            pick = pick.with_for_update(skip_locked=True)
        with self._tx() as conn:
            row = conn.execute(pick).first()
            if row is None:
                return None
            taken = conn.execute(update(t).where(and_(t.c.id == row.id, due)).values(
                lease_owner=self.owner, lease_expires=now + self.lease_seconds)
                .returning(t.c.id)).first()
            if taken is None:
                return None
        return Pending(row.id, row.event_id, row.channel, json.loads(row.payload), row.attempts)

    def sent(self, delivery_id: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        t = deliveries_table
        with self._tx() as conn:
            conn.execute(update(t).where(t.c.id == delivery_id).values(
                state="sent", sent_at=now, lease_owner=None, lease_expires=None,
                attempts=t.c.attempts + 1, last_error=None))

    def failed(self, delivery_id: str, error: str, *, now: float | None = None) -> str:
        """Record a failed attempt: due again after the backoff, or dropped after
        MAX_ATTEMPTS. Returns the new state."""
        now = time.time() if now is None else now
        t = deliveries_table
        with self._tx() as conn:
            row = conn.execute(select(t.c.attempts).where(t.c.id == delivery_id)).first()
            attempts = (row.attempts if row else 0) + 1
            state = "dropped" if attempts >= MAX_ATTEMPTS else "pending"
            conn.execute(update(t).where(t.c.id == delivery_id).values(
                state=state, attempts=attempts,
                not_before=now + backoff(attempts, self.backoff_first),
                lease_owner=None, lease_expires=None, last_error=error[:500]))
        return state

    def counts(self) -> dict[str, int]:
        """Deliveries per state (tests, metrics)."""
        t = deliveries_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.state, t.c.id)).all()
        out: dict[str, int] = {}
        for state, _ in rows:
            out[state] = out.get(state, 0) + 1
        return out

    def prune(self, keep: dt.timedelta, *, now: float | None = None) -> int:
        """Forget events (and their finished deliveries) older than *keep*; pending stay."""
        cutoff = (time.time() if now is None else now) - keep.total_seconds()
        d, e = deliveries_table, events_table
        with self._tx() as conn:
            old = select(e.c.id).where(e.c.created_at < cutoff)
            conn.execute(delete(d).where(and_(d.c.event_id.in_(old), d.c.state != "pending")))
            busy = select(d.c.event_id).where(d.c.state == "pending")
            result = conn.execute(delete(e).where(and_(e.c.created_at < cutoff,
                                                       e.c.id.not_in(busy))))
        return int(result.rowcount or 0)

    def close(self) -> None:
        self.engine.dispose()
