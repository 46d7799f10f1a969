"""The receiver killed between creating a merge's AccessRequest and posting its merge comment
(issue 15 item 2). Before, the replay saw "already applied" and returned: the comment was lost
for good. Now the restarted receiver replays the delivery (its lease ran out with the dead
process) and posts the comment — once.

``janus webhook`` runs as a real process with the production client settings; the test hook
``JANUS_TEST_CRASH_AFTER=merge-comment`` makes it exit at once (``os._exit(137)``, as a SIGKILL
would) right at that point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from janus import testhooks
from janus.dev.controlplane.ports import free_port
from janus.gitops import comments
from janus.gitops.crs import AccessRequests
from tests.e2e.receiver_setup import prepare_receiver
from tests.faults.github_support import fault_ns, fault_sim  # noqa: F401 - fixtures
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name
from tests.integration.controller_env import wait_for

pytestmark = pytest.mark.k8s_real


def _receiver(sim: Any, app_id: int, repo: str, installation: int, ns: str, tmp_path: Path,
              port: int, log: Path, crash: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != testhooks.CRASH_AFTER_ENV}
    if crash:
        env[testhooks.CRASH_AFTER_ENV] = "merge-comment"
    return subprocess.Popen(
        [sys.executable, "-m", "janus", "webhook", "--config",
         str(harness.ROOT / "policies" / "janus.yaml"), "--repo", repo,
         "--github-api-url", sim.base_url, "--app-id", str(app_id),
         "--app-key", str(tmp_path / "key"), "--installation-id", str(installation),
         "--secret-file", str(tmp_path / "secret"),
         "--kubeconfig", str(tmp_path / "kubeconfig"), "--namespace", ns,
         "--port", str(port), "--db", str(tmp_path / "d.sqlite"),
         "--lease-seconds", "3", "--reconcile-interval", "0"],
        cwd=harness.ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True, env=env)


def _listening(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_receiver_killed_between_the_cr_and_the_comment_replays_the_comment_once(
        fault_sim, cluster, fault_ns, tmp_path: Path) -> None:  # noqa: F811
    sim, app_id, key, _bot = fault_sim
    sim.set_delivery_mode("sync")
    repo, installation, secret = prepare_receiver(sim, app_id, key, cluster, tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = _receiver(sim, app_id, repo, installation, fault_ns, tmp_path, port,
                      tmp_path / "first.log", crash=True)
    second = None
    try:
        wait_for(lambda: _listening(base), 60, "the first receiver", interval=0.1)
        sim.add_webhook(repo, f"{base}/webhooks/github", secret, events=["*"])
        name = request_name()
        number = open_request_pr(sim, repo, name)
        sim.review(repo, number, "bob", "APPROVE")
        sim.merge(repo, number, actor="root")
        assert first.wait(timeout=90) == 137  # died at the crash point
        assert '"step": "merge-comment"' in (tmp_path / "first.log").read_text()
        crs = AccessRequests(cluster.admin_client(), fault_ns)
        assert crs.get(cr_name(name)) is not None  # the CR was written...
        merge = sim.pull(repo, number)["merge_commit_sha"]
        marker = comments.marker(f"merge:{merge}")

        def merge_comments() -> list[str]:
            return [b for b in harness.comments_of(sim, repo, number) if marker in b]

        assert merge_comments() == []  # ...its comment was not

        second = _receiver(sim, app_id, repo, installation, fault_ns, tmp_path, port,
                           tmp_path / "second.log", crash=False)
        wait_for(merge_comments, 90, "the merge comment from the restarted receiver",
                 interval=0.2)
        wait_for(lambda: "merge.comment_restored" in (tmp_path / "second.log").read_text(),
                 30, "the restore logged")
        _stop(second)
        assert len(merge_comments()) == 1
        assert "approved by bob" in merge_comments()[0]
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
