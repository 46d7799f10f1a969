"""The web app's start: the terminal is part of it, so a terminal that cannot be imported stops the
start with a clear error instead of serving the pages without it (no cluster needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from janus.web.app import create_app
from janus.web.settings import WebSettings


def settings(tmp_path: Path) -> WebSettings:
    return WebSettings(auth_mode="dev", session_secret="test-session-secret-0123456789",
                       database_url=f"sqlite:///{tmp_path / 'web.db'}")


def test_a_terminal_that_cannot_be_imported_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import janus.web.terminal` raise ImportError, as a broken
    # installation (a missing dependency of the terminal) would.
    monkeypatch.setitem(sys.modules, "janus.web.terminal", None)
    with pytest.raises(ImportError, match=r"janus\.web\.terminal") as raised:
        create_app(settings(tmp_path), grants=object())  # type: ignore[arg-type]
    assert "cannot be imported" in str(raised.value)
    assert isinstance(raised.value.__cause__, ImportError)  # the original error is kept


def test_the_terminal_routes_are_installed(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), grants=object())  # type: ignore[arg-type]
    # Not entered as a context: the terminal's lifespan (watcher, database) is not started.
    client = TestClient(app, base_url="http://127.0.0.1:8080")
    assert client.get("/nowhere").status_code == 404
    # Signed out: the terminal's routes exist and refuse, rather than being absent (404).
    for path in ("/terminal/alice-x", "/admin/sessions"):
        assert client.get(path, follow_redirects=False).status_code == 401, path
