"""Shared fixtures: the real local control plane and a real PostgreSQL server, session-scoped.

Tests that need the control plane are marked ``k8s_real``, those that need PostgreSQL
``postgres``. Without the binaries they skip, unless ``JANUS_REQUIRE_CLUSTER=1`` (set by `make
test` and CI): then a missing bed is a failure, so a run in which every real-cluster or
PostgreSQL test skipped can never look green.

Markers say the kind of a test, so ``-m "not k8s_real and not browser"`` selects the fast ones:
``k8s_real`` (the real control plane) and ``browser`` (Debian's Chromium through Playwright). Test
modules mark themselves; :func:`pytest_collection_modifyitems` adds the mark as well to any test
that uses a real cluster fixture, the ``browser`` fixture or a PostgreSQL fixture, so a forgotten
mark cannot let a slow test into the fast selection.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from janus.dev.controlplane import Binaries, BinariesMissing, LocalCluster
from janus.dev.postgres import LocalPostgres, PostgresMissing

# Fixtures that start the real control plane (directly or through any fixture built on them).
REAL_CLUSTER_FIXTURES = frozenset({"cluster", "second_cluster"})
# The Chromium fixture of every browser test module (tests/browser_support.launch_chromium).
BROWSER_FIXTURE = "browser"
# Fixtures that start the real PostgreSQL server (janus/dev/postgres.py).
POSTGRES_FIXTURES = frozenset({"postgres_server", "postgres_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & REAL_CLUSTER_FIXTURES and item.get_closest_marker("k8s_real") is None:
            item.add_marker(pytest.mark.k8s_real)
        if BROWSER_FIXTURE in used and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)
        if used & POSTGRES_FIXTURES and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


def _binaries() -> Binaries:
    try:
        return Binaries.locate()
    except BinariesMissing as exc:
        if os.environ.get("JANUS_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"JANUS_REQUIRE_CLUSTER=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))


def _start(name: str) -> LocalCluster:
    return LocalCluster.start(name, binaries=_binaries(), progress=print)


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """The central cluster (also a target)."""
    c = _start("central")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def second_cluster() -> Iterator[LocalCluster]:
    """An independent second cluster, for multi-cluster tests."""
    c = _start("second")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A real PostgreSQL server for the session (Debian's binaries, loopback, temporary data).
    Missing binaries skip, unless JANUS_REQUIRE_CLUSTER=1: then they fail, like the cluster."""
    try:
        server = LocalPostgres.start()
    except PostgresMissing as exc:
        if os.environ.get("JANUS_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"JANUS_REQUIRE_CLUSTER=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))
    print(f"[postgres] started on {server.host}:{server.port} in {server.started_in:.2f}s")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: LocalPostgres) -> str:
    """A SQLAlchemy URL of a fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database on each backend Janus supports: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'janus.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def unique_ns() -> str:
    """A namespace name no other test uses (namespaces never finish deleting on the bed)."""
    return f"t-{uuid.uuid4().hex[:10]}"


# ---- the GitHub simulator's GraphQL contract ----------------------------------------------------

def _graphql_stats() -> Any:
    """The simulator's GraphQL counters, if the simulator was loaded in this session."""
    import sys

    module = sys.modules.get("janus.dev.github_sim.graphql_api")
    return None if module is None else module.STATS


@pytest.fixture(autouse=True)
def _graphql_contract() -> Iterator[None]:
    """Fail the test during which the simulator met a GraphQL query or answer that does not
    fit @octokit/graphql-schema (janus/dev/github_sim/graphql_api.py records them)."""
    stats = _graphql_stats()
    before = len(stats.violations) if stats is not None else 0
    yield
    stats = _graphql_stats()
    if stats is not None and len(stats.violations) > before:
        new = stats.violations[before:]
        pytest.fail(f"{len(new)} GraphQL contract violation(s):\n"
                    + "\n".join(f"  {v}" for v in new[:20]), pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = _graphql_stats()
    if stats is not None and (stats.queries or stats.violations):
        terminalreporter.write_line(
            f"github_sim GraphQL contract: executed {stats.queries} queries "
            "against @octokit/graphql-schema, "
            f"{len(stats.violations)} violation(s)")

