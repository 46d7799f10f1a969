"""Rolling a release back (issue 15 item 1): every Alembic revision of every store has a
``downgrade()`` that really undoes its ``upgrade()``, on SQLite and on the real PostgreSQL server.

For each store: the schema after downgrading to a revision equals the schema that revision made
on the way up (SQLAlchemy inspection: columns with types, nullability and defaults, keys,
indexes with their partial-index conditions), and upgrading again reaches the same head. Rows
written at the newer schema keep what the older one can hold; what it cannot hold is exactly what
each revision's docstring says is lost. ``janus db`` refuses unknown revisions and moves the wrong
way before touching anything.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from janus import dbmigrate
from janus.cli import main
from janus.notify import outbox
from janus.web import db as webdb
from janus.web.login_gate import IdentityPins
from janus.web.sessions import WebSessionStore
from janus.webhook import store as webhook_store
from janus.webhook.store import DeliveryStore

ENVIRONMENTS = {
    "web": (webdb.MIGRATIONS, webdb.VERSION_TABLE),
    "webhook": (webhook_store.MIGRATIONS, webhook_store.VERSION_TABLE),
    "notify": (outbox.MIGRATIONS, outbox.VERSION_TABLE),
}


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything about the tables an operator's queries and Janus's code depend on, in a form
    that compares equal only when the schemas are the same."""
    inspector = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table.startswith("alembic_version"):
            continue  # compared through dbmigrate.current
        columns = [(c["name"], str(c["type"]), c["nullable"], _default(c.get("default")))
                   for c in inspector.get_columns(table)]
        indexes = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"]),
             _where(i.get("dialect_options", {})))
            for i in inspector.get_indexes(table))
        foreign = sorted((tuple(f["constrained_columns"]), f["referred_table"],
                          tuple(f["referred_columns"])) for f in inspector.get_foreign_keys(table))
        primary = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        out[table] = {"columns": sorted(columns), "indexes": indexes, "foreign": foreign,
                      "primary": primary}
    return out


def _default(value: str | None) -> str | None:
    # PostgreSQL says "'pending'::character varying", SQLite "'pending'": the same default.
    return None if value is None else value.split("::")[0]


def _where(options: dict[str, Any]) -> str | None:
    where = options.get("sqlite_where", options.get("postgresql_where"))
    return None if where is None else " ".join(str(where).replace("(", "").replace(")", "")
                                               .split())


def _engine(url: str) -> Engine:
    return webdb.make_engine(url)  # SQLite gets a busy timeout; harmless elsewhere


@pytest.mark.parametrize("store", sorted(ENVIRONMENTS))
def test_every_downgrade_gives_back_the_schema_its_revision_made(database_url: str,
                                                                 store: str) -> None:
    location, table = ENVIRONMENTS[store]
    revisions = [r.id for r in dbmigrate.history(location)]
    engine = _engine(database_url)
    made: dict[str | None, dict[str, Any]] = {None: _schema(engine)}
    assert made[None] == {}
    for revision in revisions:  # up one revision at a time, remembering each schema
        dbmigrate.upgrade(engine, location, table, revision)
        assert dbmigrate.current(engine, table) == revision
        made[revision] = _schema(engine)
        assert made[revision] != made[revisions[revisions.index(revision) - 1]
                                      if revision != revisions[0] else None]
    for below in [*reversed(revisions[:-1]), None]:  # then down, one at a time
        assert dbmigrate.downgrade(engine, location, table, "-1") == below
        assert dbmigrate.current(engine, table) == below
        assert _schema(engine) == made[below], f"{store} after downgrade to {below}"
    dbmigrate.upgrade(engine, location, table)  # and up again to the same head
    assert _schema(engine) == made[revisions[-1]]
    # Straight from head to each older revision (several downgrades in one transaction).
    for target in revisions[:-1]:
        dbmigrate.downgrade(engine, location, table, target)
        assert _schema(engine) == made[target]
        dbmigrate.upgrade(engine, location, table)
    dbmigrate.downgrade(engine, location, table, "base")
    assert _schema(engine) == {}
    engine.dispose()


