"""Schema migrations (Alembic) from the schemas main made before Alembic, with data, on SQLite
and PostgreSQL: the rows are kept and the database ends at the newest revision.

The old schemas are copied here from main's code as it was (janus/webhook/store.py's raw SQLite
DDL, janus/web/db.py's ``create_all`` tables) so the test keeps meaning after that code changed.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    text,
)

from janus import dbmigrate
from janus.web import db as webdb
from janus.web.login_gate import IdentityPins
from janus.web.sessions import WebSessionStore
from janus.webhook import store as webhook_store
from janus.webhook.store import DeliveryStore

# The receiver's table before Alembic (main, raw SQLite through the stdlib; on PostgreSQL the
# same columns in its types, as an operator would have had to make them).
_OLD_DELIVERIES = """
CREATE TABLE IF NOT EXISTS deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    action      TEXT,
    body        {blob} NOT NULL,
    received_at {real} NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  {real} NOT NULL DEFAULT 0,
    error       TEXT,
    finished_at {real}
);
CREATE INDEX IF NOT EXISTS deliveries_todo ON deliveries (state, not_before, received_at);
"""


def _old_web_metadata() -> MetaData:
    """The web app's tables before Alembic, recordings without hash columns (main)."""
    metadata = MetaData()
    Table(
        "terminal_sessions", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("cr_name", String(253), nullable=False, index=True),
        Column("user", String(100), nullable=False, index=True),
        Column("cluster", String(63), nullable=False),
        Column("namespace", String(63), nullable=False),
        Column("pod", String(253), nullable=False),
        Column("container", String(63), nullable=False),
        Column("shell", String(32), nullable=True),
        Column("opened_at", DateTime(timezone=True), nullable=False),
        Column("closed_at", DateTime(timezone=True), nullable=True),
        Column("close_reason", String(32), nullable=True),
        Column("bytes_in", BigInteger, nullable=False, default=0),
        Column("bytes_out", BigInteger, nullable=False, default=0),
    )
    Table(
        "terminal_recording_chunks", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", Integer, ForeignKey("terminal_sessions.id"), nullable=False,
               index=True),
        Column("seq", Integer, nullable=False),
        Column("content", Text, nullable=False),
    )
    return metadata


def _heads(directory) -> str:  # type: ignore[no-untyped-def]
    return dbmigrate.head(directory)


def test_receiver_database_from_before_alembic_is_upgraded_with_its_deliveries(
        database_url: str) -> None:
    engine = create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    ddl = _OLD_DELIVERIES.format(blob="BYTEA" if postgres else "BLOB",
                                 real="DOUBLE PRECISION" if postgres else "REAL")
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.execute(text(statement))
        rows = [("done-1", "done", 1, 100.0), ("pending-1", "pending", 0, None),
                ("working-1", "working", 1, None)]  # held by a receiver that is gone
        for delivery_id, state, attempts, finished in rows:
            conn.execute(text(
                "INSERT INTO deliveries (id, event, action, body, received_at, state, attempts,"
                " finished_at) VALUES (:id, 'push', NULL, :body, 1.0, :state, :attempts, :f)"),
                {"id": delivery_id, "body": b'{"old": true}', "state": state,
                 "attempts": attempts, "f": finished})
    engine.dispose()
    assert dbmigrate.current(create_engine(database_url),
                             webhook_store.VERSION_TABLE) is None

    store = DeliveryStore(database_url, owner="new")
    assert dbmigrate.current(store.engine, webhook_store.VERSION_TABLE) == _heads(
        webhook_store.MIGRATIONS)
    columns = {c["name"] for c in inspect(store.engine).get_columns("deliveries")}
    assert {"lease_owner", "lease_expires"} <= columns
    assert "deliveries_finished" in {i["name"] for i in inspect(store.engine)
                                     .get_indexes("deliveries")}
    assert store.counts() == {"done": 1, "pending": 2}  # the orphaned claim is due again
    assert store.add("done-1", "push", None, b"{}") is False  # still recognised as a replay
    taken = [store.claim(), store.claim()]
    assert {d.id for d in taken if d} == {"pending-1", "working-1"}
    assert {d.body for d in taken if d} == {b'{"old": true}'}
    store.close()
    # Opening again (a restart, another replica) is a no-op upgrade.
    again = DeliveryStore(database_url)
    # SQLite (one replica) takes back what the last process held; PostgreSQL waits for leases.
    held = "working" if postgres else "pending"
    assert again.counts() == {held: 2, "done": 1}


