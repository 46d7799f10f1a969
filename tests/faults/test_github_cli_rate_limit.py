"""``janus webhook`` as a real subprocess with the production client settings (no
``--no-throttle``) under a primary rate limit: the limit shows in ``/readyz``, ``/metrics`` and
one JSON log line while it lasts, the merge is granted once after the reset, and the process
stops promptly on SIGTERM (no worker asleep in a request)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from janus.dev.controlplane.ports import free_port
from janus.gitops.crs import AccessRequests
from tests.e2e.receiver_setup import prepare_receiver
from tests.faults.github_support import fault_ns, fault_sim  # noqa: F401 - fixtures
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name
from tests.integration.controller_env import wait_for

pytestmark = pytest.mark.k8s_real


def test_janus_webhook_with_production_settings_waits_out_a_primary_limit(
        fault_sim, cluster, fault_ns, tmp_path: Path) -> None:  # noqa: F811
    sim, app_id, key, bot = fault_sim
    sim.set_delivery_mode("sync")
    repo, installation, secret = prepare_receiver(sim, app_id, key, cluster, tmp_path)
    port, metrics_port = free_port(), free_port()
    log_path = tmp_path / "webhook.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus", "webhook", "--config",
         str(harness.ROOT / "policies" / "janus.yaml"), "--repo", repo,
         "--github-api-url", sim.base_url, "--app-id", str(app_id),
         "--app-key", str(tmp_path / "key"), "--installation-id", str(installation),
         "--secret-file", str(tmp_path / "secret"),
         "--kubeconfig", str(tmp_path / "kubeconfig"), "--namespace", fault_ns,
         "--port", str(port), "--metrics-port", str(metrics_port),
         "--db", str(tmp_path / "d.sqlite"), "--reconcile-interval", "0"],
        cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, "the receiver to listen", interval=0.1)
        sim.add_webhook(repo, f"{base}/webhooks/github", secret, events=["*"])
        name = request_name()
        number = open_request_pr(sim, repo, name)
        sim.review(repo, number, "bob", "APPROVE")
        assert sim.wait_for_deliveries(30)
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
                 .text.count('janus_webhook_deliveries_total{outcome="accepted"}'), 30,
                 "the deliveries before the merge")
        reset = sim.primary_rate_limit(bot, reset_in=15)
        sim.merge(repo, number, actor="root")

        def limited() -> dict | None:
            github = httpx.get(f"{base}/readyz", timeout=10).json().get("github") or {}
            return github if github.get("rate_limited") else None

        ready = wait_for(limited, 30, "the rate limit in /readyz", interval=0.2)
        assert ready["kind"] == "primary" and ready["remaining"] == 0
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        counted = re.search(r'janus_github_rate_limited_total\{kind="primary",source="webhook"\} '
                            r'(\d+)', metrics)
        assert counted is not None and int(counted.group(1)) >= 1  # one per worker that met it
        assert "janus_github_rate_limit_remaining 0.0" in metrics
        crs = AccessRequests(cluster.admin_client(), fault_ns)
        assert crs.get(cr_name(name)) is None  # nothing before the reset
        wait_for(lambda: crs.get(cr_name(name)), reset - time.time() + 60,
                 "the grant after the reset", interval=0.2)
        assert time.time() >= reset
        verdicts = wait_for(lambda: [b for b in harness.comments_of(sim, repo, number)
                                     if "verified" in b], 30, "the merge comment")
        assert len(verdicts) == 1
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert 'janus_merged_requests_total{outcome="created"} 1.0' in metrics
    finally:
        stopping = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        stopped_in = time.monotonic() - stopping
        log.close()
    assert stopped_in < 30, f"SIGTERM took {stopped_in:.0f} s"
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{")]
    limited_lines = [e for e in lines if e.get("event") == "github.rate_limited"]
    assert len(limited_lines) == 1, limited_lines
    assert limited_lines[0]["kind"] == "primary" and limited_lines[0]["reset"] == reset
