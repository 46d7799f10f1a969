"""The web app's storage on both backends: terminal session records and their recordings
(hash in the same transaction, retention), login sessions and identity pins. The HTTP-level
session tests (tests/web/test_sessions.py) run on both backends as well."""

from __future__ import annotations

import datetime as dt
import hashlib

from janus.web import db
from janus.web.login_gate import IdentityPins
from janus.web.sessions import WebSessionStore


def _engine(url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(url)
    db.create_tables(engine)
    return engine


def test_session_records_and_recordings(database_url: str) -> None:
    store = db.SessionStore(_engine(database_url))
    sid = store.open_session(cr_name="ar-1", user="alice", cluster="c1", namespace="ns",
                             pod="p", container="c")
    store.set_shell(sid, "/bin/sh")
    chunks = ['{"version": 2}\n', '[0.1, "o", "hello"]\n', '[0.2, "o", "\\u00e9t\\u00e9"]\n']
    document = ""
    for seq, chunk in enumerate(chunks):
        document += chunk
        store.append_recording(sid, seq, chunk, sha256=hashlib.sha256(document.encode())
                               .hexdigest(), size=len(document.encode()))
    store.set_records_input(sid, True)
    store.close_session(sid, "client-closed", 12, 34)
    store.close_session(sid, "again", 0, 0)  # the first close stands
    row = store.get(sid)
    assert row is not None and row.shell == "/bin/sh" and row.records_input is True
    assert (row.close_reason, row.bytes_in, row.bytes_out) == ("client-closed", 12, 34)
    assert row.recording_sha256 == hashlib.sha256(document.encode()).hexdigest()
    assert store.recording(sid) == document
    assert [r.id for r in store.list_sessions()] == [sid] and store.count() == 1
    # Retention deletes the recording; the row and its hash stay.
    later = db.now() + dt.timedelta(seconds=5)
    assert store.delete_recordings_before(later) == 1
    assert store.recording(sid) == ""
    kept = store.get(sid)
    assert kept is not None and kept.recording_sha256 == row.recording_sha256
    assert kept.recording_deleted_at is not None
    assert store.delete_recordings_before(later) == 0


def test_login_sessions_and_identity_pins(database_url: str) -> None:
    engine = _engine(database_url)
    sessions = WebSessionStore(engine)
    first = sessions.create(login="alice", name="Alice", max_age_seconds=3600, github_id=42,
                            sealed_github_token="sealed")
    other = sessions.create(login="alice", name="Alice", max_age_seconds=3600)
    live = sessions.get(first)
    assert live is not None and live.github_id == 42 and live.sealed_github_token == "sealed"
    assert live.expires_at.tzinfo is not None
    sessions.mark_verified(first)
    sessions.end(first)
    assert sessions.get(first) is None and sessions.get(other) is not None
    assert sessions.end_all_of("alice") == 1
    expired = sessions.create(login="bob", name="Bob", max_age_seconds=0)
    assert sessions.get(expired) is None
    pins = IdentityPins(engine)
    assert pins.pinned("Carol") is None
    assert pins.pin("Carol", 7) == 7
    assert pins.pin("carol", 8) == 7  # a reclaimed login keeps the first id
    assert pins.pinned("CAROL") == 7
