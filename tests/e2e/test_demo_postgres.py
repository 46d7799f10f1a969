"""`janus dev up --postgres`: the receiver and the web app of the local kit keep their data in a
local PostgreSQL server (both schemas migrated at start), and stopping the kit stops it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from janus import dbmigrate
from janus.dev.controlplane.ports import free_port
from janus.dev.demo import start_demo
from janus.web import db as webdb
from janus.webhook import store as webhook_store

pytestmark = [pytest.mark.k8s_real, pytest.mark.postgres]


def test_dev_up_with_postgres(tmp_path: Path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    # postgres_server: the same skip/fail rule as every PostgreSQL test (binaries present).
    env = start_demo(tmp_path / "demo", print, web_port=free_port(), clusters=("prod",),
                     postgres=True)
    try:
        pg = env.postgres
        assert pg is not None and env.urls["postgres"] == f"127.0.0.1:{pg.port}"
        assert httpx.get(env.urls["webhook"].replace("/webhooks/github", "/readyz")).status_code \
            == 200
        assert httpx.get(f"{env.urls['web']}/healthz").status_code == 200
        for database, table, version_table, migrations in (
                ("webhook", "deliveries", webhook_store.VERSION_TABLE, webhook_store.MIGRATIONS),
                ("web", "web_sessions", webdb.VERSION_TABLE, webdb.MIGRATIONS)):
            engine = create_engine(pg.url(database))
            try:
                assert inspect(engine).has_table(table)
                assert dbmigrate.current(engine, version_table) == dbmigrate.head(migrations)
            finally:
                engine.dispose()
        logs = "".join(p.read_text() for p in (env.state_dir / "logs").glob("*.log"))
        assert pg.password not in logs
        assert pg.password not in " ".join(" ".join(p.argv) for p in env.processes)
        workdir = pg.workdir
    finally:
        env.stop(print)
    assert not workdir.exists()
