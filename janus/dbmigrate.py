"""Bring a database's schema to the newest revision of one of Janus's Alembic environments.

Janus has two databases with their own migrations: the web app's (``janus/web/migrations``) and
the receiver's (``janus/webhook/migrations``). They are separate environments, not branches of
one, because they belong to separately deployed components that usually have separate databases;
each keeps its own version table, so the two may also share one database.

Each component upgrades its schema when it starts (there is no separate migration step to
forget). Replicas starting together are serialised on PostgreSQL by an advisory lock held for the
whole upgrade; SQLite's single writer serialises them there. The first revision of each
environment creates only what is missing, so a database made before Alembic (the tables exist,
no version table) is adopted and upgraded in place, its rows kept.
"""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

from sqlalchemy import Connection, Engine, text

_PROCESS_LOCK = threading.Lock()


def upgrade(engine: Engine, script_location: Path, version_table: str) -> None:
    """``alembic upgrade head`` for the environment at *script_location* on *engine*."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    # Alembic's `context` is one global per process: upgrades in one process take turns.
    with _PROCESS_LOCK, engine.begin() as conn:
        _lock(conn, version_table)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def current(engine: Engine, version_table: str) -> str | None:
    """The revision the database is at (None: not under Alembic yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": version_table})
        return context.get_current_revision()


def head(script_location: Path) -> str:
    """The newest revision of the environment at *script_location*."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(script_location))
    revision = ScriptDirectory.from_config(config).get_current_head()
    if revision is None:
        raise RuntimeError(f"no revisions in {script_location}")
    return revision


def run_env() -> None:
    """The body of each environment's env.py: run the migrations on the caller's connection."""
    from alembic import context as ctx

    connection: Connection = ctx.config.attributes["connection"]
    ctx.configure(connection=connection,
                  version_table=ctx.config.attributes["version_table"],
                  # SQLite cannot ALTER most things; batch mode recreates the table instead.
                  render_as_batch=connection.dialect.name == "sqlite")
    with ctx.begin_transaction():
        ctx.run_migrations()


def _lock(conn: Connection, name: str) -> None:
    """A transaction-scoped advisory lock on PostgreSQL, so one replica migrates at a time."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"janus:{name}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
