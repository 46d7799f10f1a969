"""``janus db``: the schema revision of a Janus database, and moving it up or down by hand.

Every component upgrades its own schema when it starts, so ``upgrade`` is rarely needed. Rolling
a release back is the case this command exists for: the older release does not know the newer
revisions and refuses to start on them, so the *newer* release (still installed, or its image in
a Job) takes the schema down first::

    JANUS_DATABASE_URL=postgresql+psycopg://… janus db --store webhook downgrade -1

The URL comes from, first match wins: ``--url-file`` (a mounted Secret), ``--settings`` (the web
app's settings file, its ``database_url``), ``$JANUS_DATABASE_URL``, and for the receiver's
stores ``$JANUS_WEBHOOK_DATABASE_URL`` (what its pod already has) — never from the command line,
where a password would be readable in the process list. A SQLite file is
``sqlite:////var/lib/janus/webhook.db``.

Exit codes: 0 done; 1 an unknown revision, or one the database cannot move to (nothing changed);
2 no URL, or the database could not be reached.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from janus.cli.errors import EXIT_USAGE, CliError

URL_ENV = "JANUS_DATABASE_URL"
WEBHOOK_URL_ENV = "JANUS_WEBHOOK_DATABASE_URL"  # the receiver's own (janus.cli.webhook.DB_ENV)
STORES = ("web", "webhook", "notify")


def register(subparsers: Any) -> None:
    db = subparsers.add_parser(
        "db", help="show or move the schema revision of a Janus database (roll back a release)",
        description="The Alembic revision of one store's schema: web (sessions, recordings, "
                    "login sessions), webhook (the receiver's deliveries) or notify (the "
                    "notification outbox, in the receiver's database). Components upgrade "
                    "their schema at start; downgrade before rolling a release back. "
                    f"URL: ${URL_ENV} or --url-file.")
    db.add_argument("--store", choices=STORES, required=True,
                    help="whose schema: web, webhook or notify")
    db.add_argument("--url-file", type=Path, default=None,
                    help=f"file holding the SQLAlchemy URL (default: ${URL_ENV}, then for "
                         f"webhook and notify ${WEBHOOK_URL_ENV})")
    db.add_argument("--settings", type=Path, default=None,
                    help="the web app's settings file: use its database_url")
    sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    sub.add_parser("current", help="print the revision the database is at").set_defaults(
        func=_current)
    sub.add_parser("history", help="list the revisions this release knows, oldest first "
                                   "(needs no database)").set_defaults(func=_history)
    up = sub.add_parser("upgrade", help="upgrade to a revision (default: the newest)")
    up.add_argument("revision", nargs="?", default="head", help="revision id (default head)")
    up.set_defaults(func=_upgrade)
    down = sub.add_parser(
        "downgrade", help="run the downgrades above REVISION (loses what the older schema "
                          "cannot hold: see `janus db history` and docs/helm.md)")
    down.add_argument("revision", help="a revision id, -N (N revisions down) or base (drop "
                                       "every table of the store)")
    down.set_defaults(func=_downgrade)


def _environment(store: str) -> tuple[Path, str]:
    """The store's migrations folder and version table (imported here: `janus --help` stays
    fast)."""
    if store == "web":
        from janus.web import db as web_db
        return web_db.MIGRATIONS, web_db.VERSION_TABLE
    if store == "webhook":
        from janus.webhook import store as webhook_store
        return webhook_store.MIGRATIONS, webhook_store.VERSION_TABLE
    from janus.notify import outbox
    return outbox.MIGRATIONS, outbox.VERSION_TABLE


def _url(args: argparse.Namespace) -> str:
    if args.url_file is not None:
        url = _read(args.url_file, "--url-file").strip()
    elif args.settings is not None:
        import yaml

        try:
            loaded = yaml.safe_load(_read(args.settings, "--settings"))
        except yaml.YAMLError as exc:
            raise CliError(f"--settings is not YAML: {exc}", EXIT_USAGE) from exc
        found = loaded.get("database_url") if isinstance(loaded, dict) else None
        url = found.strip() if isinstance(found, str) else ""
        if not url:
            raise CliError(f"{args.settings} has no database_url", EXIT_USAGE)
    else:
        url = os.environ.get(URL_ENV, "").strip()
        if not url and args.store in ("webhook", "notify"):
            url = os.environ.get(WEBHOOK_URL_ENV, "").strip()
    if not url:
        raise CliError(f"no database URL: set ${URL_ENV}, --url-file or --settings", EXIT_USAGE)
    return url


def _read(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {flag} {path}: {exc.strerror}", EXIT_USAGE) from exc


def _engine(args: argparse.Namespace) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError

    url = _url(args)
    try:
        return create_engine(url)
    except (ArgumentError, ImportError) as exc:
        # The message names the scheme only; the URL (and its password) is never echoed.
        raise CliError(f"not a usable database URL: {type(exc).__name__}", EXIT_USAGE) from exc


def _run(args: argparse.Namespace, action: Any) -> int:
    from sqlalchemy.exc import OperationalError

    from janus import dbmigrate

    location, table = _environment(args.store)
    engine = _engine(args)
    try:
        action(dbmigrate, engine, location, table)
    except dbmigrate.RevisionError as exc:
        raise CliError(str(exc)) from exc
    except OperationalError as exc:
        raise CliError(f"the database did not answer: {exc.orig}", EXIT_USAGE) from exc
    finally:
        engine.dispose()
    return 0


def _label(dbmigrate: Any, location: Path, revision: str | None) -> str:
    if revision is None:
        return "base (no revision)"
    return f"{revision} (head)" if revision == dbmigrate.head(location) else revision


def _current(args: argparse.Namespace) -> int:
    def action(dbmigrate: Any, engine: Any, location: Path, table: str) -> None:
        print(f"{args.store}: {_label(dbmigrate, location, dbmigrate.current(engine, table))}")
    return _run(args, action)


def _history(args: argparse.Namespace) -> int:
    from janus import dbmigrate

    location, _table = _environment(args.store)
    for revision in dbmigrate.history(location):
        print(f"{revision.id}  after {revision.down or 'base'}  {revision.title}")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    def action(dbmigrate: Any, engine: Any, location: Path, table: str) -> None:
        dbmigrate.upgrade(engine, location, table, args.revision)
        print(f"{args.store}: {_label(dbmigrate, location, dbmigrate.current(engine, table))}")
    return _run(args, action)


def _downgrade(args: argparse.Namespace) -> int:
    def action(dbmigrate: Any, engine: Any, location: Path, table: str) -> None:
        before = dbmigrate.current(engine, table)
        after = dbmigrate.downgrade(engine, location, table, args.revision)
        print(f"{args.store}: {before} -> {_label(dbmigrate, location, after)}")
    return _run(args, action)
