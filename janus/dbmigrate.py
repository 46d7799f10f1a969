"""Bring a database's schema to the newest revision of one of Janus's Alembic environments.

Janus has three Alembic environments: the web app's (``janus/web/migrations``), the receiver's
(``janus/webhook/migrations``) and the notification outbox's (``janus/notify/migrations``, in
the receiver's database). They are separate environments, not branches of one, because they
belong to separately deployed components that usually have separate databases; each keeps its
own version table, so they may also share one database.

Each component upgrades its schema when it starts (there is no separate migration step to
forget). Rolling a release back is the one step by hand: :func:`downgrade` (``janus db
downgrade``, run with the *newer* release, which knows the revisions the older one does not)
takes the schema back to the older release's revision before the older pods start.

Replicas starting together are serialised on PostgreSQL by an advisory lock held for the whole
upgrade (and downgrade); SQLite's single writer serialises them there. The first revision of each
environment creates only what is missing, so a database made before Alembic (the tables exist,
no version table) is adopted and upgraded in place, its rows kept.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

_PROCESS_LOCK = threading.Lock()


class RevisionError(ValueError):
    """A revision the environment does not have, or one the database cannot move to."""


@dataclass(frozen=True)
class Revision:
    """One revision of an environment: its id, the one it follows, its docstring's first line."""

    id: str
    down: str | None
    title: str


def upgrade(engine: Engine, script_location: Path, version_table: str,
            revision: str = "head") -> None:
    """``alembic upgrade`` to *revision* (default the newest) for the environment at
    *script_location* on *engine*."""
    from alembic import command

    if revision != "head":
        _known(script_location, revision)
    config = _config(script_location, version_table)
    # Alembic's `context` is one global per process: upgrades in one process take turns.
    with _PROCESS_LOCK, engine.begin() as conn:
        _lock(conn, version_table)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, script_location: Path, version_table: str,
              target: str) -> str | None:
    """Run the ``downgrade()`` of every revision above *target* (a revision id, ``-N`` for N
    steps down, or ``base`` for none: every table dropped), newest first, in one transaction.
    Returns the revision the database is at afterwards (None: base).

    Raises :class:`RevisionError`, before touching anything, for a revision the environment does
    not have, one that is not below the database's current revision, or more steps than there
    are. Data the older schema cannot hold is lost: each revision's docstring says what."""
    from alembic import command

    chain = [r.id for r in history(script_location)]  # oldest first
    config = _config(script_location, version_table)
    with _PROCESS_LOCK, engine.begin() as conn:
        _lock(conn, version_table)
        now = _current(conn, version_table)
        if now is None:
            raise RevisionError(f"the database has no {version_table} revision: nothing to "
                                "downgrade (is it the right database and --store?)")
        if now not in chain:
            raise RevisionError(f"the database is at revision {now!r}, which this release does "
                                f"not know (it knows {', '.join(chain)}): downgrade with the "
                                "release that made it")
        at = chain.index(now)
        if re.fullmatch(r"-[0-9]+", target):
            steps = int(target[1:])
            if steps < 1 or steps > at + 1:
                raise RevisionError(f"cannot go {steps} revision(s) down from {now}: "
                                    f"only {at + 1} below it, base included")
            goal = chain[at - steps] if at - steps >= 0 else None
        elif target == "base":
            goal = None
        else:
            _known(script_location, target)
            if chain.index(target) >= at:
                raise RevisionError(f"the database is at {now}; {target} is not below it "
                                    "(use upgrade to go up)")
            goal = target
        config.attributes["connection"] = conn
        command.downgrade(config, goal or "base")
        return goal


def history(script_location: Path) -> list[Revision]:
    """The revisions of the environment at *script_location*, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config(script_location, ""))
    out = [Revision(r.revision, r.down_revision if isinstance(r.down_revision, str) else None,
                    (r.doc or "").strip().splitlines()[0] if r.doc else "")
           for r in script.walk_revisions()]
    return list(reversed(out))


def current(engine: Engine, version_table: str) -> str | None:
    """The revision the database is at (None: not under Alembic yet)."""
    with engine.connect() as conn:
        return _current(conn, version_table)


def _current(conn: Connection, version_table: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": version_table})
    return context.get_current_revision()


def _config(script_location: Path, version_table: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    return config


def _known(script_location: Path, revision: str) -> None:
    ids = [r.id for r in history(script_location)]
    if revision not in ids:
        raise RevisionError(f"unknown revision {revision!r} in {script_location.parent.name}'s "
                            f"migrations; known: {', '.join(ids)} (or base, -N)")


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
