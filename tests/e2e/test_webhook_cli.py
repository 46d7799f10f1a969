"""`janus webhook` as a real subprocess: App auth against the simulator, a kubeconfig file for
the real API server, signed deliveries over HTTP, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from janus.dev.controlplane.ports import free_port
from tests.browser_support import wait_for as _wait  # the same 0.1 s poll
from tests.e2e.receiver_setup import prepare_receiver
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name

pytestmark = pytest.mark.k8s_real


def test_janus_webhook_cli_grants_a_verified_merge(e2e_sim, cluster, janus_ns,
                                                   tmp_path: Path) -> None:
    sim, app_id, key, _bot = e2e_sim
    sim.set_delivery_mode("sync")
    repo, installation, secret = prepare_receiver(sim, app_id, key, cluster, tmp_path)
    port, metrics_port = free_port(), free_port()
    log = (tmp_path / "webhook.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus", "webhook", "--config",
         str(harness.ROOT / "policies" / "janus.yaml"), "--repo", repo,
         "--github-api-url", sim.base_url, "--app-id", str(app_id),
         "--app-key", str(tmp_path / "key"), "--installation-id", str(installation),
         "--no-throttle", "--secret-file", str(tmp_path / "secret"),
         "--kubeconfig", str(tmp_path / "kubeconfig"), "--namespace", janus_ns,
         "--port", str(port), "--metrics-port", str(metrics_port),
         "--db", str(tmp_path / "d.sqlite"), "--reconcile-interval", "0"],
        cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ})
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        _wait(healthy, 30, "the receiver to listen")
        sim.add_webhook(repo, f"{base}/webhooks/github", secret, events=["*"])
        name = request_name()
        number = open_request_pr(sim, repo, name)
        sim.review(repo, number, "bob", "APPROVE")
        sim.merge(repo, number, actor="root")
        from janus.gitops.crs import AccessRequests

        crs = AccessRequests(cluster.admin_client(), janus_ns)
        _wait(lambda: crs.get(cr_name(name)), 30, "the AccessRequest")
        cr = harness.raw_cr(crs.api_client, cr_name(name), janus_ns)
        assert cr["spec"]["provenance"]["approvers"] == ["bob"]
        # The App's own login was discovered at start-up: its comments carry it.
        comments = _wait(lambda: [b for b in harness.comments_of(sim, repo, number)
                                  if "verified" in b], 10, "the verdict comment")
        assert len(comments) == 1
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the public port
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'janus_merged_requests_total{outcome="created"} 1' in metrics
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    output = (tmp_path / "webhook.log").read_text()
    assert secret not in output and "BEGIN" not in output
    # One log format for the whole process: uvicorn's and Janus' lines alike (issue 12 item 8).
    from tests.integration.test_component_logs import assert_json_lines

    assert_json_lines(output, "janus webhook")
