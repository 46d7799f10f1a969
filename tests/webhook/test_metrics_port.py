"""Issue 11 item 9: the receiver's Prometheus metrics are served on a port of their own (like
the controller's ``--metrics-port``), never on the public port GitHub (and anyone) can reach.

The receiver here is the real one (``janus.webhook.runtime.Receiver``): its GitOps talks to the
GitHub simulator and writes AccessRequests to the real API server."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from janus.dev.github_sim import GitHubSimulator
from janus.webhook.runtime import Receiver, ReceiverSettings
from janus.webhook.signature import sign
from tests.gitops import harness

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def bed() -> Iterator[harness.Bed]:
    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-metrics")
        bed = harness.Bed(sim, app_id, key, sim.bot_login(app_id))
        bed.repo = harness.new_repo(sim)
        bed.installation_id = sim.install_app(app_id, bed.repo)
        yield bed


def _receiver(bed: harness.Bed, cluster, tmp_path: Path, **extra) -> Receiver:  # type: ignore[no-untyped-def]
    harness.install_crd(cluster.admin_client())
    ops = harness.make_gitops(bed, cluster.admin_client())
    return Receiver(ops, ReceiverSettings(
        secret=secrets.token_hex(20).encode(), db_path=tmp_path / "d.sqlite", port=0,
        reconcile_interval=0, status_watch=False, **extra))


def _ping(receiver: Receiver) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = httpx.post(receiver.url, content=body, headers={
        "content-type": "application/json", "x-github-event": "ping",
        "x-github-delivery": "d-ping", "x-hub-signature-256": sign(receiver.settings.secret, body)})
    assert response.status_code == 200


def test_metrics_are_not_on_the_public_port(bed: harness.Bed, cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with _receiver(bed, cluster, tmp_path, metrics_port=0) as receiver:
        public = receiver.url.removesuffix("/webhooks/github")
        _ping(receiver)
        assert httpx.get(f"{public}/metrics").status_code == 404
        # The probes stay on the public port (the kubelet calls them there).
        assert httpx.get(f"{public}/healthz").status_code == 200
        metrics = httpx.get(f"{receiver.metrics_url}/metrics")
        assert metrics.status_code == 200
        assert 'janus_webhook_deliveries_total{outcome="ping"} 1' in metrics.text
        # The metrics port serves metrics only: no webhook intake there.
        assert httpx.post(f"{receiver.metrics_url}/webhooks/github", content=b"{}").status_code \
            == 404


def test_no_metrics_port_means_no_metrics_anywhere(bed: harness.Bed, cluster,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    with _receiver(bed, cluster, tmp_path) as receiver:
        public = receiver.url.removesuffix("/webhooks/github")
        assert httpx.get(f"{public}/metrics").status_code == 404
        assert receiver.metrics_url is None
