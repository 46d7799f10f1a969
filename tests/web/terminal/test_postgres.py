"""Two web replicas on one real PostgreSQL database (issue 15 item 1): a terminal session
opened through one replica is recorded there, and the other replica serves the same record,
recording and SHA-256 (real uvicorn, websocket client, the real control plane's exec)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from janus.web.recording import parse_asciicast
from tests.web.terminal.support import ADMIN, AppServer, Terminal, two_replicas

pytestmark = [pytest.mark.k8s_real, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_replicas(web_kube: Path, postgres_server) -> Iterator[tuple[AppServer, AppServer]]:  # type: ignore[no-untyped-def]
    with two_replicas(web_kube, postgres_server.create_database("terminal_replicas")) as pair:
        yield pair


def test_a_session_recorded_by_one_replica_is_served_by_the_other(pg_replicas,  # type: ignore[no-untyped-def]
                                                                  make_grant) -> None:
    first, second = pg_replicas
    assert first.app.state.terminal.store.engine.dialect.name == "postgresql"
    grant = make_grant()

    async def scenario() -> int:
        term = await Terminal.open(first, grant.cr_name, "alice")
        connected = await term.wait_control("connected")
        await term.type("echo shared-$((7*6))\n")
        await term.wait_output(r"shared-42")
        await term.close()
        return int(connected["session"])

    session_id = asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = second.app.state.terminal.store.get(session_id)
        if row is not None and row.closed_at is not None:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the other replica never saw the session closed")
    response = httpx.get(f"{second.base}/admin/sessions/{session_id}/cast",
                         headers={"X-Forwarded-User": ADMIN})
    assert response.status_code == 200
    cast = response.text
    _header, events = parse_asciicast(cast)
    assert "shared-42" in "".join(e[2] for e in events if e[1] == "o")
    assert row.user == "alice" and row.cr_name == grant.cr_name
    assert row.recording_sha256 == hashlib.sha256(cast.encode()).hexdigest()
    assert row.recording_bytes == len(cast.encode())
