"""``janus webhook --notifications FILE``: documented in --help, and a bad file stops the
receiver with the usage exit code before it calls GitHub or the cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _janus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "janus", *args], capture_output=True,
                          text=True, timeout=60)


def test_help_names_the_flag() -> None:
    assert "--notifications" in _janus("webhook", "--help").stdout


def test_a_bad_notifications_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s" * 32)
    (tmp_path / "n.yaml").write_text("kind: NotificationConfig\nchannels: []\n"
                                     "routes: [{channels: [nowhere]}]\n")
    result = _janus("webhook", "--config", "policies/janus.yaml", "--repo", "acme/access",
                    "--token-file", str(tmp_path / "secret"),
                    "--github-api-url", "http://127.0.0.1:9",
                    "--secret-file", str(tmp_path / "secret"),
                    "--db", str(tmp_path / "d.sqlite"),
                    "--notifications", str(tmp_path / "n.yaml"))
    assert result.returncode == 2, result.stderr
    assert "no channel named nowhere" in result.stderr
