"""One JSON log format per process, and each component's metrics on its own port.

Each component runs as a real subprocess and every line it writes to stderr must be one JSON
object with the same keys as Janus' own lines (``event``, ``ts``, ``level``, ``logger``): uvicorn's
server and access lines and kopf's lines included. ``janus webhook`` is checked the same way in
tests/e2e/test_webhook_cli.py (it needs the GitHub simulator).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import janus
from janus.dev.controlplane.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"event", "ts", "level", "logger"}


def assert_json_lines(text: str, component: str) -> list[dict[str, Any]]:
    """Every non-empty line is a JSON object with at least :data:`KEYS`; return them."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, f"{component} wrote nothing"
    objects = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(f"{component}: not a JSON line: {line[:300]}") from None
        assert isinstance(obj, dict) and KEYS <= obj.keys(), f"{component}: {line[:300]}"
        objects.append(obj)
    return objects


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``janus web --dev-login`` on loopback, its API server unreachable (nothing here needs it:
    the terminal's watches fail and say so, as JSON)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: not-a-real-token-0123456789}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n")
    port, metrics_port = free_port(), free_port()
    stderr = tmp_path / "web.stderr"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "janus", "web", "--dev-login", "--host", "127.0.0.1",
             "--port", str(port), "--metrics-port", str(metrics_port), "--access-log",
             "--kubeconfig", str(kubeconfig)],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
            env={**os.environ})  # cwd: the web database (./janus-web.db) lands in tmp_path
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        yield {"base": f"http://127.0.0.1:{port}", "metrics": f"http://127.0.0.1:{metrics_port}",
               "stderr": stderr, "proc": proc}
    finally:
        _stop(proc)


def test_web_logs_one_json_format_and_serves_metrics_apart(web: dict[str, Any]) -> None:
    base = web["base"]
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/no-such-page?code=oauth-code-4242&state=s").status_code == 404
    assert httpx.get(f"{base}/metrics").status_code == 404  # never on the public port
    metrics = httpx.get(f"{web['metrics']}/metrics").text
    assert f'janus_build_info{{version="{janus.__version__}"}} 1.0' in metrics
    assert 'janus_web_requests_total{method="GET",route="/healthz",status="200"} ' in metrics
    assert 'route="unmatched",status="404"' in metrics and "no-such-page" not in metrics
    assert "# TYPE janus_web_terminal_sessions_open gauge" in metrics
    assert "# HELP janus_web_terminal_session_closes_total " in metrics
    assert "# TYPE janus_web_recording_bytes_total counter" in metrics
    _stop(web["proc"])
    text = web["stderr"].read_text()
    lines = assert_json_lines(text, "janus web")
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    assert any(name.startswith("janus.") for name in loggers), loggers
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert {"event": "http.request", "method": "GET", "path": "/no-such-page",
            "status": 404}.items() <= next(a for a in access if a["status"] == 404).items()
    assert "oauth-code-4242" not in text  # query strings never reach the log


@pytest.mark.k8s_real
def test_controller_logs_one_json_format_kopf_included(cluster: Any, tmp_path: Path) -> None:
    from tests.integration.controller_env import (
        ControllerProcess,
        create_request,
        prepare_central,
        wait_phase,
    )

    janus_ns = prepare_central(cluster)
    metrics_port = free_port()
    # --verbose: kopf's per-object debug lines too, the most varied output it has.
    ctl = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                            extra_args=["--standalone", "--metrics-port", str(metrics_port)])
    ctl.start()
    try:
        api = cluster.admin_client()
        name = create_request(api, janus_ns, cluster="central", namespace="default")
        wait_phase(api, janus_ns, name, "Active", timeout=60)
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert f'janus_build_info{{version="{janus.__version__}"}} 1.0' in metrics
    finally:
        ctl.stop()
    lines = assert_json_lines(ctl.log(), "janus controller")
    loggers = {line["logger"] for line in lines}
    assert any(n.startswith("kopf") for n in loggers) and any(
        n.startswith("janus.") for n in loggers), loggers
    about = [line for line in lines if line.get("object", {}).get("name") == name]
    assert about and all(line.get("request") == name for line in about)
