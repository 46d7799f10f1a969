"""`janus webhook` as a real process for the fault tests (its store SQLite or PostgreSQL), and a
module's own GitHub simulator with the test people and an App."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from janus.dev.controlplane.ports import free_port
from tests.browser_support import wait_for
from tests.gitops import harness

LEASE_SECONDS = 3.0


class ReceiverProcess:
    """One `janus webhook` on its own port; :meth:`kill` SIGKILLs exactly its process group."""

    def __init__(self, tmp_path: Path, sim: Any, app_id: int, installation: int, repo: str,
                 janus_ns: str, *, db_url: str | None = None, tag: str = "webhook") -> None:
        self.tmp_path, self.tag = tmp_path, tag
        self.port = free_port()
        store = ([] if db_url else ["--db", str(tmp_path / "deliveries.sqlite")])
        self.args = [
            sys.executable, "-m", "janus", "webhook", "--config",
            str(harness.ROOT / "policies" / "janus.yaml"), "--repo", repo,
            "--github-api-url", sim.base_url, "--app-id", str(app_id),
            "--app-key", str(tmp_path / "key"), "--installation-id", str(installation),
            "--no-throttle", "--secret-file", str(tmp_path / "secret"),
            "--kubeconfig", str(tmp_path / "kubeconfig"), "--namespace", janus_ns,
            "--port", str(self.port), "--reconcile-interval", "0", "--workers", "2",
            "--lease-seconds", str(LEASE_SECONDS), *store]
        self.env = {**os.environ, **({"JANUS_WEBHOOK_DATABASE_URL": db_url} if db_url else {})}
        self.url = f"http://127.0.0.1:{self.port}/webhooks/github"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> ReceiverProcess:
        self.starts += 1
        with (self.tmp_path / f"{self.tag}.log").open("ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=harness.ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env=self.env)

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log()[-3000:]
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 60, "the receiver to be ready")
        return self

    def kill(self) -> None:
        """SIGKILL: deliveries in hand stay claimed until their lease runs out."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        path = self.tmp_path / f"{self.tag}.log"
        return path.read_text(errors="replace") if path.exists() else ""
