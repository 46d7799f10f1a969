"""Issue 11 item 4: a terminal session's recording cannot be blinded.

Real uvicorn replicas, real websocket clients, the real control plane's exec (kwok runs the
shell), the real SQLite database. Each hostile case:

* the cap counts RAW bytes: control bytes (JSON-escaped six times larger) do not fill it early;
* at the cap the session ENDS (nothing is shown unrecorded) with a clear message;
* a database error while recording ENDS the session with a clear message;
* with ``record_input`` the keystrokes are recorded and the terminal says so before the first
  keystroke (off by default: the default recording has no input events);
* the recording's SHA-256 and size are stored with the session and match what replays;
* recordings older than the retention are deleted at startup (and periodically), the session
  row with its SHA-256 stays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from janus.web.recording import parse_asciicast
from tests.web.terminal.support import ADMIN, AppServer, Terminal

pytestmark = pytest.mark.k8s_real

CAP = 64 * 1024
ADMIN_HEADERS = {"X-Forwarded-User": ADMIN}


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def capped(web_kube: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """One replica whose recordings are capped at 64 KiB, recording input too."""
    database = tmp_path_factory.mktemp("capped") / "sessions.db"
    server = AppServer.start(web_kube, database, recording_max_bytes=CAP, record_input=True)
    try:
        yield server
    finally:
        server.stop()


def _closed_row(replica: AppServer, session_id: int):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = replica.app.state.terminal.store.get(session_id)
        if row is not None and row.closed_at is not None:
            return row
        time.sleep(0.1)
    raise AssertionError(f"session {session_id} was not closed")


def _cast(replica: AppServer, session_id: int) -> str:
    response = httpx.get(f"{replica.base}/admin/sessions/{session_id}/cast",
                         headers=ADMIN_HEADERS)
    assert response.status_code == 200
    return response.text


def test_control_bytes_count_raw_and_the_cap_ends_the_session(capped, make_grant) -> None:  # type: ignore[no-untyped-def]
    grant = make_grant()

    async def scenario() -> tuple[int, dict, int]:
        term = await Terminal.open(capped, grant.cr_name, "alice")
        session = int((await term.wait_control("connected"))["session"])
        # 24 KiB of \x01: 144 KiB once JSON-escaped, but well under the 64 KiB raw cap.
        await term.type("head -c 24576 /dev/zero | tr '\\000' '\\001'; echo ctl-$((3*3))\n")
        await term.wait_output(r"ctl-9", seconds=30)
        assert term.control("closed") is None, term.controls
        # Now well past the cap: the session must end instead of going on unrecorded.
        await term.type("head -c 200000 /dev/zero | tr '\\000' 'y'; echo never-$((2*2))\n")
        closed = await term.wait_closed(seconds=30)
        return session, closed, len(term.output)

    session_id, closed, shown = run(scenario())
    assert closed["reason"] == "recording-limit", closed
    assert "recording" in closed["message"].lower() and "ended" in closed["message"].lower()
    assert shown <= CAP + 4096, f"{shown} bytes reached the browser past a {CAP}-byte cap"
    row = _closed_row(capped, session_id)
    assert row.close_reason == "recording-limit"
    _header, events = parse_asciicast(_cast(capped, session_id))
    recorded = "".join(e[2] for e in events if e[1] == "o")
    assert recorded.count("\x01") == 24576  # every control byte is in the recording
    assert "ctl-9" in recorded
    assert "never-4" not in recorded
    assert any(e[1] == "m" and "truncated" in e[2] for e in events)


def test_a_database_error_while_recording_ends_the_session(capped, make_grant) -> None:  # type: ignore[no-untyped-def]
    grant = make_grant()
    database = capped.settings.database_url.removeprefix("sqlite:///")

    async def scenario() -> tuple[int, dict]:
        term = await Terminal.open(capped, grant.cr_name, "alice")
        session = int((await term.wait_control("connected"))["session"])
        await term.type("echo before-$((5*5))\n")
        await term.wait_output(r"before-25")
        # The database refuses this session's recording from now on (a full disk, a lost
        # PostgreSQL connection: any error on write).
        with sqlite3.connect(database) as conn:
            conn.execute(
                f"CREATE TRIGGER refuse_{session} BEFORE INSERT ON terminal_recording_chunks "
                f"WHEN NEW.session_id = {session} BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        await term.type("echo after-$((6*6))\n")
        return session, await term.wait_closed(seconds=15)

    session_id, closed = run(scenario())
    assert closed["reason"] == "recording-failed", closed
    assert "recording" in closed["message"].lower() and "ended" in closed["message"].lower()
    assert _closed_row(capped, session_id).close_reason == "recording-failed"


def test_input_recording_is_announced_before_the_first_keystroke(capped, make_grant) -> None:  # type: ignore[no-untyped-def]
    grant = make_grant()

    async def scenario() -> tuple[int, bytes]:
        term = await Terminal.open(capped, grant.cr_name, "alice")
        connected = await term.wait_control("connected")
        assert connected["recordsInput"] is True
        # Before anything is typed, the terminal itself says that input is recorded.
        await term.wait_output(r"records? (everything you type|your input)")
        before_typing = bytes(term.output)
        await term.type("read -s secret; echo got-$((7*7))\n")
        await term.type("hunter2\n")
        await term.wait_output(r"got-49")
        await term.close()
        return int(connected["session"]), before_typing

    session_id, before_typing = run(scenario())
    assert b"input" in before_typing.lower()
    _closed_row(capped, session_id)
    _, events = parse_asciicast(_cast(capped, session_id))
    typed = "".join(e[2] for e in events if e[1] == "i")
    assert "hunter2" in typed  # unechoed input is in the recording, as announced


def test_default_records_no_input_and_stores_the_recordings_sha256(replicas, make_grant) -> None:  # type: ignore[no-untyped-def]
    grant = make_grant()
    replica = replicas[0]

    async def scenario() -> tuple[int, dict]:
        term = await Terminal.open(replica, grant.cr_name, "alice")
        connected = await term.wait_control("connected")
        await term.type("echo hashed-$((8*8))\n")
        await term.wait_output(r"hashed-64")
        await term.close()
        return int(connected["session"]), connected

    session_id, connected = run(scenario())
    assert connected["recordsInput"] is False
    row = _closed_row(replica, session_id)
    cast = _cast(replica, session_id)
    _, events = parse_asciicast(cast)
    assert not [e for e in events if e[1] == "i"]
    assert row.recording_sha256 == hashlib.sha256(cast.encode()).hexdigest()
    assert row.recording_bytes == len(cast.encode())


def test_recordings_past_retention_are_deleted_at_startup(web_kube, make_grant,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    grant = make_grant()
    database = tmp_path / "retention.db"
    first = AppServer.start(web_kube, database, recording_retention_days=30)
    try:
        async def scenario() -> int:
            term = await Terminal.open(first, grant.cr_name, "alice")
            session = int((await term.wait_control("connected"))["session"])
            await term.type("echo old-$((9*9))\n")
            await term.wait_output(r"old-81")
            await term.close()
            return session

        old = run(scenario())
        row = _closed_row(first, old)
        fresh = run(scenario())
        _closed_row(first, fresh)
    finally:
        first.stop()
    aged = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE terminal_sessions SET opened_at = ?, closed_at = ? WHERE id = ?",
                     (aged, aged, old))
    second = AppServer.start(web_kube, database, recording_retention_days=30)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and second.app.state.terminal.store.recording(old):
            time.sleep(0.1)
        assert second.app.state.terminal.store.recording(old) == ""
        kept = second.app.state.terminal.store.get(old)
        assert kept is not None and kept.recording_sha256 == row.recording_sha256
        assert kept.recording_deleted_at is not None
        assert "old-81" in second.app.state.terminal.store.recording(fresh)
        gone = httpx.get(f"{second.base}/admin/sessions/{old}/cast", headers=ADMIN_HEADERS)
        assert gone.status_code == 410
    finally:
        second.stop()
