"""Fixtures for the end-to-end GitOps loop: a simulator that delivers signed webhooks to a real
receiver (uvicorn on loopback), the real API server, and — for the whole path — the real
controller as a subprocess."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from janus.dev.github_sim import GitHubSimulator
from janus.gitops.client import connect
from janus.gitops.crs import AccessRequests
from janus.gitops.service import GitOps
from janus.model import load_config_file
from janus.webhook.runtime import Receiver, ReceiverSettings
from tests.gitops import harness
from tests.integration.controller_env import prepare_central


@pytest.fixture(scope="session")
def e2e_sim() -> Iterator[tuple[Any, int, str, str]]:
    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-e2e")
        yield sim, app_id, key, sim.bot_login(app_id)


@pytest.fixture(autouse=True)
def _no_faults_left_over(request: pytest.FixtureRequest) -> Iterator[None]:
    """The simulator is shared by the session: a test that asked it to drop or duplicate more
    deliveries than its own flow produced must not hand the rest to the next test."""
    yield
    if "e2e_sim" in request.fixturenames:
        request.getfixturevalue("e2e_sim")[0].clear_faults()


@pytest.fixture(scope="session")
def janus_ns(cluster) -> str:
    """A Janus namespace of its own (CRDs, janus-tokens and the catalogue role installed)."""
    return prepare_central(cluster)


@dataclass
class Loop:
    bed: harness.Bed
    ops: GitOps
    receiver: Receiver
    secret: bytes
    crs: AccessRequests
    janus_ns: str

    def settle(self, timeout: float = 30) -> None:
        """Wait until the simulator has sent everything and the receiver has handled it."""
        assert self.bed.sim.wait_for_deliveries(timeout)
        assert self.receiver.pool.wait_idle(timeout)


@pytest.fixture
def loop(e2e_sim, cluster, janus_ns, tmp_path: Path) -> Iterator[Loop]:
    sim, app_id, key, bot = e2e_sim
    sim.set_delivery_mode("sync")
    bed = harness.Bed(sim, app_id, key, bot)
    bed.repo = harness.new_repo(sim)
    bed.installation_id = sim.install_app(app_id, bed.repo)
    crs = AccessRequests(cluster.admin_client(), janus_ns)
    ops = GitOps(connect(bed.settings()), bed.repo, crs,
                 load_config_file(harness.ROOT / "policies" / "janus.yaml"),
                 janus_login=bot, counters=bed.counters)
    secret = secrets.token_hex(20).encode()
    receiver = Receiver(ops, ReceiverSettings(secret=secret, db_path=tmp_path / "d.sqlite",
                                              port=0, reconcile_interval=0,
                                              status_watch_seconds=2))
    receiver.start()
    sim.add_webhook(bed.repo, receiver.url, secret.decode(), events=["*"])
    try:
        yield Loop(bed, ops, receiver, secret, crs, janus_ns)
    finally:
        sim.set_delivery_mode("sync")
        receiver.stop()
