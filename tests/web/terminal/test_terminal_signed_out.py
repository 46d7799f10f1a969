"""Issue 11 item 7, the terminal side: a terminal opened with a login session ends when that
session ends (logout, expiry, membership lost) — a stolen cookie's terminal does not outlive
the victim's logout. Real uvicorn replica (dev login, on loopback), real websocket, real exec."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin

from janus.web.terminal import session as terminal_session
from tests.web.terminal.support import AppServer, Terminal

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def dev_server(web_kube: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    database = tmp_path_factory.mktemp("signed-out") / "web.db"
    with AppServer.running(web_kube, database, auth_mode="dev") as server:
        yield server


def _dev_login(http: httpx.Client, login: str) -> str:
    form = http.get("/auth/dev")
    token = re.search(r'name="csrf-token" content="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    done = http.post("/auth/dev", data={"login": login, "csrf_token": token, "next": "/"})
    assert done.status_code == 303, done.text
    return re.search(r'name="csrf-token" content="([^"]+)"',  # type: ignore[union-attr]
                     http.get("/").text).group(1)


def test_logout_ends_the_terminal_opened_with_that_session(
    dev_server: AppServer, make_grant, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(terminal_session, "ACCESS_CHECK_SECONDS", 0.5)
    grant = make_grant()
    http = httpx.Client(base_url=dev_server.base, follow_redirects=False)
    csrf = _dev_login(http, "alice")
    cookie = f"janus_session={http.cookies['janus_session']}"

    async def scenario() -> dict:
        ws = await connect(f"{dev_server.ws_base}/ws/terminal/{grant.cr_name}",
                           origin=Origin(dev_server.base), additional_headers={"Cookie": cookie},
                           max_size=None, compression=None)
        term = Terminal(ws)
        await ws.send('{"type": "open", "pod": "target", "container": "app"}')
        await term.wait_control("connected")
        await term.type("echo still-$((2*5))\n")
        await term.wait_output(r"still-10")
        # The victim logs out in their browser; the copy of the cookie is dead, and so is the
        # terminal that was opened with it.
        assert (await asyncio.to_thread(
            http.post, "/auth/logout", data={"csrf_token": csrf})).status_code == 303
        return await term.wait_closed(seconds=10)

    closed = asyncio.run(scenario())
    assert closed["reason"] == "signed-out", closed
    assert "signed out" in closed["message"].lower()
