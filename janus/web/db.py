"""Session audit storage: one row per terminal session, its asciicast recording in chunks.

SQLAlchemy 2.x Core, so the same code runs on SQLite (the default, one replica) and PostgreSQL
(several replicas share one database). The schema is Alembic's (``janus/web/migrations``),
upgraded to the newest revision when the app starts; the tables below mirror it.

Recordings are stored as ordered chunks of asciicast v2 lines rather than one growing blob: a
session appends a chunk about once a second, which costs one INSERT instead of rewriting the
whole recording, and a crash loses at most the last second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)

from janus import dbmigrate

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_web"

metadata = MetaData()

terminal_sessions = Table(
    "terminal_sessions",
    metadata,
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
    # The recording as stored (the asciicast document served by /cast): SHA-256 and size in
    # bytes, updated with every chunk in the same transaction (the ledger publishes the hash).
    Column("recording_sha256", String(64), nullable=True),
    Column("recording_bytes", BigInteger, nullable=True),
    Column("records_input", Boolean, nullable=True),
    # Set when the retention cleanup deleted the recording; the row (and its hash) stays.
    Column("recording_deleted_at", DateTime(timezone=True), nullable=True),
)

recording_chunks = Table(
    "terminal_recording_chunks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "session_id", Integer, ForeignKey("terminal_sessions.id"), nullable=False, index=True
    ),
    Column("seq", Integer, nullable=False),
    # asciicast v2 lines, newline-terminated; the header is chunk 0.
    Column("content", Text, nullable=False),
)


# Login sessions of the web app (issue 11 item 7): the cookie carries only a random session id;
# this row is what makes it worth anything. Keyed by the id's SHA-256, so a copy of the table
# (a backup, a replica) holds no usable cookie. Logout and expiry delete the row.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("login", String(39), nullable=False, index=True),
    # GitHub's numeric user id when the login mode knows it (GitHub OAuth): a login can be
    # renamed and reclaimed by someone else, the id cannot.
    Column("github_id", BigInteger, nullable=True),
    Column("name", String(255), nullable=False),
    # The user's own GitHub OAuth token, Fernet-sealed with a key derived from the session secret.
    Column("github_token", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    # When membership of the allowed organizations/teams was last confirmed with GitHub.
    Column("verified_at", DateTime(timezone=True), nullable=False),
)


# Which GitHub account each login belonged to when Janus first saw it (issue 11 item 6). GitHub
# lets a login be renamed and then registered by someone else; a login seen again with another
# id is such a reclaimed login and inherits nothing (janus.web.login_gate).
github_identities = Table(
    "github_identities",
    metadata,
    Column("login", String(39), primary_key=True),  # lower-case
    Column("github_id", BigInteger, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class SessionRow:
    id: int
    cr_name: str
    user: str
    cluster: str
    namespace: str
    pod: str
    container: str
    shell: str | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str | None
    bytes_in: int
    bytes_out: int
    recording_sha256: str | None = None
    recording_bytes: int | None = None
    records_input: bool | None = None
    recording_deleted_at: dt.datetime | None = None


def make_engine(database_url: str) -> Engine:
    """An engine for *database_url*; SQLite gets settings that suit a threaded web server."""
    if database_url.startswith("sqlite"):
        return create_engine(
            database_url, connect_args={"check_same_thread": False, "timeout": 30}
        )
    return create_engine(database_url, pool_pre_ping=True)


def create_tables(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (janus/web/migrations): a new database
    gets every table, one made by an earlier version is upgraded in place, its rows kept."""
    dbmigrate.upgrade(engine, MIGRATIONS, VERSION_TABLE)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class SessionStore:
    """The audit operations the terminal needs. Blocking: call from a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_session(
        self, *, cr_name: str, user: str, cluster: str, namespace: str, pod: str, container: str
    ) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(terminal_sessions).values(
                    cr_name=cr_name,
                    user=user,
                    cluster=cluster,
                    namespace=namespace,
                    pod=pod,
                    container=container,
                    opened_at=now(),
                    bytes_in=0,
                    bytes_out=0,
                )
            )
            key = result.inserted_primary_key
            if key is None:  # only for a table without a primary key
                raise RuntimeError("terminal_sessions returned no primary key")
            return int(key[0])

    def set_shell(self, session_id: int, shell: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(terminal_sessions)
                .where(terminal_sessions.c.id == session_id)
                .values(shell=shell)
            )

    def close_session(self, session_id: int, reason: str, bytes_in: int, bytes_out: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(terminal_sessions)
                .where(terminal_sessions.c.id == session_id)
                .where(terminal_sessions.c.closed_at.is_(None))
                .values(
                    closed_at=now(), close_reason=reason, bytes_in=bytes_in, bytes_out=bytes_out
                )
            )

    def append_recording(
        self,
        session_id: int,
        seq: int,
        content: str,
        *,
        sha256: str | None = None,
        size: int | None = None,
    ) -> None:
        """Store one chunk and, in the same transaction, the SHA-256 and size of the whole
        recording so far (so the stored hash always matches the stored chunks)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(recording_chunks).values(session_id=session_id, seq=seq, content=content)
            )
            if sha256 is not None:
                conn.execute(
                    update(terminal_sessions)
                    .where(terminal_sessions.c.id == session_id)
                    .values(recording_sha256=sha256, recording_bytes=size)
                )

    def set_records_input(self, session_id: int, records_input: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(terminal_sessions)
                .where(terminal_sessions.c.id == session_id)
                .values(records_input=records_input)
            )

    def delete_recordings_before(self, cutoff: dt.datetime) -> int:
        """Retention: delete the recordings of sessions that ended (or, never closed by a
        replica that died, began) before *cutoff*. The session rows and their hashes stay.
        Returns how many recordings were deleted."""
        ended = func.coalesce(terminal_sessions.c.closed_at, terminal_sessions.c.opened_at)
        with self.engine.begin() as conn:
            ids = [
                row.id
                for row in conn.execute(
                    select(terminal_sessions.c.id)
                    .where(ended < cutoff)
                    .where(terminal_sessions.c.recording_deleted_at.is_(None))
                )
            ]
            if not ids:
                return 0
            conn.execute(delete(recording_chunks).where(recording_chunks.c.session_id.in_(ids)))
            conn.execute(
                update(terminal_sessions)
                .where(terminal_sessions.c.id.in_(ids))
                .values(recording_deleted_at=now())
            )
            return len(ids)

    def recording(self, session_id: int) -> str:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(recording_chunks.c.content)
                .where(recording_chunks.c.session_id == session_id)
                .order_by(recording_chunks.c.seq)
            )
            return "".join(row.content for row in rows)

    def get(self, session_id: int) -> SessionRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(terminal_sessions).where(terminal_sessions.c.id == session_id)
            ).first()
            return SessionRow(**row._asdict()) if row else None

    def list_sessions(self, limit: int = 200) -> list[SessionRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(terminal_sessions).order_by(terminal_sessions.c.id.desc()).limit(limit)
            )
            return [SessionRow(**row._asdict()) for row in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(terminal_sessions)).scalar_one()
