"""Fixtures for the GitOps tests: one simulator and one App per session, a fresh access
repository per test, and the real API server with the AccessRequest CRD."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from janus.dev.github_sim import GitHubSimulator
from tests.gitops import harness


@pytest.fixture(scope="session")
def github_sim() -> Iterator[tuple[Any, int, str, str]]:
    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-test")
        yield sim, app_id, key, sim.bot_login(app_id)


@pytest.fixture
def bed(github_sim) -> harness.Bed:
    sim, app_id, key, bot = github_sim
    b = harness.Bed(sim, app_id, key, bot)
    b.repo = harness.new_repo(sim)
    b.installation_id = sim.install_app(app_id, b.repo)
    return b


@pytest.fixture(scope="session")
def kube(cluster) -> Any:
    api = cluster.admin_client()
    harness.install_crd(api)
    return api


@pytest.fixture
def gitops(bed, kube):
    return harness.make_gitops(bed, kube)
