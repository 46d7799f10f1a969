"""Shared fixtures: the real local control plane, session-scoped.

Tests that need it are marked ``k8s_real``. Without built binaries they skip, unless
``JANUS_REQUIRE_CLUSTER=1`` (set by `make test` and CI): then a missing bed is a failure, so a run
in which every real-cluster test skipped can never look green.

Markers say the kind of a test, so ``-m "not k8s_real and not browser"`` selects the fast ones:
``k8s_real`` (the real control plane) and ``browser`` (Debian's Chromium through Playwright). Test
modules mark themselves; :func:`pytest_collection_modifyitems` adds the mark as well to any test
that uses a real cluster fixture or the ``browser`` fixture, so a forgotten mark cannot let a slow
test into the fast selection.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from janus.dev.controlplane import Binaries, BinariesMissing, LocalCluster

# Fixtures that start the real control plane (directly or through any fixture built on them).
REAL_CLUSTER_FIXTURES = frozenset({"cluster", "second_cluster"})
# The Chromium fixture of every browser test module (tests/browser_support.launch_chromium).
BROWSER_FIXTURE = "browser"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & REAL_CLUSTER_FIXTURES and item.get_closest_marker("k8s_real") is None:
            item.add_marker(pytest.mark.k8s_real)
        if BROWSER_FIXTURE in used and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)


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


@pytest.fixture
def unique_ns() -> str:
    """A namespace name no other test uses (namespaces never finish deleting on the bed)."""
    return f"t-{uuid.uuid4().hex[:10]}"