def test_web_database_from_before_alembic_is_upgraded_with_its_sessions(
        database_url: str) -> None:
    engine = webdb.make_engine(database_url)
    old = _old_web_metadata()
    old.create_all(engine)
    opened = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        session_id = conn.execute(insert(old.tables["terminal_sessions"]).values(
            cr_name="ar-1", user="alice", cluster="c1", namespace="ns", pod="p", container="c",
            opened_at=opened, bytes_in=3, bytes_out=5)).inserted_primary_key[0]
        conn.execute(insert(old.tables["terminal_recording_chunks"]).values(
            session_id=session_id, seq=0, content='{"version": 2}\n'))

    webdb.create_tables(engine)

    assert dbmigrate.current(engine, webdb.VERSION_TABLE) == _heads(webdb.MIGRATIONS)
    store = webdb.SessionStore(engine)
    row = store.get(session_id)
    assert row is not None and (row.user, row.bytes_out) == ("alice", 5)
    assert webdb.as_utc(row.opened_at) == opened
    assert row.recording_sha256 is None  # the new columns, empty for old rows
    assert store.recording(session_id) == '{"version": 2}\n'
    # The new tables work: a login session and an identity pin.
    sessions = WebSessionStore(engine)
    sid = sessions.create(login="alice", name="Alice", max_age_seconds=60, github_id=7)
    assert sessions.get(sid) is not None
    assert IdentityPins(engine).pin("Alice", 7) == 7
    # New rows get the new columns.
    new_id = store.open_session(cr_name="ar-2", user="bob", cluster="c1", namespace="ns",
                                pod="p", container="c")
    store.append_recording(new_id, 0, "x\n", sha256="ab" * 32, size=2)
    assert store.get(new_id).recording_sha256 == "ab" * 32  # type: ignore[union-attr]
    webdb.create_tables(engine)  # a restart: nothing to do
    assert store.count() == 2


def test_web_database_of_main_just_before_alembic_is_adopted(database_url: str) -> None:
    """main after the hash columns and login tables, before Alembic: every table present, no
    version table. The revisions add nothing twice."""
    engine = webdb.make_engine(database_url)
    webdb.metadata.create_all(engine)
    sessions = WebSessionStore(engine)
    sid = sessions.create(login="carol", name="Carol", max_age_seconds=60)
    webdb.create_tables(engine)
    assert dbmigrate.current(engine, webdb.VERSION_TABLE) == _heads(webdb.MIGRATIONS)
    assert sessions.get(sid) is not None


def test_both_stores_can_share_one_database(database_url: str) -> None:
    """Separate version tables: the web app and the receiver may be given the same database."""
    engine = webdb.make_engine(database_url)
    webdb.create_tables(engine)
    store = DeliveryStore(database_url)
    assert dbmigrate.current(engine, webdb.VERSION_TABLE) == _heads(webdb.MIGRATIONS)
    assert dbmigrate.current(store.engine, webhook_store.VERSION_TABLE) == _heads(
        webhook_store.MIGRATIONS)


def test_replicas_starting_together_migrate_once(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Six processes (three web apps, three receivers) upgrading one fresh PostgreSQL database
    at the same moment: the advisory lock makes them take turns; all succeed, at head."""
    import subprocess
    import sys

    go = tmp_path / "go"
    code = """
import os, sys, time
from pathlib import Path
url, kind, go = sys.argv[1:4]
from janus.web import db
from janus.webhook.store import DeliveryStore
while not Path(go).exists():
    time.sleep(0.005)
if kind == "web":
    db.create_tables(db.make_engine(url))
else:
    DeliveryStore(url).close()
"""
    procs = [subprocess.Popen([sys.executable, "-c", code, postgres_url, kind, str(go)],
                              stderr=subprocess.PIPE, text=True)
             for kind in ("web", "receiver") * 3]
    time.sleep(2)  # let every process import and wait at the start line
    go.touch()
    results = [(p.wait(120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _err in results] == [0] * 6, [err[-800:] for _c, err in results]
    engine = create_engine(postgres_url)
    assert dbmigrate.current(engine, webdb.VERSION_TABLE) == _heads(webdb.MIGRATIONS)
    assert dbmigrate.current(engine, webhook_store.VERSION_TABLE) == _heads(
        webhook_store.MIGRATIONS)
    engine.dispose()


def test_upgrades_in_one_process_take_turns(postgres_url: str) -> None:
    """Alembic's context is process-global: threads of one process upgrading at once (a web
    app and its terminal runtime, say) must not trip over each other."""
    import threading

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def upgrade() -> None:
        engine = webdb.make_engine(postgres_url)
        try:
            barrier.wait()
            webdb.create_tables(engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
