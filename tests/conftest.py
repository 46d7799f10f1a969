"""Shared fixtures: the real local control plane, session-scoped.

Tests that need it are marked ``k8s_real``. Without built binaries they skip, unless
``JANUS_REQUIRE_CLUSTER=1`` (set by `make test` and CI): then a missing bed is a failure, so a run
in which every real-cluster test skipped can never look green.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from janus.dev.controlplane import Binaries, BinariesMissing, LocalCluster


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