def test_receiver_deliveries_survive_a_rollback_and_come_back(database_url: str) -> None:
    """w0002 → w0001 drops the lease columns only: every delivery (id, body, state, attempts)
    stays. A delivery a replica held when the schema went down is due again after the upgrade,
    never stuck as someone's."""
    store = DeliveryStore(database_url, owner="replica-a")
    assert store.add("d-done", "pull_request", "closed", b'{"n": 1}')
    assert store.add("d-held", "push", None, b'{"n": 2}')
    assert store.add("d-due", "push", None, b'{"n": 3}')
    first = store.claim()
    assert first is not None and first.id == "d-done"
    store.finish("d-done")
    held = store.claim()
    assert held is not None and held.id == "d-held"
    store.close()

    engine = _engine(database_url)
    location, table = ENVIRONMENTS["webhook"]
    assert dbmigrate.downgrade(engine, location, table, "-1") == "w0001"
    with engine.connect() as conn:
        rows = {r.id: (r.event, bytes(r.body), r.state, r.attempts) for r in conn.execute(text(
            "SELECT id, event, body, state, attempts FROM deliveries"))}
    assert rows == {"d-done": ("pull_request", b'{"n": 1}', "done", 1),
                    "d-held": ("push", b'{"n": 2}', "working", 1),
                    "d-due": ("push", b'{"n": 3}', "pending", 0)}
    columns = {c["name"] for c in inspect(engine).get_columns("deliveries")}
    assert not {"lease_owner", "lease_expires"} & columns  # what the docstring says is lost
    engine.dispose()

    again = DeliveryStore(database_url, owner="replica-b")  # the newer release, started again
    assert dbmigrate.current(again.engine, table) == "w0002"
    assert again.counts() == {"done": 1, "pending": 2}
    assert again.add("d-done", "pull_request", "closed", b"{}") is False  # still a replay
    taken = {d.id: d.body for d in (again.claim(), again.claim()) if d is not None}
    assert taken == {"d-held": b'{"n": 2}', "d-due": b'{"n": 3}'}
    again.close()


def test_web_records_survive_a_rollback_and_what_is_lost_is_what_the_docstring_says(
        database_url: str) -> None:
    """r0002 → r0001 keeps every terminal session and its recording; it drops the recording
    hash/size columns, the login sessions (everyone logs in again) and the identity pins."""
    engine = _engine(database_url)
    webdb.create_tables(engine)
    sessions = webdb.SessionStore(engine)
    session_id = sessions.open_session(cr_name="ar-1", user="alice", cluster="c1",
                                       namespace="ns", pod="p", container="c")
    sessions.append_recording(session_id, 0, '{"version": 2}\n', sha256="ab" * 32, size=15)
    sessions.close_session(session_id, "exit", 3, 15)
    login = WebSessionStore(engine).create(login="alice", name="Alice", max_age_seconds=60,
                                           github_id=7)
    assert IdentityPins(engine).pin("alice", 7) == 7

    location, table = ENVIRONMENTS["web"]
    assert dbmigrate.downgrade(engine, location, table, "r0001") == "r0001"
    names = set(inspect(engine).get_table_names())
    assert {"web_sessions", "github_identities"}.isdisjoint(names)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT cr_name, \"user\", bytes_in, bytes_out, close_reason, opened_at"
            " FROM terminal_sessions WHERE id = :id"), {"id": session_id}).one()
        chunk = conn.execute(text(
            "SELECT seq, content FROM terminal_recording_chunks WHERE session_id = :id"),
            {"id": session_id}).one()
    assert (row.cr_name, row.user, row.bytes_in, row.bytes_out, row.close_reason) == (
        "ar-1", "alice", 3, 15, "exit")
    assert (chunk.seq, chunk.content) == (0, '{"version": 2}\n')

    webdb.create_tables(engine)  # the newer release starts again
    back = sessions.get(session_id)
    assert back is not None and back.user == "alice" and back.bytes_out == 15
    assert webdb.as_utc(back.opened_at) <= dt.datetime.now(dt.UTC)
    assert back.recording_sha256 is None  # lost, as documented
    assert sessions.recording(session_id) == '{"version": 2}\n'
    assert WebSessionStore(engine).get(login) is None  # logged out, as documented
    assert IdentityPins(engine).pin("alice", 8) == 8  # the pin went too: re-pinned at login
    new_id = sessions.open_session(cr_name="ar-2", user="bob", cluster="c1", namespace="ns",
                                   pod="p", container="c")
    assert new_id != session_id and sessions.count() == 2
    engine.dispose()


def test_a_refused_downgrade_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'web.sqlite'}"
    engine = _engine(url)
    location, table = ENVIRONMENTS["web"]
    with pytest.raises(dbmigrate.RevisionError, match="no alembic_version_web revision"):
        dbmigrate.downgrade(engine, location, table, "-1")
    webdb.create_tables(engine)
    before = _schema(engine)
    for target, message in (("w0001", "unknown revision 'w0001'"),
                            ("r0002", "is not below it"),
                            ("-3", "only 2 below it"),
                            ("-0", "cannot go 0")):
        with pytest.raises(dbmigrate.RevisionError, match=message):
            dbmigrate.downgrade(engine, location, table, target)
        assert dbmigrate.current(engine, table) == "r0002"
        assert _schema(engine) == before
    with pytest.raises(dbmigrate.RevisionError, match="unknown revision 'x9'"):
        dbmigrate.upgrade(engine, location, table, "x9")
    engine.dispose()


def test_janus_db_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    """The operator's way: URL from the environment or a file, never the command line."""
    url = f"sqlite:///{tmp_path / 'hooks.sqlite'}"
    monkeypatch.delenv("JANUS_DATABASE_URL", raising=False)
    monkeypatch.delenv("JANUS_WEBHOOK_DATABASE_URL", raising=False)
    assert main(["db", "--store", "webhook", "current"]) == 2
    assert "no database URL" in capsys.readouterr().err
    # Inside the receiver's pod: its own variable; inside the web app's: its settings file.
    monkeypatch.setenv("JANUS_WEBHOOK_DATABASE_URL", f"sqlite:///{tmp_path / 'pod.sqlite'}")
    assert main(["db", "--store", "notify", "upgrade"]) == 0
    assert capsys.readouterr().out == "notify: n0001 (head)\n"
    assert main(["db", "--store", "web", "current"]) == 2  # not the receiver's database
    capsys.readouterr()
    monkeypatch.delenv("JANUS_WEBHOOK_DATABASE_URL")
    settings = tmp_path / "web.yaml"
    settings.write_text(f'public_url: https://x\ndatabase_url: "sqlite:///{tmp_path / "w.db"}"\n',
                        encoding="utf-8")
    assert main(["db", "--store", "web", "--settings", str(settings), "upgrade"]) == 0
    assert capsys.readouterr().out == "web: r0002 (head)\n"
    settings.write_text("public_url: https://x\n", encoding="utf-8")
    assert main(["db", "--store", "web", "--settings", str(settings), "current"]) == 2
    assert "has no database_url" in capsys.readouterr().err

    url_file = tmp_path / "url"
    url_file.write_text(url + "\n", encoding="utf-8")
    assert main(["db", "--store", "webhook", "--url-file", str(url_file), "upgrade"]) == 0
    assert capsys.readouterr().out == "webhook: w0002 (head)\n"
    monkeypatch.setenv("JANUS_DATABASE_URL", url)
    assert main(["db", "--store", "webhook", "downgrade", "w0009"]) == 1
    err = capsys.readouterr().err
    assert "unknown revision 'w0009'" in err and "known: w0001, w0002" in err
    assert main(["db", "--store", "webhook", "current"]) == 0
    assert capsys.readouterr().out == "webhook: w0002 (head)\n"  # untouched
    assert main(["db", "--store", "webhook", "downgrade", "-1"]) == 0
    assert capsys.readouterr().out == "webhook: w0002 -> w0001\n"
    assert main(["db", "--store", "webhook", "history"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("w0002  after w0001  Leases")
    # The other stores of the same database are separate environments: untouched, at base.
    assert main(["db", "--store", "notify", "current"]) == 0
    assert capsys.readouterr().out == "notify: base (no revision)\n"
    monkeypatch.setenv("JANUS_DATABASE_URL", "postgresql+nosuchdriver://u:hunter2@h/db")
    assert main(["db", "--store", "web", "current"]) == 2
    assert "hunter2" not in capsys.readouterr().err
    assert create_engine(url).dialect.name == "sqlite"


def test_the_older_release_starts_only_after_the_downgrade(database_url: str,
                                                           tmp_path: Path) -> None:
    """Why rolling back needs the downgrade (docs/helm.md): a release whose migrations stop at
    w0001 refuses a database at w0002, and starts (a no-op upgrade) once it is taken down."""
    import shutil

    from alembic.util import CommandError

    older = tmp_path / "older-release" / "migrations"
    shutil.copytree(webhook_store.MIGRATIONS, older,
                    ignore=shutil.ignore_patterns("w0002_*", "__pycache__"))
    assert [r.id for r in dbmigrate.history(older)] == ["w0001"]
    DeliveryStore(database_url).close()  # the newer release ran: the database is at w0002
    engine = _engine(database_url)
    table = webhook_store.VERSION_TABLE
    with pytest.raises(CommandError, match="w0002"):
        dbmigrate.upgrade(engine, older, table)
    dbmigrate.downgrade(engine, webhook_store.MIGRATIONS, table, "-1")
    dbmigrate.upgrade(engine, older, table)
    assert dbmigrate.current(engine, table) == "w0001"
    engine.dispose()
